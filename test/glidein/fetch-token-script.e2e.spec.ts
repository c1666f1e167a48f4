import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, freePort, httpCall, removeDir, ROOT, Service, startService, tempDir } from '../support/service.js';
import { makeTestPki, TestPki } from '../support/tls.js';
import { selfRegistered } from '../support/fixtures.js';

const SCRIPT = join(ROOT, 'scripts', 'glidein-fetch-token.sh');
/** The lines after the token paths: the expiry, when to renew, and the end of the pilot's life. */
const EXPIRY_LINES =
  'export GLIDEKEY_TOKEN_EXPIRES_AT=\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z GLIDEKEY_RENEW_IN=\\d+\\nexport GLIDEKEY_RENEWAL_EXPIRES_AT=\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n';

/** better-sqlite3 (no type package installed), to look at the service's database read-only. */
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  o: { readonly: boolean },
) => {
  prepare(sql: string): { get(...params: unknown[]): unknown };
  close(): void;
};

/** Runs the real script with dash and real curl; only the environment given (plus PATH) reaches it. */
function runScript(env: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const p = spawn('dash', [SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => ok({ code, stdout, stderr }));
  });
}

describe('glidein bootstrap over HTTPS: the real script, real curl, the real service', () => {
  let work: string;
  let pki: TestPki;
  let svc: Service;
  let admin: ReturnType<typeof client>;
  let frontend: string;
  let n = 0;
  const freshDir = () => join(work, `glidein-${++n}`);
  const tickets = async (count: number, entry = 'OSG_T_ce1', ttlSeconds?: number): Promise<string[]> => {
    const res = await admin.post(`/factory/entries/${entry}/tickets`, { frontend, count, ...(ttlSeconds ? { ttlSeconds } : {}) });
    expect(res.status).toBe(201);
    return res.json.tickets;
  };
  const env = (ticket: string, over: Record<string, string> = {}) => ({
    GLIDEKEY_URL: svc.url,
    GLIDEKEY_TICKET: ticket,
    GLIDEKEY_CA_BUNDLE: pki.ca,
    GLIDEKEY_RETRIES: '0',
    ...over,
  });

  beforeAll(async () => {
    work = tempDir('glidekey-bootstrap-');
    pki = makeTestPki(work);
    // The service forwards to itself over HTTPS, so its own fetch must trust the test CA too.
    svc = await startService({
      tls: { cert: pki.cert, key: pki.key, ca: pki.ca },
      env: { NODE_EXTRA_CA_CERTS: pki.ca, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' },
    });
    admin = client(svc.api, svc.adminKey, { ca: pki.ca });
    // The forwarding flow, both roles in one process: register each side with the other, then sync.
    ({ frontendName: frontend } = await selfRegistered(admin, svc.url));
    const entry = { site: 'T2_Test', gatekeeper: 'ce.example.org:9619', trustDomain: 'OSG', authMethod: 'grid_proxy,scitoken', condorVersion: '23.0.3' };
    expect((await admin.put('/factory/entries/OSG_T_ce1', entry)).status).toBe(201);
    // An entry whose site the frontend has no key for: its cache stays empty.
    expect((await admin.put('/factory/entries/OSG_Empty_ce1', { ...entry, site: 'T3_Nobody' })).status).toBe(201);
    expect((await admin.post('/sites', { name: 'T2_Test' })).status).toBe(201);
    const sync = await admin.post('/factories/self/sync');
    expect([sync.status, sync.json.delivery?.delivered]).toEqual([200, 1]);
  });
  afterAll(async () => {
    await svc?.stop();
    if (work) removeDir(work);
  });

  it('serves TLS only: plain HTTP on the port gets no answer, HTTPS verifies against the test CA and not without it', async () => {
    await expect(fetch(`${svc.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
    expect((await httpCall(`${svc.url}/healthz`, { ca: pki.ca })).status).toBe(200);
    await expect(httpCall(`${svc.url}/healthz`, { ca: pki.otherCa })).rejects.toThrow(/self.signed|unable to verify|certificate/i);
  });

  it('writes <dir>/<site>.idtoken and <dir>/glidekey.renewal (0600) and prints only the export lines; the token verifies at the frontend', async () => {
    const [ticket] = await tickets(1);
    const dir = freshDir();
    const r = await runScript(env(ticket), [dir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const file = join(dir, 'T2_Test.idtoken');
    expect(r.stdout).toMatch(new RegExp(`^export GLIDEIN_CONDOR_TOKEN=${file}\n${EXPIRY_LINES}$`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const content = readFileSync(file, 'utf8');
    expect(content).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    expect(readdirSync(dir).sort()).toEqual(['T2_Test.idtoken', 'glidekey.renewal']);
    expect(statSync(join(dir, 'glidekey.renewal')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'glidekey.renewal'), 'utf8')).toMatch(/^gkr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    expect(r.stdout).not.toContain(readFileSync(join(dir, 'glidekey.renewal'), 'utf8').slice(21, 60));
    const token = content.trimEnd();
    expect(r.stdout + r.stderr).not.toContain(token.split('.')[2]);
    expect((await admin.post('/tokens/verify', { token })).json).toMatchObject({ valid: true, site: 'T2_Test' });

    // The same ticket again: refused, exit non-zero, a clear message, and nothing written.
    const dir2 = freshDir();
    const again = await runScript(env(ticket), [dir2]);
    expect(again.code).toBe(3);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('glidekey: the ticket was refused (unknown, already used, or expired)');
    expect(readdirSync(dir2)).toEqual([]);
  });

  it('an expired ticket and a wrong ticket fail the same way, leaving no file', async () => {
    const [short] = await tickets(1, 'OSG_T_ce1', 1);
    await new Promise((r) => setTimeout(r, 1200));
    const wrong = `gkt_${'0123456789abcdef'}_${'Q'.repeat(43)}`;
    for (const ticket of [short, wrong]) {
      const dir = freshDir();
      const r = await runScript(env(ticket), [dir]);
      expect([r.code, r.stdout]).toEqual([3, '']);
      expect(r.stderr).toContain('the ticket was refused (unknown, already used, or expired)');
      expect(readdirSync(dir)).toEqual([]);
    }
    const garbage = await runScript(env('not a ticket'), [freshDir()]);
    expect([garbage.code, garbage.stderr]).toEqual([3, 'glidekey: GLIDEKEY_TICKET is not a glidekey ticket (gkt_...)\n']);
  });

  it('refuses a server whose certificate the given CA did not sign, without spending the ticket', async () => {
    const [ticket] = await tickets(1);
    const dir = freshDir();
    const r = await runScript(env(ticket, { GLIDEKEY_CA_BUNDLE: pki.otherCa, GLIDEKEY_RETRIES: '3' }), [dir]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^glidekey: the TLS certificate of https:\/\/127\.0\.0\.1:\d+ did not verify against .*other-ca\.pem/);
    expect(r.stderr).not.toMatch(/retry/);
    expect(readdirSync(dir)).toEqual([]);
    // The system CAs do not know the test CA either.
    const sys = await runScript(env(ticket, { GLIDEKEY_CA_BUNDLE: '' }), [freshDir()]);
    expect(sys.code).toBe(6);
    // The ticket was never presented to anyone, so it still works.
    expect((await runScript(env(ticket), [freshDir()])).code).toBe(0);
  });

  it('retries 503 CREDENTIAL_STALE with backoff and gives up with a clear message; the ticket stays valid', async () => {
    const [ticket] = await tickets(1, 'OSG_Empty_ce1');
    const dir = freshDir();
    const logged = svc.output().length;
    const r = await runScript(env(ticket, { GLIDEKEY_RETRIES: '2', GLIDEKEY_MAX_WAIT: '1' }), [dir]);
    expect(r.code).toBe(5);
    // An expected refusal: one warning line per attempt, with its code and the client's address; no error line, no stack.
    await new Promise((ok) => setTimeout(ok, 200));
    const lines = svc
      .output()
      .slice(logged)
      .split('\n')
      .filter((l) => l.includes('CREDENTIAL_STALE'));
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(JSON.parse(l)).toEqual(
        expect.objectContaining({
          level: 'warn',
          msg: 'request',
          route: '/api/v1/glidein/credentials',
          status: 503,
          code: 'CREDENTIAL_STALE',
          client: '127.0.0.1',
        }),
      );
    }
    expect(svc.output().slice(logged)).not.toContain('"level":"error"');
    expect(r.stderr).toContain('glidekey: HTTP 503 CREDENTIAL_STALE; retry 1 of 2 in 1s');
    expect(r.stderr).toContain('glidekey: HTTP 503 CREDENTIAL_STALE; retry 2 of 2 in 1s');
    expect(r.stderr).toContain('the factory has no fresh token for this entry yet (HTTP 503 CREDENTIAL_STALE) after 3 attempts; the ticket is still valid');
    expect(readdirSync(dir)).toEqual([]);
    const db = new Database(join(svc.dataDir, 'glidekey.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT consumed_at FROM glidein_tickets WHERE id = ?').get(ticket.split('_')[1])).toEqual({ consumed_at: null });
    } finally {
      db.close();
    }
  });

  it('retries connection errors, then fails non-zero', async () => {
    const port = await freePort();
    const dir = freshDir();
    const r = await runScript(env((await tickets(1))[0], { GLIDEKEY_URL: `https://127.0.0.1:${port}`, GLIDEKEY_RETRIES: '1', GLIDEKEY_MAX_WAIT: '1' }), [dir]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+ \(curl exit 7\); retry 1 of 1 in 1s/);
    expect(r.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+ after 2 attempts/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never puts the ticket or the renewal credential on a command line: curl gets them on stdin', async () => {
    // A curl on PATH that records its arguments and then runs the real one.
    const shim = join(work, 'shim');
    mkdirSync(shim);
    const log = join(work, 'curl-argv.log');
    const realCurl = await new Promise<string>((ok) => {
      const p = spawn('sh', ['-c', 'command -v curl'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.once('exit', () => ok(out.trim()));
    });
    writeFileSync(join(shim, 'curl'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${realCurl}' "$@"\n`);
    chmodSync(join(shim, 'curl'), 0o755);
    const [ticket] = await tickets(1);
    const dir = freshDir();
    const r = await runScript({ ...env(ticket), PATH: `${shim}:${process.env.PATH}` }, [dir]);
    expect(r.code).toBe(0);
    const renewals = [readFileSync(join(dir, 'glidekey.renewal'), 'utf8').trim()];
    const again = await runScript({ ...env(''), PATH: `${shim}:${process.env.PATH}` }, ['--renew', dir]);
    expect([again.code, again.stderr]).toEqual([0, '']);
    renewals.push(readFileSync(join(dir, 'glidekey.renewal'), 'utf8').trim());
    const argv = readFileSync(log, 'utf8');
    expect(argv).toContain('--config -');
    expect(argv.match(/--config -/g)).toHaveLength(2);
    expect(argv).not.toContain(ticket.slice(21));
    for (const k of renewals) expect(argv).not.toContain(k.slice(21));
  });

  it("--renew replaces the token and the renewal credential; a replayed one is refused (3), a lost answer's taken once within the grace", async () => {
    const [ticket] = await tickets(1);
    const dir = freshDir();
    expect((await runScript(env(ticket), [dir])).code).toBe(0);
    const renewalFile = join(dir, 'glidekey.renewal');
    const r0 = readFileSync(renewalFile, 'utf8');
    const r = await runScript(env(''), ['--renew', dir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(new RegExp(`^export GLIDEIN_CONDOR_TOKEN=${join(dir, 'T2_Test.idtoken')}\n${EXPIRY_LINES}$`));
    const r1 = readFileSync(renewalFile, 'utf8');
    expect([r1 === r0, r1.slice(0, 21) === r0.slice(0, 21), statSync(renewalFile).mode & 0o777]).toEqual([false, true, 0o600]);
    expect(readdirSync(dir).sort()).toEqual(['T2_Test.idtoken', 'glidekey.renewal']);
    const token = readFileSync(join(dir, 'T2_Test.idtoken'), 'utf8').trimEnd();
    expect((await admin.post('/tokens/verify', { token })).json).toMatchObject({ valid: true, site: 'T2_Test' });
    expect((await runScript(env(''), ['--renew', dir])).code).toBe(0);
    const r2 = readFileSync(renewalFile, 'utf8');

    // r0 was replaced twice: refused, and the files stay as they were.
    writeFileSync(renewalFile, r0, { mode: 0o600 });
    const replay = await runScript(env(''), ['--renew', dir]);
    expect([replay.code, replay.stdout, replay.stderr]).toEqual([3, '', 'glidekey: the renewal credential was refused (unknown, already used, or replaced)\n']);
    expect(readFileSync(renewalFile, 'utf8')).toBe(r0);
    expect(readFileSync(join(dir, 'T2_Test.idtoken'), 'utf8').trimEnd()).toBe(token);
    // r1, whose successor r2 was never used (its answer "lost"): taken once more, retiring r2.
    writeFileSync(renewalFile, r1, { mode: 0o600 });
    expect((await runScript(env(''), ['--renew', dir])).code).toBe(0);
    writeFileSync(renewalFile, r2, { mode: 0o600 });
    expect((await runScript(env(''), ['--renew', dir])).code).toBe(3);
  });

  it("--renew exits 3 once the admin revoked the glidein, 10 once the entry's credential is gone", async () => {
    const [ticket] = await tickets(1);
    const dir = freshDir();
    expect((await runScript(env(ticket), [dir])).code).toBe(0);
    const id = readFileSync(join(dir, 'glidekey.renewal'), 'utf8').split('_')[1];
    expect((await admin.post(`/factory/renewals/${id}/revoke`)).json).toEqual({ revoked: 1 });
    const revoked = await runScript(env(''), ['--renew', dir]);
    expect([revoked.code, revoked.stderr]).toEqual([3, 'glidekey: the renewal credential was revoked by the factory admin; no more renewals\n']);

    const entry = { site: 'T2_Test', gatekeeper: 'ce2.example.org:9619', trustDomain: 'OSG', authMethod: 'grid_proxy,scitoken', condorVersion: '23.0.3' };
    expect((await admin.put('/factory/entries/OSG_T_ce2', entry)).status).toBe(201);
    expect((await admin.post('/factories/self/sync')).json.delivery.delivered).toBe(1);
    const [other] = await tickets(1, 'OSG_T_ce2');
    const dir2 = freshDir();
    expect((await runScript(env(other), [dir2])).code).toBe(0);
    expect((await admin.del('/factory/entries/OSG_T_ce2')).status).toBe(204);
    const gone = await runScript(env(''), ['--renew', dir2]);
    expect([gone.code, gone.stderr]).toEqual([
      10,
      "glidekey: the factory no longer holds this entry's credential (HTTP 410 CREDENTIAL_WITHDRAWN); no more renewals\n",
    ]);
    expect(readdirSync(dir2).sort()).toEqual(['T2_Test.idtoken', 'glidekey.renewal']);
  });

  it('refuses plain http and usage errors before sending anything', async () => {
    const [ticket] = await tickets(1);
    const http = await runScript(env(ticket, { GLIDEKEY_URL: 'http://127.0.0.1:1' }), [freshDir()]);
    expect([http.code, http.stderr]).toEqual([2, expect.stringContaining('plain http')]);
    expect((await runScript(env(ticket), [])).code).toBe(2);
    expect((await runScript({ GLIDEKEY_URL: svc.url }, [freshDir()])).stderr).toContain('GLIDEKEY_TICKET is not set');
    expect((await runScript(env(''), ['--renew'])).code).toBe(2);
    expect((await runScript(env(''), ['--renew', 'a', 'b'])).code).toBe(2);
    const none = await runScript(env(''), ['--renew', freshDir()]);
    expect([none.code, none.stderr]).toEqual([2, expect.stringContaining('glidekey.renewal does not exist: bootstrap first')]);
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'glidekey.renewal'), 'gkt_not-a-renewal\n', { mode: 0o600 });
    expect((await runScript(env(''), ['--renew', dir])).stderr).toContain('is not a glidekey renewal credential (gkr_...)');
  });
});
