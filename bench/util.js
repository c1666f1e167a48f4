// Shared helpers for the glidekey benchmarks (plain ESM, no dependencies beyond node: and jose).
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { CompactSign } from 'jose';

export const BENCH_DIR = import.meta.dirname;
export const PROJECT_ROOT = resolve(BENCH_DIR, '..');
export const RESULTS_FILE = resolve(BENCH_DIR, 'results', 'latest.json');

export const SITE = 'bench-site';
export const TRUST_DOMAIN = 'collector.example.org:9618';
export const FRONTEND_NAME = 'frontend.example.org';
/** The claims the service puts in a default token of a freshly created site (pilot scopes, default lifetime). */
export const BASE_CLAIMS = {
  sub: `${SITE}@${FRONTEND_NAME}`,
  iss: TRUST_DOMAIN,
  lifetime: 86_400,
  scope: 'condor:/READ condor:/ADVERTISE_STARTD condor:/ADVERTISE_MASTER',
};

const encoder = new TextEncoder();

/** A non-extractable HMAC-SHA256 key over 32 random bytes, imported the way the service does. */
export function baselineKey() {
  return webcrypto.subtle.importKey('raw', randomBytes(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** Raw jose HS256 signing of the same claims, in the same order, as the service. */
export function baselineSign(key) {
  const iat = Math.floor(Date.now() / 1000);
  const payload = JSON.stringify({
    sub: BASE_CLAIMS.sub,
    iat,
    nbf: iat,
    jti: randomBytes(16).toString('hex'),
    iss: BASE_CLAIMS.iss,
    exp: iat + BASE_CLAIMS.lifetime,
    scope: BASE_CLAIMS.scope,
  });
  return new CompactSign(encoder.encode(payload)).setProtectedHeader({ alg: 'HS256', kid: SITE, typ: 'JWT' }).sign(key);
}

/** A Writable that drops everything (silences pino). */
export const discard = () =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

/** A free loopback TCP port (bind port 0, read it, release it). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Runs `fn` sequentially up to `count` times or until `maxMs` elapsed, whichever first.
 * Returns { ops, seconds, rate, latenciesMs (sorted) }.
 */
export async function runSequential(fn, count, maxMs) {
  const lat = new Float64Array(count);
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  let ops = 0;
  while (ops < count) {
    const s = performance.now();
    if (s > deadline) break;
    await fn();
    lat[ops++] = performance.now() - s;
  }
  const seconds = (performance.now() - t0) / 1000;
  const latenciesMs = Array.from(lat.subarray(0, ops)).sort((a, b) => a - b);
  return { ops, seconds, rate: ops / seconds, latenciesMs };
}

/**
 * A pool of `workers` concurrent loops sharing `count` operations, stopped early at `maxMs`.
 * Returns { ops, seconds, rate, latenciesMs (sorted) }.
 */
export async function runConcurrent(fn, count, workers, maxMs) {
  const lat = [];
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  let next = 0;
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      next++;
      const s = performance.now();
      await fn();
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { ops: lat.length, seconds, rate: lat.length / seconds, latenciesMs: lat.sort((a, b) => a - b) };
}

/**
 * CPU time (user + system, ms) a process has used, from /proc (Linux); undefined elsewhere. Per
 * token it shows what the work costs however busy the shared machine is (fsync waits are not CPU).
 */
export function processCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n));
export const fmtMs = (n) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : String(n));
export const fmtRatio = (n) => (Number.isFinite(n) ? n.toFixed(3) : String(n));

/** Writes `obj` as bench/results/latest.json (creates the directory). */
export function writeResults(obj) {
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, JSON.stringify(obj, null, 2) + '\n');
}

/** True when `metaUrl` is the script node was started with. */
export const isMain = (metaUrl) => process.argv[1] && resolve(process.argv[1]) === new URL(metaUrl).pathname;

/** One HTTP request on `agent` (a keep-alive node:http Agent); resolves { status, body } with the body as text. */
export function call(agent, origin, method, path, headers = {}, body) {
  return new Promise((ok, fail) => {
    const req = request(
      `${origin}${path}`,
      { method, agent, headers: { ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => ok({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}
