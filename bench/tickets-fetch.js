// Glidein bootstrap benchmark: the real service (`node dist/main.js`, loopback, plain HTTP like the
// other HTTP benchmark) with one site, one entry and its token forwarded into the factory cache
// through the real flow; N tickets issued, then all fetched (POST /api/v1/glidein/credentials)
// over C keep-alive connections, each request with a distinct ticket. Baseline, same run and same
// service: the same number of requests over the same connections to GET /healthz.
import { Agent } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { failWithOutput, serviceEnv, startChild, stopChild, waitReady } from './mint-http.js';
import { call, BENCH_DIR, fmtInt, fmtMs, fmtRatio, freePort, isMain, percentile } from './util.js';

export const TICKET_DEFAULTS = { tickets: 3000, connections: 50, warmup: 1000, readyTimeoutMs: 30_000 };

const SITE = 'bench-site';
const ENTRY = 'bench-entry';

/**
 * The service's CPU time so far (user + system, ms) from /proc, or null where there is none: per
 * request it tells the fetch's own cost from the machine's load, which the rates share.
 */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (USER_HZ, 100 on Linux).
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** `jobs` (functions returning a request promise) over `workers` loops; latencies in ms, sorted. */
async function drive(jobs, workers) {
  const lat = [];
  const statuses = {};
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const s = performance.now();
        try {
          const r = await job();
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        } catch {
          errors++;
        }
        lat.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const ok2xx = Object.entries(statuses).reduce((n, [k, v]) => (k.startsWith('2') ? n + v : n), 0);
  return {
    requests: lat.length,
    seconds: +seconds.toFixed(3),
    requestsPerSecond: lat.length / seconds,
    p50Ms: percentile(lat, 50),
    p90Ms: percentile(lat, 90),
    p99Ms: percentile(lat, 99),
    maxMs: lat[lat.length - 1],
    ok2xx,
    non2xx: lat.length - ok2xx - errors,
    errors,
    statusCodes: statuses,
  };
}

export async function runTicketsFetch(opts = {}) {
  const o = { ...TICKET_DEFAULTS, ...opts };
  const dataDir = mkdtempSync(join(tmpdir(), 'glidekey-bench-tickets-'));
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  // BENCH_CPU_PROF=<dir>: run the service under --cpu-prof (via a wrapper that exits cleanly on request).
  const profDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
  let svc;
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const args = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, resolve(BENCH_DIR, 'profile-wrapper.js')] : ['dist/main.js'];
    svc = startChild('glidekey service (node dist/main.js)', args, { ...serviceEnv(dataDir, port), GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' });
    try {
      await waitReady(svc, `${origin}/readyz`, o.readyTimeoutMs);
    } catch (err) {
      throw failWithOutput(svc, err);
    }
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const auth = { authorization: `Bearer ${adminKey}` };
    const api = async (method, path, body, expect) => {
      const r = await call(agent, origin, method, `/api/v1${path}`, auth, body === undefined ? undefined : JSON.stringify(body));
      if (r.status !== expect) throw failWithOutput(svc, new Error(`${method} ${path} answered ${r.status}: ${r.body.slice(0, 300)}`));
      return JSON.parse(r.body);
    };

    // ---- set-up: the forwarding flow, both roles in this one process ----
    const fe = await api('GET', '/frontend/identity', undefined, 200);
    const reg = await api('POST', '/factory/frontends', { name: fe.name, publicKey: fe.publicKey }, 201);
    const fa = await api('GET', '/factory/identity', undefined, 200);
    await api('POST', '/factories', { name: 'self', url: origin, apiKey: reg.apiKey, publicKey: fa.publicKey }, 201);
    await api(
      'PUT',
      `/factory/entries/${ENTRY}`,
      { site: SITE, gatekeeper: 'ce.example.org:9619', trustDomain: 'OSG', authMethod: 'grid_proxy,scitoken', condorVersion: '23.0.3' },
      201,
    );
    await api('POST', '/sites', { name: SITE }, 201);
    const sync = await api('POST', '/factories/self/sync', {}, 200);
    if (sync.delivery?.delivered !== 1) throw failWithOutput(svc, new Error(`sync did not deliver the token: ${JSON.stringify(sync)}`));

    const issue = async (count) => (await api('POST', `/factory/entries/${ENTRY}/tickets`, { frontend: fe.name, count }, 201)).tickets;
    const fetchJob = (ticket) => () => call(agent, origin, 'POST', '/api/v1/glidein/credentials', { authorization: `Bearer ${ticket}` }, '{}');
    const healthJob = () => call(agent, origin, 'GET', '/healthz');

    // ---- warm-up (connections, JIT), then the measured runs ----
    const warm = await issue(o.warmup);
    await drive(warm.map(fetchJob), o.connections);
    await drive(
      Array.from({ length: o.warmup }, () => healthJob),
      o.connections,
    );

    const tIssue = performance.now();
    const tickets = await issue(o.tickets);
    const issueMs = performance.now() - tIssue;
    const pid = svc.child.pid;
    const c0 = cpuMs(pid);
    const service = await drive(tickets.map(fetchJob), o.connections);
    const c1 = cpuMs(pid);
    const baseline = await drive(
      Array.from({ length: o.tickets }, () => healthJob),
      o.connections,
    );
    const c2 = cpuMs(pid);
    if (c0 !== null && c1 !== null && c2 !== null) {
      service.cpuMsPerRequest = +((c1 - c0) / service.requests).toFixed(3);
      baseline.cpuMsPerRequest = +((c2 - c1) / baseline.requests).toFixed(3);
    }

    // Every ticket is spent: a second pass over a sample is refused.
    const replay = await drive(tickets.slice(0, 20).map(fetchJob), 5);
    if (profDir) {
      svc.child.send('exit');
      await svc.exitPromise;
    }

    const result = {
      tickets: o.tickets,
      connections: o.connections,
      issueMs: +issueMs.toFixed(1),
      service,
      baseline,
      ratio: +(service.requestsPerSecond / baseline.requestsPerSecond).toFixed(4),
      replayRefused: replay.statusCodes['401'] ?? 0,
    };
    console.log(
      `glidein fetch, ${fmtInt(o.tickets)} distinct tickets at ${o.connections} connections: ${fmtInt(service.requestsPerSecond)} fetches/s` +
        ` (GET /healthz baseline ${fmtInt(baseline.requestsPerSecond)}/s, ratio ${fmtRatio(result.ratio)})` +
        ` | p50 ${fmtMs(service.p50Ms)} ms, p99 ${fmtMs(service.p99Ms)} ms (baseline p99 ${fmtMs(baseline.p99Ms)} ms)` +
        ` | ${fmtInt(service.ok2xx)} ok, non2xx ${service.non2xx}, errors ${service.errors}`,
    );
    if (service.cpuMsPerRequest !== undefined) {
      console.log(
        `  service CPU per request: fetch ${service.cpuMsPerRequest} ms, GET /healthz ${baseline.cpuMsPerRequest} ms (ratio ${fmtRatio(baseline.cpuMsPerRequest / service.cpuMsPerRequest)})`,
      );
    }
    console.log(`  issuing ${fmtInt(o.tickets)} tickets took ${fmtMs(issueMs)} ms; replaying 20 spent tickets: ${result.replayRefused}/20 refused`);
    if (service.non2xx || service.errors) console.log(`  status codes: ${JSON.stringify(service.statusCodes)}`);
    return result;
  } finally {
    agent.destroy();
    await stopChild(svc).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  // Run alone it only prints; bench/run.js writes bench/results/latest.json.
  // BENCH_TICKETS=<n>: more tickets (a longer measured run, e.g. for a profile).
  runTicketsFetch(process.env.BENCH_TICKETS ? { tickets: Number(process.env.BENCH_TICKETS) } : {}).catch((err) => {
    if (!err.reported) console.error('ticket fetch benchmark failed:', err);
    process.exitCode = 1;
  });
}
