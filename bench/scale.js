// Scale benchmark (`npm run bench:scale`): does the service stay as fast with a big database as
// with an empty one? Per engine (SQLite always; PostgreSQL when GLIDEKEY_BENCH_POSTGRES_URL or
// 127.0.0.1:5432 answers, in databases of its own that it creates and drops), two databases the
// service's own migrations build, measured side by side in the same run:
//   small: 10 sites made through the REST API, nothing else;
//   big:   10,000 sites, all made through the REST API (a site's sealed key is bound to its site id
//          and version, `site-key:<id>:<version>`, so no row can be cloned by SQL; the time it takes
//          is printed), then, with the service stopped, bulk SQL (recursive CTE / generate_series)
//          adds 1,000,000 ledger rows (100,000 of them revoked and unexpired) and 1,000,000 audit
//          lines spread over those sites, and ANALYZE.
// Figures, each with its small-database baseline and the ratio: the real service's (node
// dist/main.js) mint latency p50/p99 over HTTP and GET /tokens and GET /audit pages (first page, a
// deep cursor page, each filter), both services running at once and each request alternating
// between them (ABBA), so that the shared machine's changing load falls on both alike; then
// in-process (the service's own code from dist/, on each database in turn):
// TokensService.revocationExpression() (read, build, model check) and its database read alone,
// and PasswordsDirService's start-up sync into an empty passwords.d (every site's key file), then
// a sync with nothing to change. Goals (issue 15): at scale mint p50 and p99 within 1.5x of the
// small database, every listed page under 100 ms (p50 of the timed requests), the expression for
// 100,000 jtis in under 1 s. List pacing (limits.listRequestsPerSecond, default 50 a second in
// bursts of 50) makes a tight loop of list requests wait ~20 ms for its turn once the burst is
// spent: the pages are measured with it raised to 10,000 so that they measure the query, and the
// small database shows the default's effect on such a loop once (SQLite).
// Options: --quick (every size / 20: a smoke test), --sqlite-only, --postgres-only; BENCH_SCALE_KEEP=1
// keeps the databases (their paths printed) to look at query plans afterwards.
import Database from 'better-sqlite3';
import pg from 'pg';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { failWithOutput, serviceEnv, startChild, stopChild, waitReady } from './mint-http.js';
import { call, FRONTEND_NAME, PROJECT_ROOT, TRUST_DOMAIN, discard, fmtInt, fmtMs, fmtRatio, freePort, isMain, percentile } from './util.js';

export const SCALE_FULL = { sites: 10_000, ledgerRows: 1_000_000, revokedJtis: 100_000, auditRows: 1_000_000 };
export const SCALE_DEFAULTS = { ...SCALE_FULL, smallSites: 10, mints: 2000, mintWarmup: 300, pageRuns: 15, createConcurrency: 8, readyTimeoutMs: 120_000 };
export const GOALS = { mintRatio: 1.5, pageMs: 100, revocationMs: 1000 };

const dist = (p) => pathToFileURL(resolve(PROJECT_ROOT, 'dist', p)).href;
const siteName = (i) => `scale-${String(i).padStart(5, '0')}`;
/** The list pacing the pages are measured with (see the header). */
const PAGE_PACING = '10000';

const stats = (lat) => {
  const s = [...lat].sort((a, b) => a - b);
  return { n: s.length, p50Ms: percentile(s, 50), p99Ms: percentile(s, 99), maxMs: s[s.length - 1] };
};

/** An engine: where its database lives, how to reach it in SQL, and how to bulk-fill it. */
function sqliteEngine(dataDir) {
  const file = join(dataDir, 'glidekey.sqlite');
  return {
    name: 'SQLite',
    env: {},
    async create() {},
    async drop() {},
    async exec(fn) {
      const db = new Database(file);
      db.pragma('cache_size = -262144'); // 256 MiB for the bulk insert's index pages (this connection only)
      try {
        return fn({
          all: (sql) => db.prepare(sql).all(),
          run: (sql) => db.exec(sql),
          tx: (f) => db.transaction(f)(),
        });
      } finally {
        db.close();
      }
    },
    series: (n) => `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})`,
    seriesFrom: 'n',
    jti: `lower(hex(randomblob(16)))`,
    analyze: 'ANALYZE',
  };
}

function postgresEngine(baseUrl, which) {
  const dbName = `glidekey_scale_${process.pid}_${which}`;
  const u = new URL(baseUrl);
  const admin = u.toString();
  u.pathname = `/${dbName}`;
  const url = u.toString();
  const withClient = async (target, fn) => {
    const c = new pg.Client({ connectionString: target });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    name: 'PostgreSQL',
    env: { GLIDEKEY_DATABASE_URL: url },
    url,
    create: () => withClient(admin, (c) => c.query(`CREATE DATABASE ${dbName}`)),
    drop: () => withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)),
    async exec(fn) {
      return withClient(url, async (c) => {
        const steps = [];
        const api = {
          all: (sql) => steps.push(['all', sql]),
          run: (sql) => steps.push(['run', sql]),
          tx: (f) => (steps.push(['run', 'BEGIN']), f(), steps.push(['run', 'COMMIT'])),
        };
        // Collected, then run in order (the SQLite side is synchronous; this keeps one body for both).
        fn(api);
        let last;
        for (const [kind, sql] of steps) {
          const r = await c.query(sql);
          if (kind === 'all') last = r.rows;
        }
        return last;
      });
    },
    series: () => '',
    seriesFrom: `generate_series(0, __N__) AS n(i)`,
    jti: `md5(random()::text || clock_timestamp()::text || n.i::text)`,
    analyze: 'ANALYZE',
  };
}

/** Whether PostgreSQL answers at `url` (2 s). */
async function postgresAnswers(url) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * The big tables, by SQL alone, into the database the service migrated (service stopped). Ledger
 * row i is issued `step` ms after row i-1, the newest a minute ago, spread round-robin over every
 * site with its active key; of the newest `unexpired` rows (all within the last 20 h, so unexpired
 * for the default 24 h lifetime) two in five are revoked: exactly `revokedJtis` jtis. Audit lines
 * likewise: 90% token.mint, 8% token.renew, 1% site.update, 1% token.revoke; actor admin for one
 * in seven; one in 200 a failure, one in 200 denied.
 */
async function seed(engine, o, now) {
  const unexpired = Math.round(o.revokedJtis * 2.5);
  const step = Math.floor((20 * 3600_000) / unexpired);
  const t0 = now - 60_000 - o.ledgerRows * step;
  const a0 = now - 60_000 - o.auditRows * 100;
  const from = (n) => (engine.seriesFrom === 'n' ? 'n' : engine.seriesFrom.replace('__N__', String(n - 1)));
  const started = performance.now();
  await engine.exec((db) =>
    db.tx(() => {
      db.run('DROP TABLE IF EXISTS bench_sites');
      db.run(
        `CREATE TEMP TABLE bench_sites AS SELECT (row_number() OVER (ORDER BY s.name)) - 1 AS rn, s.id AS site_id, s.name AS name, k.id AS key_id, k.version AS version, k.kid AS kid, s.identity AS identity, s.issuer AS issuer, s.scopes AS scopes
         FROM sites s JOIN site_keys k ON k.site_id = s.id AND k.state = 'active'`,
      );
      db.run('CREATE INDEX bench_sites_rn ON bench_sites (rn)');
      const N = o.ledgerRows;
      db.run(
        `${engine.series(N)} INSERT INTO issued_tokens (jti, site_id, site_name, key_id, key_version, kid, subject, issuer, scopes, issued_at, expires_at, revoked_at, minted_by)
         SELECT ${engine.jti}, b.site_id, b.name, b.key_id, b.version, b.kid, b.identity, b.issuer, b.scopes,
                ${t0} + n.i * ${step}, ${t0} + n.i * ${step} + 86400000,
                CASE WHEN n.i >= ${N - unexpired} AND n.i % 5 < 2 THEN ${t0} + n.i * ${step} + 1000 ELSE NULL END, 'bench'
         FROM ${from(N)} JOIN bench_sites b ON b.rn = n.i % ${o.sites}`,
      );
      const A = o.auditRows;
      db.run(
        `${engine.series(A)} INSERT INTO audit_log (at, actor, action, target, result, code, request_id, detail)
         SELECT ${a0} + n.i * 100,
                CASE WHEN n.i % 7 = 0 THEN 'admin' ELSE 'bench-minter' END,
                CASE WHEN n.i % 100 < 90 THEN 'token.mint' WHEN n.i % 100 < 98 THEN 'token.renew' WHEN n.i % 100 = 98 THEN 'site.update' ELSE 'token.revoke' END,
                'site:' || b.name,
                CASE WHEN n.i % 200 = 0 THEN 'failure' WHEN n.i % 200 = 1 THEN 'denied' ELSE 'success' END,
                CASE WHEN n.i % 200 = 0 THEN 'SITE_NOT_FOUND' WHEN n.i % 200 = 1 THEN 'FORBIDDEN' ELSE NULL END,
                NULL, '{"keyVersion":1,"scopes":["READ"],"n":' || n.i || '}'
         FROM ${from(A)} JOIN bench_sites b ON b.rn = n.i % ${o.sites}`,
      );
      db.run('DROP TABLE bench_sites');
    }),
  );
  const seedMs = performance.now() - started;
  const t1 = performance.now();
  // Statistics as a running deployment has them (PostgreSQL's autovacuum analyzes a table this size on its own).
  await engine.exec((db) => db.run(engine.analyze));
  return { seedMs, analyzeMs: performance.now() - t1, deepAt: t0 + Math.floor(o.ledgerRows / 2) * step };
}

/** Starts the service over the engine's database; returns { api, call, stop, origin }. */
async function startService(dataDir, engine, o, extraEnv = {}) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = {
    ...serviceEnv(dataDir, port),
    GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
    GLIDEKEY_LIMITS_LIST_REQUESTS_PER_SECOND: PAGE_PACING,
    ...engine.env,
    ...extraEnv,
  };
  const svc = startChild(`glidekey service on ${engine.name} (node dist/main.js)`, ['dist/main.js'], env);
  const t0 = performance.now();
  try {
    await waitReady(svc, `${origin}/readyz`, o.readyTimeoutMs);
  } catch (err) {
    await stopChild(svc);
    throw failWithOutput(svc, err);
  }
  const startMs = performance.now() - t0;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const auth = { authorization: `Bearer ${readFileSync(join(dataDir, 'admin.key'), 'utf8').trim()}` };
  const api = async (method, path, body, expect) => {
    const r = await call(agent, origin, method, `/api/v1${path}`, auth, body === undefined ? undefined : JSON.stringify(body));
    if (r.status !== expect) throw failWithOutput(svc, new Error(`${method} ${path} answered ${r.status}: ${r.body.slice(0, 300)}`));
    return r.body ? JSON.parse(r.body) : null;
  };
  const timed = async (method, path, expect, body) => {
    const s = performance.now();
    const r = await call(agent, origin, method, `/api/v1${path}`, auth, body);
    const ms = performance.now() - s;
    if (r.status !== expect) throw failWithOutput(svc, new Error(`${method} ${path} answered ${r.status}: ${r.body.slice(0, 300)}`));
    return { ms, body: r.body };
  };
  return {
    origin,
    startMs,
    api,
    timed,
    stop: async () => {
      agent.destroy();
      await stopChild(svc);
    },
  };
}

/** Sites from..to-1 through POST /sites, `concurrency` in flight; the p50 of the first and the last tenth show how creation grows with the sites already there. */
async function createSites(svc, from, to, concurrency) {
  let next = from;
  const t0 = performance.now();
  const lat = new Array(to - from);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) {
        const i = next++;
        const s = performance.now();
        await svc.api('POST', '/sites', { name: siteName(i) }, 201);
        lat[i - from] = performance.now() - s;
      }
    }),
  );
  const ms = performance.now() - t0;
  const tenth = Math.max(1, Math.floor(lat.length / 10));
  return {
    count: to - from,
    ms,
    perSecond: ((to - from) * 1000) / ms,
    ...stats(lat),
    firstTenthP50Ms: stats(lat.slice(0, tenth)).p50Ms,
    lastTenthP50Ms: stats(lat.slice(-tenth)).p50Ms,
  };
}

/**
 * Sequential mints over the first `smallSites` sites (the same names in both databases), one on
 * the small database's service, one on the big one's, in ABBA order, so that the shared machine's
 * changing load falls on both alike.
 */
async function mints(small, big, o) {
  const one = (svc, i) => svc.timed('POST', `/sites/${siteName(i % o.smallSites)}/tokens`, 201, '{}');
  const lat = { small: [], big: [] };
  for (let i = 0; i < o.mintWarmup + o.mints; i++) {
    for (const [k, svc] of i % 2
      ? [
          ['big', big],
          ['small', small],
        ]
      : [
          ['small', small],
          ['big', big],
        ]) {
      const { ms } = await one(svc, i);
      if (i >= o.mintWarmup) lat[k].push(ms);
    }
  }
  return { small: stats(lat.small), big: stats(lat.big) };
}

/** The listed pages: each warmed up twice, then `pageRuns` timed requests one at a time, alternating small and big. */
async function pages(small, big, o, deep) {
  const list = [
    ['GET /tokens first page', () => '/tokens'],
    ['GET /tokens deep cursor', (d) => `/tokens?cursor=${d.at}:${'f'.repeat(32)}`],
    ['GET /tokens site=', () => `/tokens?site=${siteName(3)}`],
    ['GET /tokens state=revoked', () => '/tokens?state=revoked'],
    ['GET /audit first page', () => '/audit'],
    ['GET /audit deep before=', (d) => `/audit?before=${d.auditId}`],
    ['GET /audit action=', () => '/audit?action=token.revoke'],
    ['GET /audit actor=', () => '/audit?actor=admin'],
    ['GET /audit target=', () => `/audit?target=site:${siteName(3)}`],
    ['GET /audit result=', () => '/audit?result=failure'],
  ];
  const out = { small: {}, big: {} };
  for (const [label, pathOf] of list) {
    const sides = [
      ['small', small, pathOf(deep.small)],
      ['big', big, pathOf(deep.big)],
    ];
    const rows = {};
    const lat = { small: [], big: [] };
    for (let i = 0; i < 2; i++) {
      for (const [k, svc, path] of sides) {
        const b = JSON.parse((await svc.timed('GET', path, 200)).body);
        rows[k] = (b.tokens ?? b.entries).length;
      }
    }
    for (let i = 0; i < o.pageRuns; i++) for (const [k, svc, path] of i % 2 ? [...sides].reverse() : sides) lat[k].push((await svc.timed('GET', path, 200)).ms);
    for (const [k, , path] of sides) out[k][label] = { path, rows: rows[k], ...stats(lat[k]) };
  }
  return out;
}

/** A loop of list requests under the default pacing (50 a second, bursts of 50): the cause of a flat ~20 ms per list request. */
async function pacingCheck(dataDir, engine, o, start, stop) {
  const svc = await start('small', { GLIDEKEY_LIMITS_LIST_REQUESTS_PER_SECOND: '50' });
  try {
    // Long enough to spend the burst however fast each request is (the bucket refills at 50 a second meanwhile).
    const lat = [];
    const until = performance.now() + 4000;
    while (performance.now() < until && lat.length < 1000) lat.push((await svc.timed('GET', '/tokens?limit=1', 200)).ms);
    return { burst: stats(lat.slice(0, 40)), paced: stats(lat.slice(-40)) };
  } finally {
    await stop(svc);
  }
}

/** The service's own code in this process, on the same database (service stopped): revocation expression, passwords.d sync. */
async function inProcess(dataDir, engine) {
  const [{ createApp }, { loadConfig }, { TokensService }, { PasswordsDirService }] = await Promise.all([
    import(dist('bootstrap.js')),
    import(dist('config/config.loader.js')),
    import(dist('tokens/tokens.service.js')),
    import(dist('passwords-dir/passwords-dir.service.js')),
  ]);
  const passwordsDir = mkdtempSync(join(tmpdir(), 'glidekey-bench-scale-passwords-'));
  const config = loadConfig({
    GLIDEKEY_DATA_DIR: dataDir,
    GLIDEKEY_TRUST_DOMAIN: TRUST_DOMAIN,
    GLIDEKEY_FRONTEND_NAME: FRONTEND_NAME,
    GLIDEKEY_LOG_LEVEL: 'warn',
    GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
    GLIDEKEY_FRONTEND_PASSWORDS_DIR: passwordsDir,
    ...engine.env,
  });
  let app;
  try {
    app = await createApp(config, { logDestination: discard() });
    const tokens = app.get(TokensService);
    const passwords = app.get(PasswordsDirService);
    // The start-up sync into the empty directory is the full sync: every site's key file written.
    const syncs = [];
    const sync = passwords.sync.bind(passwords);
    passwords.sync = async (reason) => {
      const t0 = performance.now();
      const r = await sync(reason);
      syncs.push({ reason, ms: performance.now() - t0, report: r });
      return r;
    };
    const i0 = performance.now();
    await app.init();
    const initMs = performance.now() - i0;
    const full = syncs.find((x) => x.reason === 'startup');
    const files = readdirSync(passwordsDir).length;
    if (!full || full.report.repaired.length !== files || files < 1)
      throw new Error(`the start-up sync wrote ${full?.report.repaired.length} files, the directory holds ${files}`);
    // Nothing changed: every key opened, every file read back and compared (what each key change costs).
    const s0 = performance.now();
    await passwords.sync('tick');
    const steadyMs = performance.now() - s0;
    const rev = [];
    const setLat = [];
    let jtis = 0;
    let bytes = 0;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const { expr, set } = await tokens.revocationExpression();
      rev.push(performance.now() - t0);
      jtis = set.jtis.length;
      bytes = Buffer.byteLength(expr);
      // Its first part alone: the database read of the revoked, unexpired jtis and live subject rules.
      const s1 = performance.now();
      await tokens.revocationSet();
      setLat.push(performance.now() - s1);
    }
    const fullMs = full.ms;
    return {
      initMs,
      revocation: { jtis, bytes, ...stats(rev), setP50Ms: stats(setLat).p50Ms },
      passwords: { files, fullMs, perFileMs: fullMs / files, steadyMs },
    };
  } finally {
    if (app) await app.close().catch((err) => console.error('app.close failed:', err));
    rmSync(passwordsDir, { recursive: true, force: true });
  }
}

async function runEngine(kind, o) {
  const dirs = { small: mkdtempSync(join(tmpdir(), 'glidekey-bench-scale-small-')), big: mkdtempSync(join(tmpdir(), 'glidekey-bench-scale-big-')) };
  const engines =
    kind === 'sqlite'
      ? { small: sqliteEngine(dirs.small), big: sqliteEngine(dirs.big) }
      : { small: postgresEngine(o.postgresUrl, 'small'), big: postgresEngine(o.postgresUrl, 'big') };
  const name = engines.small.name;
  const log = (s) => console.log(`[${name}] ${s}`);
  const running = [];
  const start = async (which, env) => {
    const svc = await startService(dirs[which], engines[which], o, env);
    running.push(svc);
    return svc;
  };
  const stop = async (svc) => {
    running.splice(running.indexOf(svc), 1);
    await svc.stop();
  };
  try {
    for (const e of Object.values(engines)) await e.create();
    // ---- the small database: 10 sites through the API ----
    let svc = await start('small');
    await createSites(svc, 0, o.smallSites, 1);
    await stop(svc);
    // ---- the big one: every site through the API, then the big tables by SQL ----
    svc = await start('big');
    const create = await createSites(svc, 0, o.sites, o.createConcurrency);
    log(
      `${fmtInt(create.count)} sites created through POST /sites in ${fmtMs(create.ms / 1000)} s (${fmtInt(create.perSecond)}/s, ${o.createConcurrency} in flight, p50 ${fmtMs(create.p50Ms)} ms, first tenth p50 ${fmtMs(create.firstTenthP50Ms)} ms, last tenth ${fmtMs(create.lastTenthP50Ms)} ms)`,
    );
    await stop(svc);
    const seeded = await seed(engines.big, o, Date.now());
    log(
      `${fmtInt(o.ledgerRows)} ledger rows (${fmtInt(o.revokedJtis)} revoked) and ${fmtInt(o.auditRows)} audit lines inserted by SQL in ${fmtMs(seeded.seedMs / 1000)} s (ANALYZE ${fmtMs(seeded.analyzeMs / 1000)} s)`,
    );
    const auditMax = await engines.big.exec((db) => db.all('SELECT MAX(id) AS m FROM audit_log'));

    // ---- both services side by side: mints and pages, alternating ----
    const small = await start('small');
    const big = await start('big');
    log(`services ready (big database: ${fmtMs(big.startMs / 1000)} s, small: ${fmtMs(small.startMs / 1000)} s)`);
    const mint = await mints(small, big, o);
    const pg = await pages(small, big, o, {
      small: { at: Date.now() - 3600_000, auditId: 2 },
      big: { at: seeded.deepAt, auditId: Math.floor(Number(auditMax[0].m) / 2) },
    });
    await stop(big);
    await stop(small);
    const pacing = kind === 'sqlite' ? await pacingCheck(dirs.small, engines.small, o, start, stop) : undefined;

    // ---- the service's own code in this process, one database after the other ----
    const smallIn = await inProcess(dirs.small, engines.small);
    const bigIn = await inProcess(dirs.big, engines.big);
    return {
      engine: name,
      create,
      seeded,
      small: { mint: mint.small, pages: pg.small, ...smallIn },
      scale: { mint: mint.big, pages: pg.big, ...bigIn },
      pacing,
    };
  } finally {
    for (const svc of [...running]) await svc.stop().catch(() => undefined);
    if (process.env.BENCH_SCALE_KEEP) {
      // For looking at query plans afterwards: the data directories (and PostgreSQL databases) stay.
      log(
        `kept: ${Object.values(dirs).join(' ')}${
          kind === 'sqlite'
            ? ''
            : ` ${Object.values(engines)
                .map((e) => e.url)
                .join(' ')}`
        }`,
      );
    } else {
      for (const e of Object.values(engines)) await e.drop().catch((err) => console.error(`dropping the ${e.name} database failed: ${err.message}`));
      for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
    }
  }
}

/** The figures of one engine: value, small-database baseline, ratio, goal. */
function report(r, o) {
  const rows = [];
  const add = (figure, big, small, goal) => rows.push({ figure, big, small, ratio: big / small, goal });
  const s = r.small;
  const b = r.scale;
  add('mint p50 (ms)', b.mint.p50Ms, s.mint.p50Ms, { text: `ratio <= ${GOALS.mintRatio}`, met: b.mint.p50Ms / s.mint.p50Ms <= GOALS.mintRatio });
  add('mint p99 (ms)', b.mint.p99Ms, s.mint.p99Ms, { text: `ratio <= ${GOALS.mintRatio}`, met: b.mint.p99Ms / s.mint.p99Ms <= GOALS.mintRatio });
  for (const [label, p] of Object.entries(b.pages))
    add(`${label} p50 (ms)`, p.p50Ms, s.pages[label].p50Ms, {
      text: `< ${GOALS.pageMs} ms (max ${fmtMs(p.maxMs)}, ${p.rows} rows)`,
      met: p.p50Ms < GOALS.pageMs,
    });
  add(`revocation expression, ${fmtInt(b.revocation.jtis)} jtis (ms)`, b.revocation.p50Ms, s.revocation.p50Ms, {
    text: `< ${GOALS.revocationMs} ms (${(b.revocation.bytes / 1e6).toFixed(2)} MB)`,
    met: b.revocation.p50Ms < GOALS.revocationMs,
  });
  add('revocation set query (ms)', b.revocation.setP50Ms, s.revocation.setP50Ms, null);
  add(`passwords.d full sync (start-up), ${fmtInt(b.passwords.files)} files (ms)`, b.passwords.fullMs, s.passwords.fullMs, null);
  add('passwords.d full sync per file (ms)', b.passwords.perFileMs, s.passwords.perFileMs, null);
  add('passwords.d sync, nothing changed (ms)', b.passwords.steadyMs, s.passwords.steadyMs, null);
  console.log(
    `\n${r.engine}: ${fmtInt(o.sites)} sites, ${fmtInt(o.ledgerRows)} ledger rows, ${fmtInt(o.revokedJtis)} revoked jtis, ${fmtInt(o.auditRows)} audit lines vs ${o.smallSites} sites (pages measured with limits.listRequestsPerSecond ${PAGE_PACING})`,
  );
  const w = Math.max(...rows.map((x) => x.figure.length));
  for (const x of rows) {
    const g = x.goal ? `${x.goal.met ? 'MET   ' : 'MISSED'} ${x.goal.text}` : 'no goal';
    console.log(
      `  ${x.figure.padEnd(w)}  scale ${fmtMs(x.big).padStart(8)}  small ${fmtMs(x.small).padStart(8)}  ratio ${fmtRatio(x.ratio).padStart(8)}  ${g}`,
    );
  }
  console.log(
    `  site creation through POST /sites: ${fmtInt(r.create.count)} in ${fmtMs(r.create.ms / 1000)} s (${fmtInt(r.create.perSecond)}/s, ${o.createConcurrency} in flight; p50 ${fmtMs(r.create.p50Ms)} ms, p99 ${fmtMs(r.create.p99Ms)} ms; first tenth p50 ${fmtMs(r.create.firstTenthP50Ms)} ms, last tenth ${fmtMs(r.create.lastTenthP50Ms)} ms, ratio ${fmtRatio(r.create.lastTenthP50Ms / r.create.firstTenthP50Ms)}); SQL seed ${fmtMs(r.seeded.seedMs / 1000)} s`,
  );
  console.log(`  in-process start-up (app.init, including that full sync): scale ${fmtMs(b.initMs)} ms, small ${fmtMs(s.initMs)} ms`);
  if (r.pacing) {
    console.log(
      `  list pacing at the default 50/s: GET /tokens?limit=1 in a tight loop p50 ${fmtMs(r.pacing.burst.p50Ms)} ms for the first 40 (the burst), p50 ${fmtMs(r.pacing.paced.p50Ms)} ms for the last 40 of a 4-second loop (each waits its turn)`,
    );
  }
  return rows;
}

export async function runScale(opts = {}) {
  const quick = opts.quick ?? false;
  const o = {
    ...SCALE_DEFAULTS,
    ...(quick ? { sites: 500, ledgerRows: 50_000, revokedJtis: 5_000, auditRows: 50_000, mints: 200, mintWarmup: 50, pageRuns: 5 } : {}),
    ...opts,
  };
  const engines = [];
  if (!o.postgresOnly) engines.push('sqlite');
  if (!o.sqliteOnly) {
    const url = process.env.GLIDEKEY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    if (await postgresAnswers(url)) {
      o.postgresUrl = url;
      engines.push('postgres');
    } else console.log(`PostgreSQL: skipped (nothing answers at ${url.replace(/\/\/[^@]*@/, '//')}; set GLIDEKEY_BENCH_POSTGRES_URL)`);
  }
  const results = {};
  for (const e of engines) {
    const r = await runEngine(e, o);
    results[e] = { ...r, figures: report(r, o) };
  }
  return results;
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const known = ['--quick', '--sqlite-only', '--postgres-only'];
  const bad = args.filter((a) => !known.includes(a));
  if (bad.length) {
    console.error(`unknown option(s) ${bad.join(' ')}; known: ${known.join(' ')}`);
    process.exit(2);
  }
  runScale({ quick: args.includes('--quick'), sqliteOnly: args.includes('--sqlite-only'), postgresOnly: args.includes('--postgres-only') }).catch((err) => {
    if (!err.reported) console.error('scale benchmark failed:', err);
    process.exitCode = 1;
  });
}
