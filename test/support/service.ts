import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

export const tempDir = (prefix = 'glidekey-test-') => mkdtempSync(join(tmpdir(), prefix));

/** Every service process a test file started: killed after the file, so a failed assertion never leaves one running. */
const started = new Set<ChildProcess>();
afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

export interface Service {
  url: string;
  /** The CA bundle (PEM path) that verifies the service's certificate, when it serves HTTPS. */
  ca?: string;
  api: string;
  dataDir: string;
  adminKey: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the real service (`node dist/main.js`) on a free loopback port (or `port`, to come back
 * where peers have its URL pinned) and waits until /readyz says ready; with `tls`, over HTTPS.
 */
export async function startService(
  opts: { env?: Record<string, string>; dataDir?: string; port?: number; timeoutMs?: number; tls?: { cert: string; key: string; ca: string } } = {},
): Promise<Service> {
  const dataDir = opts.dataDir ?? tempDir();
  const port = opts.port ?? (await freePort());
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    GLIDEKEY_DATA_DIR: dataDir,
    GLIDEKEY_PORT: String(port),
    GLIDEKEY_HOST: '127.0.0.1',
    GLIDEKEY_TRUST_DOMAIN: 'collector.example.org:9618',
    GLIDEKEY_FRONTEND_NAME: 'frontend.example.org',
    ...(opts.tls ? { GLIDEKEY_TLS_CERT: opts.tls.cert, GLIDEKEY_TLS_KEY: opts.tls.key } : {}),
    ...opts.env,
  };
  const proc = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)));
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const ca = opts.tls?.ca;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`service exited with ${proc.exitCode}:\n${out}`);
    try {
      const r = await httpCall(`${url}/readyz`, { ca });
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`service did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    ca,
    api: `${url}/api/v1`,
    dataDir,
    // Only the first start on an empty database writes admin.key (a second replica has none).
    adminKey: existsSync(join(dataDir, 'admin.key')) ? readFileSync(join(dataDir, 'admin.key'), 'utf8').trim() : '',
    proc,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Runs the service once and returns its exit code and output (for refusals at start-up). */
export function runServiceOnce(env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const proc = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GLIDEKEY_HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      ok({ code, output: out });
    });
  });
}

export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });

/**
 * One HTTP(S) request: fetch, or node:https when a CA bundle must verify the server (fetch takes
 * no per-request CA).
 */
export async function httpCall(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  if (!o.ca) {
    const res = await fetch(url, { method: o.method ?? 'GET', headers: o.headers, body: o.body });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }
  const ca = readFileSync(o.ca);
  return new Promise((ok, fail) => {
    const req = httpsRequest(url, { method: o.method ?? 'GET', headers: o.headers, ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        ok({ status: res.statusCode ?? 0, text, headers });
      });
    });
    req.on('error', fail);
    req.end(o.body);
  });
}

/** A small JSON client for one service and one bearer key (over HTTPS when `opts.ca` names the CA bundle). */
export function client(base: string, key?: string, opts: { ca?: string } = {}) {
  const call = async (method: string, path: string, body?: unknown, raw?: string) => {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
    const res = await httpCall(`${base}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), ca: opts.ca });
    const text = res.text;
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  return {
    get: (p: string) => call('GET', p),
    post: (p: string, b?: unknown) => call('POST', p, b ?? {}),
    patch: (p: string, b?: unknown) => call('PATCH', p, b ?? {}),
    put: (p: string, b?: unknown) => call('PUT', p, b ?? {}),
    del: (p: string) => call('DELETE', p),
    raw: (method: string, p: string, raw: string) => call(method, p, undefined, raw),
  };
}
