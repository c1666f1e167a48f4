import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { removeDir, startService, tempDir } from '../support/service.js';
import { makeTestPki } from '../support/tls.js';

const fingerprintOf = (pem: string) => new X509Certificate(readFileSync(pem)).fingerprint256;

/** The certificate a new TLS connection to the service is shown. */
function presented(port: number, ca: Buffer): Promise<string> {
  return new Promise((ok, fail) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      ok(s.getPeerX509Certificate()!.fingerprint256);
      s.end();
    });
    s.once('error', fail);
  });
}

/** One GET over `agent` (keep-alive): the status, the socket it went over and the certificate that socket was shown. */
function get(url: string, agent: Agent): Promise<{ status: number; socket: TLSSocket; fingerprint?: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { agent }, (res) => {
      const socket = req.socket as TLSSocket;
      // Node answers this only for the request that made the handshake, not on a reused socket.
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
      res.resume();
      res.on('end', () => ok({ status: res.statusCode ?? 0, socket, fingerprint }));
    });
    req.once('error', fail);
    req.end();
  });
}

async function waitFor(what: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !what();) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('signals', () => {
  it('SIGHUP reloads the TLS certificate and the log level: new connections see the new certificate, an open keep-alive connection survives, a bad file keeps the old one', async () => {
    const dir = tempDir('glidekey-hup-');
    mkdirSync(join(dir, 'first'));
    mkdirSync(join(dir, 'second'));
    const first = makeTestPki(join(dir, 'first'));
    const second = makeTestPki(join(dir, 'second'));
    const live = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const configFile = join(dir, 'glidekey.yaml');
    writeFileSync(configFile, 'log:\n  level: info\n');
    const ca = Buffer.concat([readFileSync(first.ca), readFileSync(second.ca)]);
    const svc = await startService({ tls: { ...live, ca: first.ca }, env: { GLIDEKEY_CONFIG: configFile } });
    const port = Number(new URL(svc.url).port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
    try {
      expect(await presented(port, ca)).toBe(fingerprintOf(first.cert));
      const before = await get(`${svc.url}/healthz`, agent);
      expect(before.status).toBe(200);
      expect(before.fingerprint).toBe(fingerprintOf(first.cert));

      copyFileSync(second.cert, live.cert);
      copyFileSync(second.key, live.key);
      writeFileSync(configFile, 'log:\n  level: warn\n');
      svc.proc.kill('SIGHUP');
      await waitFor(() => svc.output().includes('SIGHUP: reloaded'));
      expect(svc.output()).toContain(`SIGHUP: reloaded log level info -> warn, TLS certificate ${live.cert} (sha256 ${fingerprintOf(second.cert)})`);
      expect(await presented(port, ca)).toBe(fingerprintOf(second.cert));
      // The keep-alive connection opened before the reload carries on (the same TLS session, so the certificate it was shown).
      const after = await get(`${svc.url}/healthz`, agent);
      expect(after.status).toBe(200);
      expect(after.socket).toBe(before.socket);
      // At warn, request lines are no longer written.
      const lines = count(svc.output(), '"msg":"request"');
      await get(`${svc.url}/healthz`, agent);
      await new Promise((r) => setTimeout(r, 300));
      expect(count(svc.output(), '"msg":"request"')).toBe(lines);

      // A broken certificate file: an error in the log, the current certificate stays.
      writeFileSync(live.cert, 'not a certificate\n');
      svc.proc.kill('SIGHUP');
      await waitFor(() => svc.output().includes('TLS certificate not reloaded'));
      expect(svc.output()).toMatch(/"level":"error".*SIGHUP: TLS certificate not reloaded, the current one stays in use: tls\.cert and tls\.key/);
      expect(await presented(port, ca)).toBe(fingerprintOf(second.cert));

      // Earlier versions stopped about 4 s after a SIGHUP: still serving well after that.
      await new Promise((r) => setTimeout(r, 5000));
      expect(svc.proc.exitCode).toBeNull();
      expect((await get(`${svc.url}/healthz`, agent)).status).toBe(200);
    } finally {
      agent.destroy();
      await svc.stop();
      removeDir(dir);
    }
  }, 60_000);

  it('SIGTERM drains: the listener closes, a request in flight is answered, the log says so, exit 0', async () => {
    const svc = await startService();
    const port = Number(new URL(svc.url).port);
    try {
      // A request whose body is still arriving is in flight when the signal comes.
      const sock = netConnect(port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      let answer = '';
      sock.on('data', (d: Buffer) => (answer += d.toString()));
      const body = '{"name":"drained_site"}';
      sock.write(
        `POST /api/v1/sites HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
      );
      await new Promise((r) => setTimeout(r, 200));
      const exited = svc.stop('SIGTERM');
      await waitFor(() => svc.output().includes('SIGTERM: draining'));
      // No new connections once draining.
      await waitFor(() => false, 300).catch(() => undefined);
      const refused = await new Promise<string>((ok) => {
        const c = netConnect(port, '127.0.0.1');
        c.once('connect', () => ok('connected'));
        c.once('error', (e: NodeJS.ErrnoException) => ok(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
      sock.write(body.slice(5));
      expect(await exited).toBe(0);
      expect(answer).toMatch(/^HTTP\/1\.1 401 /);
      const out = svc.output();
      expect(out).toContain(`SIGTERM: draining: no new connections, finishing requests in flight (at most 5 s)`);
      expect(out).toContain('"msg":"drained; stopped"');
      // A 4xx refusal is an info line with its code and the client's address.
      const line = out.split('\n').find((l) => l.includes('"route":"/api/v1/sites"'));
      expect(JSON.parse(line!)).toEqual(expect.objectContaining({ level: 'info', method: 'POST', status: 401, code: 'UNAUTHENTICATED', client: '127.0.0.1' }));
    } finally {
      await svc.stop('SIGKILL');
      removeDir(svc.dataDir);
    }
  }, 60_000);
});
