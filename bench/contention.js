// Contention benchmark (`npm run bench:contention`): can heavy or hostile callers slow everyone
// else? The real service (`node dist/main.js`, SQLite, loopback) with a 300,000-row token ledger
// and a 300,000-row audit log, seeded by bulk inserts into the database its own migrations built.
// Two probes run side by side, each one request at a time: a mint (POST /api/v1/sites/{site}/tokens)
// and a glidein fetch with a fresh valid ticket (POST /api/v1/glidein/credentials). Baseline, same
// run and same service: the probes' p50 while nothing else runs. Then the same probes while a
// worker thread scrapes /metrics 4-way, pages GET /tokens and GET /audit through the big tables
// (one request in flight each: an auditor with two requests in flight, as in issue 11),
// and sends 1,000 bad tickets a second from 127.0.0.2. Figures: loaded p50 / idle p50 per probe.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { failWithOutput, serviceEnv, startChild, stopChild, waitReady } from './mint-http.js';
import { call, fmtInt, fmtMs, fmtRatio, freePort, isMain, percentile, sleep } from './util.js';

export const CONTENTION_DEFAULTS = {
  ledgerRows: 300_000,
  auditRows: 300_000,
  phaseSeconds: 4,
  badPerSecond: 1000,
  scrapers: 4,
  listers: 1,
  tickets: 10_000,
  readyTimeoutMs: 30_000,
};

const SITE = 'bench-site';
const ENTRY = 'bench-entry';

/** Bulk inserts (one transaction, one prepared statement) into the database the service migrated: `ledger` tokens and `audit` lines. */
function seed(file, o) {
  const db = new Database(file);
  try {
    const site = db.prepare('SELECT id FROM sites WHERE name = ?').get(SITE);
    const key = db.prepare("SELECT id, version, kid FROM site_keys WHERE site_id = ? AND state = 'active'").get(site.id);
    const now = Date.now();
    const token = db.prepare(
      'INSERT INTO issued_tokens (jti, site_id, site_name, key_id, key_version, kid, subject, issuer, scopes, issued_at, expires_at, revoked_at, minted_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)',
    );
    const audit = db.prepare(
      "INSERT INTO audit_log (at, actor, action, target, result, code, request_id, detail) VALUES (?, 'bench', 'token.mint', ?, 'success', NULL, NULL, NULL)",
    );
    const t0 = performance.now();
    db.transaction(() => {
      const ids = randomBytes(16 * o.ledgerRows).toString('hex');
      for (let i = 0; i < o.ledgerRows; i++) {
        const at = now - (o.ledgerRows - i) * 1000;
        token.run(
          ids.slice(32 * i, 32 * i + 32),
          site.id,
          SITE,
          key.id,
          key.version,
          key.kid,
          `${SITE}@bench`,
          'collector.example.org:9618',
          'condor:/READ',
          at,
          at + 86_400_000,
          'bench',
        );
      }
      for (let i = 0; i < o.auditRows; i++) audit.run(now - (o.auditRows - i) * 1000, `site:${SITE}`);
    })();
    return performance.now() - t0;
  } finally {
    db.close();
  }
}

/** The two probes side by side, one request at a time each, for `seconds`; latencies sorted. */
async function probe(seconds, mint, fetchOne) {
  const deadline = performance.now() + seconds * 1000;
  const loop = async (job) => {
    const lat = [];
    const statuses = {};
    while (performance.now() < deadline) {
      const s = performance.now();
      const r = await job();
      if (r === null) break;
      lat.push(performance.now() - s);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    lat.sort((a, b) => a - b);
    return { n: lat.length, p50Ms: percentile(lat, 50), p90Ms: percentile(lat, 90), p99Ms: percentile(lat, 99), statuses };
  };
  const [m, f] = await Promise.all([loop(mint), loop(fetchOne)]);
  return { mint: m, fetch: f };
}

export async function runContention(opts = {}) {
  const o = { ...CONTENTION_DEFAULTS, ...opts };
  const dataDir = mkdtempSync(join(tmpdir(), 'glidekey-bench-contention-'));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = { ...serviceEnv(dataDir, port), GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' };
  let svc;
  const start = async () => {
    svc = startChild('glidekey service (node dist/main.js)', ['dist/main.js'], env);
    try {
      await waitReady(svc, `${origin}/readyz`, o.readyTimeoutMs);
    } catch (err) {
      throw failWithOutput(svc, err);
    }
  };
  try {
    await start();
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const auth = { authorization: `Bearer ${adminKey}` };
    const api = async (method, path, body, expect) => {
      const r = await call(agent, origin, method, `/api/v1${path}`, auth, body === undefined ? undefined : JSON.stringify(body));
      if (r.status !== expect) throw failWithOutput(svc, new Error(`${method} ${path} answered ${r.status}: ${r.body.slice(0, 300)}`));
      return JSON.parse(r.body);
    };
    // ---- first life: the forwarding flow through the API, both roles in this one process ----
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
    const auditorKey = (await api('POST', '/apikeys', { name: 'bench-auditor', roles: ['auditor'] }, 201)).apiKey;
    await stopChild(svc);

    // ---- the big tables, then the second life ----
    const seedMs = seed(join(dataDir, 'glidekey.sqlite'), o);
    await start();
    const tickets = (await api('POST', `/factory/entries/${ENTRY}/tickets`, { frontend: fe.name, count: o.tickets }, 201)).tickets;
    let next = 0;
    const mint = () => call(agent, origin, 'POST', `/api/v1/sites/${SITE}/tokens`, auth, '{}');
    const fetchOne = () =>
      next < tickets.length
        ? call(agent, origin, 'POST', '/api/v1/glidein/credentials', { authorization: `Bearer ${tickets[next++]}` }, '{}')
        : Promise.resolve(null);

    await probe(1, mint, fetchOne); // warm-up: connections, JIT, SQLite page cache
    const idle = await probe(o.phaseSeconds, mint, fetchOne);
    const worker = new Worker(new URL('./contention-load.js', import.meta.url), {
      workerData: { origin, auditorKey, badPerSecond: o.badPerSecond, scrapers: o.scrapers, listers: o.listers },
    });
    const loadCounts = new Promise((ok, fail) => {
      worker.once('message', ok);
      worker.once('error', fail);
    });
    const loadStart = performance.now();
    await sleep(500); // the load builds up; the flooding address goes over the failure limit
    const loaded = await probe(o.phaseSeconds, mint, fetchOne);
    worker.postMessage('stop');
    const counts = await loadCounts;
    const loadSeconds = (performance.now() - loadStart) / 1000;
    await worker.terminate();

    const rate = (prefix) => Object.entries(counts).reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0) / loadSeconds;
    const result = {
      ledgerRows: o.ledgerRows,
      auditRows: o.auditRows,
      seedMs: +seedMs.toFixed(0),
      phaseSeconds: o.phaseSeconds,
      idle,
      loaded,
      load: {
        seconds: +loadSeconds.toFixed(2),
        counts,
        perSecond: { metrics: rate('metrics '), tokens: rate('/tokens '), audit: rate('/audit '), badTickets: rate('bad-ticket ') },
      },
      mintRatio: +(loaded.mint.p50Ms / idle.mint.p50Ms).toFixed(3),
      fetchRatio: +(loaded.fetch.p50Ms / idle.fetch.p50Ms).toFixed(3),
    };
    const line = (name, k) =>
      `  ${name}: idle p50 ${fmtMs(idle[k].p50Ms)} ms (p99 ${fmtMs(idle[k].p99Ms)}, n ${idle[k].n}) | loaded p50 ${fmtMs(loaded[k].p50Ms)} ms (p99 ${fmtMs(loaded[k].p99Ms)}, n ${loaded[k].n}) | ratio ${fmtRatio(result[`${k}Ratio`])} | loaded statuses ${JSON.stringify(loaded[k].statuses)}`;
    console.log(`contention: ${fmtInt(o.ledgerRows)}-row ledger and ${fmtInt(o.auditRows)}-row audit log seeded in ${fmtMs(seedMs)} ms`);
    console.log(line('mint ', 'mint'));
    console.log(line('fetch', 'fetch'));
    const ps = result.load.perSecond;
    console.log(
      `  load per second: /metrics ${fmtInt(ps.metrics)}, GET /tokens ${fmtInt(ps.tokens)}, GET /audit ${fmtInt(ps.audit)}, bad tickets ${fmtInt(ps.badTickets)} | ${JSON.stringify(counts)}`,
    );
    return result;
  } finally {
    agent.destroy();
    await stopChild(svc).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  // BENCH_SCRAPERS, BENCH_LISTERS, BENCH_BAD_PER_SECOND, BENCH_PHASE_SECONDS: vary one load at a time.
  const num = (k) => (process.env[k] === undefined ? undefined : Number(process.env[k]));
  const o = Object.fromEntries(
    Object.entries({
      scrapers: num('BENCH_SCRAPERS'),
      listers: num('BENCH_LISTERS'),
      badPerSecond: num('BENCH_BAD_PER_SECOND'),
      phaseSeconds: num('BENCH_PHASE_SECONDS'),
    }).filter(([, v]) => v !== undefined),
  );
  runContention(o).catch((err) => {
    if (!err.reported) console.error('contention benchmark failed:', err);
    process.exitCode = 1;
  });
}
