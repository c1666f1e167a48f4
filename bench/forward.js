// Forwarding benchmark (issue 5): time to forward current tokens for 1,000 sites x 3 factories
// after a bulk rotation. The built service runs as one frontend process and three factory
// processes (SQLite each, loopback, files in a factory cache dir). The baseline, measured in the
// same run, is the floor for the same deliveries without glidekey's outbox: the bench itself seals
// the same tokens in envelopes of the same format and chunking (libsodium crypto_box_easy, from a
// second frontend identity registered at each factory) and POSTs them to /factory/credentials.
//
//   npm run bench:forward            (builds first)
//   node bench/forward.js            (uses dist/ as it is)
// Env: BENCH_FORWARD_SITES (default 1000), BENCH_FORWARD_FACTORIES (3), BENCH_FORWARD_CLIENTS (4).
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import sodium from 'libsodium-wrappers';
import { startChild, stopChild } from './mint-http.js';
import { FRONTEND_NAME, RESULTS_FILE, TRUST_DOMAIN, fmtInt, fmtRatio, freePort, isMain, sleep } from './util.js';

export const FORWARD_RESULTS_FILE = resolve(dirname(RESULTS_FILE), 'forward.json');

const DEFAULTS = {
  sites: Number(process.env.BENCH_FORWARD_SITES ?? 1000),
  factories: Number(process.env.BENCH_FORWARD_FACTORIES ?? 3),
  clients: Number(process.env.BENCH_FORWARD_CLIENTS ?? 4),
  readyTimeoutMs: 30_000,
  /** Longest wait for an outbox to drain before the bench gives up. */
  drainTimeoutMs: 120_000,
};

const BASELINE_FRONTEND = 'baseline.example.org';
/** As src/forwarding/deliverer.service.ts: at most 2000 credentials and about 160 kB of plaintext per envelope. */
const ENVELOPE_MAX_CREDENTIALS = 2000;
const ENVELOPE_MAX_BYTES = 160_000;

const pad = (i) => String(i).padStart(4, '0');
const siteName = (i) => `site-${pad(i)}`;
const entryName = (i) => `entry_${pad(i)}`;
const seconds = (ms) => +(ms / 1000).toFixed(3);

/** One service process (its output kept, a safety kill on our exit): the launcher the mint bench uses. */
// BENCH_CPU_PROF=<dir>: run every service (frontend and factories) under --cpu-prof via a wrapper that
// exits cleanly on request, so each writes a profile into <dir> when it is stopped.
const PROF_DIR = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const startService = (label, env) =>
  startChild(
    label,
    PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`, resolve(dirname(new URL(import.meta.url).pathname), 'profile-wrapper.js')] : ['dist/main.js'],
    env,
  );
const stopService = async (proc) => {
  if (PROF_DIR && proc && !proc.exited) {
    proc.child.send('exit');
    await Promise.race([proc.exitPromise, sleep(10_000)]);
  }
  return stopChild(proc);
};

/** The environment for one process: ours without inherited GLIDEKEY_* settings, then the given ones. */
function serviceEnv(over) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIDEKEY_')));
  return {
    ...env,
    GLIDEKEY_HOST: '127.0.0.1',
    GLIDEKEY_TRUST_DOMAIN: TRUST_DOMAIN,
    GLIDEKEY_FRONTEND_NAME: FRONTEND_NAME,
    GLIDEKEY_LOG_LEVEL: 'warn',
    // Only the deliverer's own wake-ups act during the measurement, not the scheduler's tick.
    GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
    GLIDEKEY_FORWARDING_REQUEST_TIMEOUT_SECONDS: '120',
    ...over,
  };
}

class BenchError extends Error {}

/** Starts a service and waits for /readyz; returns {proc, url, api, dataDir, adminKey}. */
async function launch(label, over, o) {
  const dataDir = mkdtempSync(join(tmpdir(), 'glidekey-bench-fwd-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startService(label, serviceEnv({ GLIDEKEY_DATA_DIR: dataDir, GLIDEKEY_PORT: String(port), ...over }));
  const svc = { label, proc, url, api: `${url}/api/v1`, dataDir };
  const deadline = Date.now() + o.readyTimeoutMs;
  for (;;) {
    if (proc.exited) throw fail(svc, `${label} exited during start-up (${JSON.stringify(proc.exited)})`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw fail(svc, `${label} not ready within ${o.readyTimeoutMs / 1000} s`);
    await sleep(100);
  }
  svc.adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  return svc;
}

function fail(svc, message) {
  const e = new BenchError(`${message}\n----- ${svc.label} output -----\n${svc.proc.output || '(none)'}\n----- end -----`);
  return e;
}

/** A JSON call with a bearer key; throws unless the status is the expected one. */
async function call(svc, method, path, body, expect = [200, 201]) {
  const res = await fetch(`${svc.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${svc.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw fail(svc, `${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Runs fn(i) for i in [0, n) on `workers` concurrent loops. */
async function pool(n, workers, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(workers, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Polls until `probe()` is truthy; throws at the deadline. */
async function until(what, probe, timeoutMs, interval = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new BenchError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(interval);
  }
}

/** Cache rows of one frontend at one factory, as a map entry -> version (idtokens only). */
async function cacheVersions(factory, frontend) {
  const rows = await call(factory, 'GET', `/factory/cache?frontend=${frontend}`);
  return new Map(rows.filter((r) => r.type === 'idtoken').map((r) => [r.entry, r.version]));
}

/** True when every factory holds, for every entry, an idtoken newer than `before` (per factory: entry -> version). */
async function allNewer(factories, before, n) {
  for (const [i, f] of factories.entries()) {
    const now = await cacheVersions(f, FRONTEND_NAME);
    if (now.size < n) return false;
    for (const [entry, v] of now) if (!(v > (before[i].get(entry) ?? 0))) return false;
  }
  return true;
}

/** Waits until no delivery is pending (one row asked, the cheapest question) and then until `settled()`; returns the ms waited. */
async function drain(frontend, settled, o) {
  const t0 = performance.now();
  await until(
    'the outbox to have no pending rows',
    async () => (await call(frontend, 'GET', '/deliveries?state=pending&limit=1')).length === 0,
    o.drainTimeoutMs,
    50,
  );
  await until('every factory cache to hold the new versions', settled, o.drainTimeoutMs, 50);
  return performance.now() - t0;
}

/** The frontend's outbox rows by state (after a run: nothing pending, refused or failed). */
async function outboxStates(frontend) {
  const res = await fetch(`${frontend.url}/metrics`, { headers: { authorization: `Bearer ${frontend.adminKey}` } });
  const text = await res.text();
  if (res.status !== 200) throw fail(frontend, `GET /metrics answered ${res.status}: ${text.slice(0, 300)}`);
  const out = {};
  for (const m of text.matchAll(/^glidekey_deliveries\{state="(\w+)"\} (\d+)/gm)) out[m[1]] = Number(m[2]);
  const attempts = {};
  for (const m of text.matchAll(/^glidekey_delivery_attempts_total\{factory="([^"]+)",result="(\w+)"\} (\d+)/gm)) attempts[`${m[1]}:${m[2]}`] = Number(m[3]);
  return { rows: out, attempts };
}

/** The size the deliverer counts for one credential: its sealed copy (v1: + base64 of nonce, ciphertext, tag) plus 160. */
const sealedSize = (value) => 3 + 4 * Math.ceil((24 + Buffer.byteLength(value) + 16) / 3) + 160;

/** Groups credentials as the deliverer does. */
function* chunks(creds) {
  let chunk = [];
  let bytes = 0;
  for (const c of creds) {
    const size = sealedSize(c.value);
    if (chunk.length && (chunk.length >= ENVELOPE_MAX_CREDENTIALS || bytes + size > ENVELOPE_MAX_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(c);
    bytes += size;
  }
  if (chunk.length) yield chunk;
}

/** CPU seconds (user + system) a process used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15) in USER_HZ ticks
  } catch {
    return NaN;
  }
}
const cpuOf = (procs) => procs.map((p) => cpuSeconds(p.proc.child.pid));
const cpuSince = (before, procs) => cpuOf(procs).map((c, i) => +(c - before[i]).toFixed(2));

/** A JWT's exp claim (unix seconds). */
const expOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')).exp;

/**
 * The baseline: per factory, the credentials in sealed envelopes (same format as
 * src/protocol/envelope.ts), one envelope after the other; the factories in parallel (as the
 * deliverer does). Returns the ms taken and the envelope count; throws unless all were stored.
 */
async function sendDirect(factories, keys, apiKeys, recipients, creds) {
  const t0 = performance.now();
  let envelopes = 0;
  await Promise.all(
    factories.map(async (f, i) => {
      for (const chunk of chunks(creds)) {
        const body = JSON.stringify({ v: 1, frontend: BASELINE_FRONTEND, id: randomUUID(), createdAt: Date.now(), credentials: chunk });
        const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
        const box = sodium.crypto_box_easy(body, nonce, recipients[i], keys.privateKey);
        const envelope = {
          v: 1,
          from: Buffer.from(keys.publicKey).toString('base64'),
          nonce: Buffer.from(nonce).toString('base64'),
          box: Buffer.from(box).toString('base64'),
        };
        const res = await fetch(`${f.api}/factory/credentials`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKeys[i]}`, 'content-type': 'application/json' },
          body: JSON.stringify(envelope),
        });
        const text = await res.text();
        if (res.status !== 200) throw fail(f, `baseline envelope answered ${res.status}: ${text.slice(0, 300)}`);
        const { results } = JSON.parse(text);
        const stored = results.filter((r) => r.result === 'stored').length;
        if (stored !== chunk.length)
          throw fail(f, `baseline envelope: ${stored} of ${chunk.length} stored (${JSON.stringify(results.find((r) => r.result !== 'stored'))})`);
        envelopes++;
      }
    }),
  );
  return { ms: performance.now() - t0, envelopes };
}

export async function runForward(opts = {}) {
  const o = { ...DEFAULTS, ...opts };
  const n = o.sites;
  const cacheDirs = [];
  const procs = [];
  try {
    await sodium.ready;
    // ---- processes ----
    // Metrics rendered afresh: the outbox counts read after the run are the final ones.
    const frontend = await launch('frontend', { GLIDEKEY_ROLES: 'frontend', GLIDEKEY_METRICS_CACHE_SECONDS: '0' }, o);
    procs.push(frontend);
    const factories = await Promise.all(
      Array.from({ length: o.factories }, async (_, i) => {
        const cacheDir = mkdtempSync(join(tmpdir(), 'glidekey-bench-fwd-cache-'));
        cacheDirs.push(cacheDir);
        const f = await launch(`factory-${i + 1}`, { GLIDEKEY_ROLES: 'factory', GLIDEKEY_FACTORY_CACHE_DIR: cacheDir }, o);
        f.cacheDir = cacheDir;
        return f;
      }),
    );
    procs.push(...factories);

    // ---- 1,000 sites, 1,000 entries per factory ----
    let t = performance.now();
    await pool(n, o.clients, (i) => call(frontend, 'POST', '/sites', { name: siteName(i) }));
    const createSitesMs = performance.now() - t;

    // ---- control: the same bulk rotation with no factory registered (nothing to forward) ----
    const rotateAll = (toVersion) =>
      pool(n, o.clients, async (i) => {
        const r = await call(frontend, 'POST', `/sites/${siteName(i)}/rotate`, { graceSeconds: 0 });
        if (r.toVersion !== toVersion) throw fail(frontend, `rotation of ${siteName(i)} answered ${JSON.stringify(r)}`);
      });
    t = performance.now();
    let cpu = cpuOf([frontend]);
    await rotateAll(2);
    const controlRotationMs = performance.now() - t;
    const controlCpu = cpuSince(cpu, [frontend])[0];
    console.log(`  control: ${fmtInt(n)} rotations with no factory registered in ${seconds(controlRotationMs)} s (frontend CPU ${controlCpu} s)`);

    // ---- registration both ways; and the baseline's own frontend identity at each factory ----
    const identity = await call(frontend, 'GET', '/frontend/identity');
    const baselineKeys = sodium.crypto_box_keypair();
    const baselineApiKeys = [];
    const recipients = [];
    for (const [i, f] of factories.entries()) {
      const reg = await call(f, 'POST', '/factory/frontends', { name: identity.name, publicKey: identity.publicKey });
      const fid = await call(f, 'GET', '/factory/identity');
      recipients.push(Buffer.from(fid.publicKey, 'base64'));
      await call(frontend, 'POST', '/factories', { name: f.label, url: f.url, apiKey: reg.apiKey, publicKey: fid.publicKey });
      const base = await call(f, 'POST', '/factory/frontends', { name: BASELINE_FRONTEND, publicKey: Buffer.from(baselineKeys.publicKey).toString('base64') });
      baselineApiKeys[i] = base.apiKey;
    }

    t = performance.now();
    await Promise.all(
      factories.map((f) =>
        pool(n, o.clients, (i) =>
          call(f, 'PUT', `/factory/entries/${entryName(i)}`, {
            site: siteName(i),
            gatekeeper: `ce-${pad(i)}.example.org:9619`,
            trustDomain: 'OSG',
            authMethod: 'grid_proxy',
            condorVersion: '23.0.3',
          }),
        ),
      ),
    );
    const createEntriesMs = performance.now() - t;
    console.log(
      `  set-up: ${fmtInt(n)} sites in ${seconds(createSitesMs)} s; ${fmtInt(n)} entries on each of ${factories.length} factories in ${seconds(createEntriesMs)} s`,
    );

    // ---- initial forwarding: one sync per factory (reads entries, queues, delivers) ----
    const none = factories.map(() => new Map());
    t = performance.now();
    const syncs = await Promise.all(factories.map((f) => call(frontend, 'POST', `/factories/${f.label}/sync`)));
    for (const [i, s] of syncs.entries()) if (s.entries !== n || s.error) throw fail(frontend, `sync of ${factories[i].label}: ${JSON.stringify(s)}`);
    await drain(frontend, () => allNewer(factories, none, n), o);
    const initialMs = performance.now() - t;
    console.log(
      `  initial forwarding: ${fmtInt(n * factories.length)} tokens in ${seconds(initialMs)} s (${fmtInt((n * factories.length) / (initialMs / 1000))} tokens/s)`,
    );
    const v1 = await Promise.all(factories.map((f) => cacheVersions(f, FRONTEND_NAME)));
    const fileOf = (f, frontendName, i) =>
      join(f.cacheDir, `user_${frontendName}`, 'glidein_gfactory_instance', `credential_${frontendName}.main_${entryName(i)}.idtoken`);
    const v1Tokens = Array.from({ length: n }, (_, i) => readFileSync(fileOf(factories[0], FRONTEND_NAME, i), 'utf8'));

    // ---- the bulk rotation ----
    const r0 = performance.now();
    cpu = cpuOf(procs);
    await rotateAll(3);
    const lastAck = performance.now();
    const rotationMs = lastAck - r0;
    const tailMs = await drain(frontend, () => allNewer(factories, v1, n), o);
    const totalMs = performance.now() - r0;
    const rotationCpu = cpuSince(cpu, procs);
    const forwarded = n * factories.length;
    // The factories hold the tokens of the new keys: spot-check one per factory against the frontend.
    for (const [i, f] of factories.entries()) {
      const k = Math.floor((i + 1) * (n / (factories.length + 1)));
      const token = readFileSync(fileOf(f, FRONTEND_NAME, k), 'utf8');
      const v = await call(frontend, 'POST', '/tokens/verify', { token });
      if (!v.valid || v.keyVersion !== 3 || v.site !== siteName(k))
        throw fail(frontend, `${f.label}'s ${entryName(k)} holds a token that verifies as ${JSON.stringify(v)}`);
    }
    const outbox = await outboxStates(frontend);
    // Exactly once: every token of both sends delivered, one row each, none left pending, failed, dropped or refused.
    const expected = { delivered: 2 * forwarded };
    const states = Object.fromEntries(Object.entries(outbox.rows).filter(([, v]) => v > 0));
    if (JSON.stringify(states) !== JSON.stringify(expected))
      throw fail(frontend, `outbox rows by state ${JSON.stringify(outbox.rows)}, expected ${JSON.stringify(expected)} and nothing else`);
    const v2Tokens = Array.from({ length: n }, (_, i) => readFileSync(fileOf(factories[0], FRONTEND_NAME, i), 'utf8'));
    console.log(
      `  bulk rotation: ${fmtInt(n)} rotations in ${seconds(rotationMs)} s (${o.clients} clients); after the last acknowledgement, ${seconds(tailMs)} s until nothing pending and every cache new;` +
        ` ${fmtInt(forwarded)} tokens forwarded ${seconds(totalMs)} s after the first rotation (${fmtInt(forwarded / (totalMs / 1000))} tokens/s)`,
    );
    console.log(`  CPU seconds meanwhile: frontend ${rotationCpu[0]}, factories ${rotationCpu.slice(1).join(' / ')}`);

    // ---- the baseline: the same tokens, sealed and POSTed by the bench itself (v1 as the initial send, then v2 timed) ----
    const asCreds = (tokens, version) => tokens.map((value, i) => ({ entry: entryName(i), type: 'idtoken', version, expiresAt: expOf(value), value }));
    cpu = cpuOf(factories);
    const baseInitial = await sendDirect(factories, baselineKeys, baselineApiKeys, recipients, asCreds(v1Tokens, 1));
    const baseInitialCpu = cpuSince(cpu, factories);
    cpu = cpuOf(factories);
    const baseRotation = await sendDirect(factories, baselineKeys, baselineApiKeys, recipients, asCreds(v2Tokens, 2));
    const baseRotationCpu = cpuSince(cpu, factories);
    for (const f of factories) {
      const held = await cacheVersions(f, BASELINE_FRONTEND);
      if (held.size !== n || [...held.values()].some((v) => v !== 2))
        throw fail(f, `baseline: the factory holds ${held.size} credentials of ${BASELINE_FRONTEND}, not ${n} at version 2`);
    }
    console.log(
      `  baseline (bench seals and POSTs directly, ${baseRotation.envelopes} envelopes over ${factories.length} factories): initial ${seconds(baseInitial.ms)} s, after rotation ${seconds(baseRotation.ms)} s (${fmtInt(forwarded / (baseRotation.ms / 1000))} tokens/s); factory CPU seconds ${baseRotationCpu.join(' / ')}`,
    );

    return {
      sites: n,
      factories: factories.length,
      clients: o.clients,
      setup: { createSitesSeconds: seconds(createSitesMs), createEntriesSeconds: seconds(createEntriesMs) },
      initial: { tokens: forwarded, seconds: seconds(initialMs), tokensPerSecond: Math.round(forwarded / (initialMs / 1000)) },
      rotation: {
        tokens: forwarded,
        rotationSeconds: seconds(rotationMs),
        controlRotationSecondsWithoutFactories: seconds(controlRotationMs),
        controlFrontendCpuSeconds: controlCpu,
        cpuSeconds: { frontend: rotationCpu[0], factories: rotationCpu.slice(1) },
        afterLastAckSeconds: seconds(tailMs),
        totalSeconds: seconds(totalMs),
        tokensPerSecond: Math.round(forwarded / (totalMs / 1000)),
      },
      baseline: {
        envelopesPerSend: baseRotation.envelopes,
        initialSeconds: seconds(baseInitial.ms),
        rotationSeconds: seconds(baseRotation.ms),
        factoryCpuSeconds: { initial: baseInitialCpu, rotation: baseRotationCpu },
        tokensPerSecond: Math.round(forwarded / (baseRotation.ms / 1000)),
      },
      ratio: {
        /** Service, rotation and forwarding end to end, over the baseline's delivery alone. */
        totalOverBaseline: +(totalMs / baseRotation.ms).toFixed(3),
        /** What the deliverer still had to do after the last rotation, over the baseline. */
        tailOverBaseline: +(tailMs / baseRotation.ms).toFixed(3),
        initialOverBaseline: +(initialMs / baseInitial.ms).toFixed(3),
      },
      outbox,
    };
  } finally {
    await Promise.all(procs.map((p) => stopService(p.proc).catch(() => undefined)));
    for (const p of procs) rmSync(p.dataDir, { recursive: true, force: true });
    for (const d of cacheDirs) rmSync(d, { recursive: true, force: true });
  }
}

function summary(r) {
  const rows = [
    ['forwarding', 'tokens', 'seconds', 'tokens/s', 'baseline s', 'ratio'],
    [
      'initial (sync, 3 factories)',
      fmtInt(r.initial.tokens),
      r.initial.seconds.toFixed(2),
      fmtInt(r.initial.tokensPerSecond),
      r.baseline.initialSeconds.toFixed(2),
      fmtRatio(r.ratio.initialOverBaseline),
    ],
    [
      'bulk rotation, end to end',
      fmtInt(r.rotation.tokens),
      r.rotation.totalSeconds.toFixed(2),
      fmtInt(r.rotation.tokensPerSecond),
      r.baseline.rotationSeconds.toFixed(2),
      fmtRatio(r.ratio.totalOverBaseline),
    ],
    ['  of which rotating (HTTP)', fmtInt(r.sites), r.rotation.rotationSeconds.toFixed(2), '', '', ''],
    ['  control: rotating, no factory', fmtInt(r.sites), r.rotation.controlRotationSecondsWithoutFactories.toFixed(2), '', '', ''],
    ['  after the last ack', '', r.rotation.afterLastAckSeconds.toFixed(2), '', r.baseline.rotationSeconds.toFixed(2), fmtRatio(r.ratio.tailOverBaseline)],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  const line = (x) => x.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

if (isMain(import.meta.url)) {
  const started = Date.now();
  const results = { at: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model };
  console.log(`glidekey forwarding benchmark (node ${process.version}, ${results.cpus} CPUs): ${DEFAULTS.sites} sites x ${DEFAULTS.factories} factories\n`);
  try {
    results.forward = await runForward();
  } catch (err) {
    console.error('forwarding benchmark failed:', err instanceof BenchError ? err.message : err);
    results.error = String(err.message ?? err);
    process.exitCode = 1;
  }
  results.elapsedSeconds = +((Date.now() - started) / 1000).toFixed(1);
  mkdirSync(dirname(FORWARD_RESULTS_FILE), { recursive: true });
  writeFileSync(FORWARD_RESULTS_FILE, JSON.stringify(results, null, 2) + '\n');
  if (results.forward) {
    console.log(`\nSummary\n${summary(results.forward)}`);
    console.log(`\noutbox after the run: ${JSON.stringify(results.forward.outbox.rows)}; envelopes sent: ${JSON.stringify(results.forward.outbox.attempts)}`);
  }
  console.log(`results: ${FORWARD_RESULTS_FILE} (${results.elapsedSeconds} s)`);
}
