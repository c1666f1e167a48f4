import { Db } from '../../src/database/db.js';
import { startTestApp, TestApp } from '../support/app.js';
import { factorySetup, fetchCredentials, mintToken, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

/** The little of better-sqlite3's connection these tests touch (it ships no types). */
interface Statement {
  all: (...params: unknown[]) => unknown[];
}
interface Database {
  prepare: (sql: string) => Statement;
}

/** Counts units of work on the database (read and tx), passing each through unchanged. */
function countDbWork(db: Db): { n: () => number; stop: () => void } {
  let n = 0;
  const read = db.read.bind(db);
  const tx = db.tx.bind(db);
  db.read = ((fn) => (n++, read(fn))) as Db['read'];
  db.tx = ((fn) => (n++, tx(fn))) as Db['tx'];
  return { n: () => n, stop: () => ((db.read = read), (db.tx = tx)) };
}

/** Records every SQLite statement run (SQL and parameters) while `fn` runs. */
async function recordSql(t: TestApp, fn: () => Promise<unknown>): Promise<{ sql: string; params: unknown[] }[]> {
  const conn = (t.db.dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection;
  const prepare = conn.prepare.bind(conn);
  const seen: { sql: string; params: unknown[] }[] = [];
  conn.prepare = ((sql: string) => {
    const stmt = prepare(sql);
    const all = stmt.all.bind(stmt);
    stmt.all = (...params: unknown[]) => (seen.push({ sql, params }), all(...params));
    return stmt;
  }) as Database['prepare'];
  try {
    await fn();
  } finally {
    conn.prepare = prepare;
  }
  return seen;
}

describe('no caller amplifies its cost onto others', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let auditor: string;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
        GLIDEKEY_TICKETS_FAILURE_LIMIT: '3',
        GLIDEKEY_TICKETS_LIMITED_LOOKUPS_PER_SECOND: '2',
        GLIDEKEY_METRICS_CACHE_SECONDS: '60',
        GLIDEKEY_LIMITS_METRICS_REQUESTS_PER_SECOND: '10000',
        GLIDEKEY_LIMITS_LIST_REQUESTS_PER_SECOND: '10000',
      },
    });
    api = client(t.api, t.adminKey);
    auditor = (await api.post('/apikeys', { name: 'costs-auditor', roles: ['auditor'] })).json.apiKey;
    const { frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' });
    const token = await mintToken(t, 'SiteA');
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
    // The deliverer's start-up pass (ForwardingCron: wake(200) after bootstrap) reads and writes the
    // database; in a warm jest worker the setup above takes less than 200 ms, and that pass then fell
    // into the no-database window below. Let it run first.
    await new Promise((r) => setTimeout(r, 500));
  });
  afterAll(() => t?.close());

  describe('/metrics', () => {
    const scrape = (key?: string) => fetch(`${t.url}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

    it('needs a role by default (metrics.public is false)', async () => {
      const anonymous = await scrape();
      expect([anonymous.status, ((await anonymous.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHENTICATED']);
      expect((await scrape(auditor)).status).toBe(200);
    });

    it('reads the database at most once per cacheSeconds, however many scrape, concurrently or not', async () => {
      await (await scrape(auditor)).text();
      const work = countDbWork(t.db);
      try {
        const texts = await Promise.all(Array.from({ length: 4 }, async () => (await scrape(auditor)).text()));
        for (let i = 0; i < 10; i++) texts.push(await (await scrape(auditor)).text());
        for (const text of texts) expect(text).toContain('glidekey_tickets_outstanding');
        // Within the cache time no scrape reaches the database (the API-key check does not go through Db).
        expect(work.n()).toBe(0);
      } finally {
        work.stop();
      }
    });

    it('exports the factory cache in aggregate: no series per credential', async () => {
      for (let i = 0; i < 50; i++)
        await seedCache(t, { frontend: 'fe.example.org', entry: `X${i}`, type: 'idtoken', value: `v${i}`, expiresAt: t.clock.now() + (7 * 86_400 + i) * 1000 });
      await seedCache(t, { frontend: 'fe.example.org', entry: 'Y', type: 'scitoken', value: 'soon', expiresAt: t.clock.now() + 60_000 });
      const fresh = await startTestAppSharing(t);
      try {
        const text = await (await fetch(`${fresh.url}/metrics`, { headers: { authorization: `Bearer ${fresh.adminKey}` } })).text();
        const series = text.split('\n').filter((l) => l.startsWith('glidekey_factory_credential'));
        expect(series.filter((l) => l.includes('entry='))).toEqual([]);
        expect(text).toMatch(/^glidekey_factory_credential_min_seconds_to_expiry\{type="scitoken"\} 60$/m);
        expect(text).toMatch(/^glidekey_factory_credentials\{state="valid",type="idtoken"\} 51$/m);
        expect(text).toMatch(/^glidekey_factory_credentials\{state="expiring",type="scitoken"\} 1$/m);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('rate-limited bad tickets', () => {
    it('are answered 429 before any database work, changing nothing; valid tickets still get through at the allowance', async () => {
      const tickets: string[] = (await api.post('/factory/entries/E1/tickets', { frontend: 'fe.example.org', count: 2 })).json.tickets;
      const before = await t.db.read((m) => m.query('SELECT id, consumed_at FROM glidein_tickets ORDER BY id'));
      const bad = `gkt_${'2'.repeat(16)}_${'C'.repeat(43)}`;
      for (let i = 0; i < 4; i++) await fetchCredentials(t, bad);
      t.clock.advance(1);
      const work = countDbWork(t.db);
      let statuses: number[];
      try {
        statuses = [];
        for (let i = 0; i < 200; i++) statuses.push((await fetchCredentials(t, bad)).status);
      } finally {
        work.stop();
      }
      expect(new Set(statuses)).toEqual(new Set([429]));
      // tickets.limitedLookupsPerSecond = 2 in this clock second: one lookup each, nothing else.
      expect(work.n()).toBe(2);
      expect(await t.db.read((m) => m.query('SELECT id, consumed_at FROM glidein_tickets ORDER BY id'))).toEqual(before);
      // A new second: a valid ticket from the limited address is served within the allowance.
      t.clock.advance(1);
      expect((await fetchCredentials(t, tickets[0])).status).toBe(200);
      t.clock.advance(60);
    });
  });

  describe('deep JSON', () => {
    it('is refused with 400 JSON_TOO_DEEP before parsing, quickly, storing nothing', async () => {
      const sites = async () => (await api.get('/sites')).json;
      const before = await sites();
      const body = `{"name":"deep","rotation":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
      const start = performance.now();
      const res = await api.raw('POST', '/sites', body);
      const ms = performance.now() - start;
      expect([res.status, res.json.error.code]).toEqual([400, 'JSON_TOO_DEEP']);
      expect(ms).toBeLessThan(100);
      expect(await sites()).toEqual(before);
      // Brackets inside strings are not nesting.
      const ok = await api.raw('POST', '/sites', JSON.stringify({ name: 'shallow', issuer: 'x'.repeat(10) + '['.repeat(100) }));
      expect(ok.json?.error?.code).not.toBe('JSON_TOO_DEEP');
    });
  });

  describe('lists', () => {
    beforeAll(async () => {
      for (let i = 0; i < 3; i++) await mintToken(t, 'SiteA');
    });

    it.each([
      '/tokens',
      '/tokens?site=SiteA',
      '/tokens?state=revoked',
      '/tokens?site=SiteA&state=expired',
      '/tokens?site=SiteA&cursor=1:' + 'f'.repeat(32),
      `/tokens?cursor=${Date.now() + 86_400_000}:${'f'.repeat(32)}`,
      '/audit',
      '/audit?action=site.create',
      '/audit?actor=admin',
      '/audit?target=site:SiteA',
      '/audit?result=failure',
      '/deliveries',
      '/deliveries?factory=f1',
      '/deliveries?entry=E1',
      '/deliveries?state=pending',
    ])('%s never sorts a whole table, and a filter reads an index (SQLite query plans)', async (path) => {
      const conn = (t.db.dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection;
      const seen = await recordSql(t, async () => expect((await client(t.api, auditor).get(path)).status).toBe(200));
      const lists = seen.filter((s) => /FROM "(issued_tokens|audit_log|deliveries)"/.test(s.sql));
      expect(lists.length).toBe(1);
      const plan = (conn.prepare(`EXPLAIN QUERY PLAN ${lists[0].sql}`).all(...lists[0].params) as { detail: string }[]).map((p) => p.detail);
      // A full sort is refused; SQLite's "FOR LAST TERM / RIGHT PART OF ORDER BY" only orders ties of the index order, and stops at the limit.
      expect([path, plan.filter((d) => /TEMP B-TREE FOR ORDER BY|TEMP B-TREE FOR (GROUP|DISTINCT)/.test(d))]).toEqual([path, []]);
      // Unfiltered, a scan in index (or rowid) order is right: the limit stops it. Filtered, it must be an index search.
      // (A ledger state filter walks the ordered index and stops at the limit: see README, "Costs".)
      // A cursor must start the walk at the cursor (a range on the index), not at the newest row.
      if (path.includes('?') && !path.startsWith('/tokens?state'))
        expect([path, plan[0]]).toEqual([path, expect.stringMatching(/^SEARCH \S+ USING (COVERING )?INDEX/)]);
      // The revoked rows have their own index in list order (migration RevokedTokensIndex): a page reads only its own rows.
      if (path === '/tokens?state=revoked') expect([path, plan[0]]).toEqual([path, expect.stringMatching(/^SCAN t USING INDEX issued_tokens_revoked_issued$/)]);
    });

    it('the revocation expression reads the revoked, unexpired rows from their partial index alone (SQLite query plan)', async () => {
      const conn = (t.db.dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection;
      const seen = await recordSql(t, async () => expect((await client(t.api, auditor).get('/revocations/condor')).status).toBe(200));
      const reads = seen.filter((s) => /FROM "issued_tokens"/.test(s.sql) && /revoked_at/.test(s.sql));
      expect(reads.length).toBe(1);
      const plan = (conn.prepare(`EXPLAIN QUERY PLAN ${reads[0].sql}`).all(...reads[0].params) as { detail: string }[]).map((p) => p.detail);
      // A range of the partial index, covering: neither the unexpired tokens that are not revoked nor the table itself.
      expect(plan).toEqual([expect.stringMatching(/^SEARCH \S+ USING COVERING INDEX issued_tokens_revoked_expires \(expires_at>\?\)$/)]);
    });
  });
});

/** A second app over the same data directory and database, with a cold metrics cache. */
async function startTestAppSharing(t: TestApp): Promise<TestApp> {
  return startTestApp({ dataDir: t.dataDir, clock: t.clock });
}
