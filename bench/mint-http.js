// HTTP mint benchmark: the real service (`node dist/main.js`, child process, loopback only) under
// autocannon, against a bare node:http + jose server (bench/baseline-server.js) with the same load.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_DIR, FRONTEND_NAME, PROJECT_ROOT, SITE, TRUST_DOMAIN, fmtInt, fmtMs, fmtRatio, freePort, isMain, processCpuMs, sleep } from './util.js';

export const DEFAULTS = {
  connections: 32,
  warmupSeconds: 2,
  durationSeconds: 10,
  readyTimeoutMs: 30_000,
};

export const GOALS = { minTokensPerSecond: 2000, maxP99Ms: 50 };

export class ServiceStartError extends Error {}

const OUTPUT_LIMIT = 64 * 1024;

/** Spawns a node child with its stdout/stderr captured (last 64 KiB) and a safety kill on our exit. */
export function startChild(label, args, env) {
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const proc = { label, child, output: '', exited: null };
  const keep = (chunk) => {
    proc.output += chunk.toString('utf8');
    if (proc.output.length > OUTPUT_LIMIT) proc.output = proc.output.slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  proc.exitPromise = new Promise((res) => {
    child.once('exit', (code, signal) => {
      proc.exited = { code, signal };
      res(proc.exited);
    });
    child.once('error', (err) => {
      proc.exited = { code: null, signal: null, error: err };
      keep(`spawn error: ${err.message}\n`);
      res(proc.exited);
    });
  });
  const safety = () => {
    if (!proc.exited) child.kill('SIGKILL');
  };
  process.once('exit', safety);
  proc.removeSafety = () => process.removeListener('exit', safety);
  return proc;
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(proc) {
  if (!proc) return;
  if (!proc.exited) {
    proc.child.kill('SIGTERM');
    const done = await Promise.race([proc.exitPromise, sleep(5000).then(() => null)]);
    if (!done) {
      proc.child.kill('SIGKILL');
      await Promise.race([proc.exitPromise, sleep(2000)]);
    }
  }
  proc.removeSafety();
}

/** Polls `url` until it answers 200, the child exits, or the timeout passes. */
export async function waitReady(proc, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.exited) throw new ServiceStartError(`${proc.label} exited during start-up (${JSON.stringify(proc.exited)})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(200);
  }
  throw new ServiceStartError(`${proc.label} not ready at ${url} within ${timeoutMs / 1000} s (last: ${last})`);
}

export function failWithOutput(proc, err) {
  console.error(`${err.message}\n----- ${proc.label} output -----\n${proc.output || '(none)'}\n----- end of output -----`);
  const e = new ServiceStartError(err.message);
  e.reported = true;
  return e;
}

async function cannon(url, headers, o, seconds) {
  return autocannon({
    url,
    method: 'POST',
    connections: o.connections,
    duration: seconds,
    timeout: 10,
    headers,
    body: '{}',
  });
}

function summarize(r) {
  return {
    requestsPerSecond: r.requests.average,
    requestsTotal: r.requests.total,
    ok2xx: r['2xx'],
    durationSeconds: r.duration,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
  };
}

/** The environment for the service: ours, without any GLIDEKEY_* setting inherited from the shell. */
export function serviceEnv(dataDir, port) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIDEKEY_')));
  return {
    ...env,
    GLIDEKEY_DATA_DIR: dataDir,
    GLIDEKEY_PORT: String(port),
    GLIDEKEY_HOST: '127.0.0.1',
    GLIDEKEY_TRUST_DOMAIN: TRUST_DOMAIN,
    GLIDEKEY_FRONTEND_NAME: FRONTEND_NAME,
    GLIDEKEY_LOG_LEVEL: 'warn',
  };
}

export async function runHttp(opts = {}) {
  const o = { ...DEFAULTS, ...opts };
  const dataDir = mkdtempSync(join(tmpdir(), 'glidekey-bench-http-'));
  // BENCH_CPU_PROF=<dir>: run the service under --cpu-prof (via a wrapper that exits cleanly on request).
  const profDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
  let svc;
  let base;
  try {
    // ---- the service ----
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const args = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, resolve(BENCH_DIR, 'profile-wrapper.js')] : ['dist/main.js'];
    svc = startChild('glidekey service (node dist/main.js)', args, serviceEnv(dataDir, port));
    try {
      await waitReady(svc, `${origin}/readyz`, o.readyTimeoutMs);
    } catch (err) {
      throw failWithOutput(svc, err);
    }
    let adminKey;
    try {
      adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    } catch (err) {
      throw failWithOutput(svc, new Error(`cannot read ${join(dataDir, 'admin.key')}: ${err.message}`));
    }
    const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${origin}/api/v1/sites`, { method: 'POST', headers, body: JSON.stringify({ name: SITE, issuer: TRUST_DOMAIN }) });
    const createdBody = await created.text();
    if (created.status !== 201) throw failWithOutput(svc, new Error(`creating the site answered ${created.status}: ${createdBody}`));
    const mintUrl = `${origin}/api/v1/sites/${SITE}/tokens`;
    const probe = await fetch(mintUrl, { method: 'POST', headers, body: '{}' });
    const probeBody = await probe.json().catch(() => ({}));
    if (probe.status !== 201 || typeof probeBody.token !== 'string') {
      throw failWithOutput(svc, new Error(`a probe mint answered ${probe.status}: ${JSON.stringify(probeBody)}`));
    }

    await cannon(mintUrl, headers, o, o.warmupSeconds);
    const cpu0 = processCpuMs(svc.child.pid);
    const service = summarize(await cannon(mintUrl, headers, o, o.durationSeconds));
    const cpu1 = processCpuMs(svc.child.pid);
    // The service's CPU per token answered (user + system; waits for the disk are not CPU).
    service.cpuMsPerToken = cpu0 === undefined || cpu1 === undefined || !service.ok2xx ? null : +((cpu1 - cpu0) / service.ok2xx).toFixed(3);
    if (profDir) svc.child.send('exit');
    await stopChild(svc);
    svc = undefined;

    // ---- the baseline: bare node:http + jose ----
    const bport = await freePort();
    const borigin = `http://127.0.0.1:${bport}`;
    base = startChild('baseline server (bench/baseline-server.js)', [resolve(BENCH_DIR, 'baseline-server.js')], {
      ...process.env,
      BENCH_BASELINE_PORT: String(bport),
    });
    try {
      await waitReady(base, `${borigin}/`, o.readyTimeoutMs);
    } catch (err) {
      throw failWithOutput(base, err);
    }
    const burl = `${borigin}/tokens`;
    await cannon(burl, headers, o, o.warmupSeconds);
    const baseline = summarize(await cannon(burl, headers, o, o.durationSeconds));
    await stopChild(base);
    base = undefined;

    const goals = {
      ...GOALS,
      tokensPerSecondMet: service.requestsPerSecond >= GOALS.minTokensPerSecond,
      p99Met: service.p99Ms < GOALS.maxP99Ms,
      clean: service.non2xx === 0 && service.errors === 0 && service.timeouts === 0,
    };
    goals.met = goals.tokensPerSecondMet && goals.p99Met && goals.clean;
    const result = {
      connections: o.connections,
      durationSeconds: o.durationSeconds,
      service,
      baseline,
      ratio: +(service.requestsPerSecond / baseline.requestsPerSecond).toFixed(4),
      goals,
    };

    console.log(
      `mint HTTP ${o.connections} connections: ${fmtInt(service.requestsPerSecond)} tokens/s (raw http+jose baseline ${fmtInt(baseline.requestsPerSecond)}/s, ratio ${fmtRatio(result.ratio)})` +
        ` | p50 ${fmtMs(service.p50Ms)} ms, p99 ${fmtMs(service.p99Ms)} ms (baseline p99 ${fmtMs(baseline.p99Ms)} ms)` +
        ` | ${fmtInt(service.ok2xx)} ok, errors ${service.errors}, timeouts ${service.timeouts}, non2xx ${service.non2xx}` +
        (service.cpuMsPerToken === null ? '' : ` | service CPU ${fmtMs(service.cpuMsPerToken)} ms/token`),
    );
    const rateTxt = goals.tokensPerSecondMet
      ? `>= ${fmtInt(GOALS.minTokensPerSecond)} tokens/s MET`
      : `>= ${fmtInt(GOALS.minTokensPerSecond)} tokens/s MISSED by ${fmtInt(GOALS.minTokensPerSecond - service.requestsPerSecond)}/s (${(100 * (1 - service.requestsPerSecond / GOALS.minTokensPerSecond)).toFixed(1)}% short)`;
    const p99Txt = goals.p99Met ? `p99 < ${GOALS.maxP99Ms} ms MET` : `p99 < ${GOALS.maxP99Ms} ms MISSED by ${fmtMs(service.p99Ms - GOALS.maxP99Ms)} ms`;
    console.log(
      `  goals: ${rateTxt}; ${p99Txt}; non-2xx ${service.non2xx === 0 ? '0 OK' : `${service.non2xx} FLAGGED`}${service.errors || service.timeouts ? `; ${service.errors} errors / ${service.timeouts} timeouts FLAGGED` : ''}`,
    );
    if (service.non2xx) console.log(`  status codes: ${JSON.stringify(service.statusCodes)}`);
    if (baseline.non2xx || baseline.errors) console.log(`  baseline flagged: ${baseline.non2xx} non-2xx, ${baseline.errors} errors`);
    return result;
  } finally {
    await stopChild(svc).catch(() => undefined);
    await stopChild(base).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  // Run alone it only prints; bench/run.js writes bench/results/latest.json.
  runHttp().catch((err) => {
    if (!err.reported) console.error('HTTP benchmark failed:', err);
    process.exitCode = 1;
  });
}
