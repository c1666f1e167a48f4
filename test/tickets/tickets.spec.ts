import { GlideinService } from '../../src/glidein/glidein.service.js';
import { TicketsService } from '../../src/tickets/tickets.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { factorySetup, fetchCredentials, mintToken, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

const REFUSED = 'the ticket is not valid: unknown, already used, or expired';
/** The secret half of a ticket (base64url may itself hold '_'). */
const secretOf = (ticket: string) => ticket.slice('gkt_0123456789abcdef_'.length);

describe.each(ENGINES)('glidein tickets on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let frontend: string;
  let token: { token: string; expiresAt: number };
  const issued: string[] = [];

  const issue = async (body: Record<string, unknown>, entry = 'E1', query = '') => {
    const res = await api.post(`/factory/entries/${entry}/tickets${query}`, { frontend, ...body });
    if (res.status === 201 && res.json?.tickets) issued.push(...res.json.tickets);
    return res;
  };
  const one = async (entry = 'E1') => (await issue({ count: 1 }, entry)).json.tickets[0] as string;
  const consumedAt = async (ticket: string) => {
    const rows = await t.db.read((m) => m.query(`SELECT consumed_at FROM glidein_tickets WHERE id = '${ticket.split('_')[1]}'`));
    return rows.length ? rows[0].consumed_at : 'gone';
  };

  beforeAll(async () => {
    t = await startTestApp({
      engine,
      env: {
        GLIDEKEY_TICKETS_MAX_COUNT: '200',
        GLIDEKEY_TICKETS_MAX_TTL_SECONDS: '86400',
        GLIDEKEY_TICKETS_DEFAULT_TTL_SECONDS: '3600',
        GLIDEKEY_TICKETS_FAILURE_LIMIT: '100000',
        GLIDEKEY_METRICS_CACHE_SECONDS: '0',
      },
    });
    api = client(t.api, t.adminKey);
    ({ frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' }));
    token = await mintToken(t, 'SiteA');
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
  });
  afterAll(() => t?.close());

  describe('issuing', () => {
    it('returns count distinct tickets in the id_secret format, once, with the default TTL', async () => {
      const res = await issue({ count: 5 });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ entry: 'E1', frontend, count: 5, batch: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(Date.parse(res.json.expiresAt)).toBe(t.clock.now() + 3600_000);
      expect(res.json.tickets).toHaveLength(5);
      expect(new Set(res.json.tickets).size).toBe(5);
      for (const k of res.json.tickets) expect(k).toMatch(/^gkt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('caps the TTL and the count by config, and refuses bad input with 400 naming the field, storing nothing', async () => {
      const before = (await t.db.read((m) => m.query('SELECT COUNT(*) AS n FROM glidein_tickets')))[0].n;
      const cases: [Record<string, unknown>, string, string][] = [
        [{ count: 0 }, 'VALIDATION_FAILED', 'count'],
        [{ count: 201 }, 'VALIDATION_FAILED', 'count'],
        [{ count: 1.5 }, 'VALIDATION_FAILED', 'count'],
        [{ count: '3' }, 'VALIDATION_FAILED', 'count'],
        [{ count: 1, ttlSeconds: 86_401 }, 'VALIDATION_FAILED', 'ttlSeconds'],
        [{ count: 1, ttlSeconds: 0 }, 'VALIDATION_FAILED', 'ttlSeconds'],
        [{ count: 1, colour: 'blue' }, 'UNKNOWN_FIELD', 'colour'],
        [{ count: 1, frontend: 'a b' }, 'VALIDATION_FAILED', 'frontend'],
      ];
      for (const [body, code, field] of cases) {
        const res = await issue(body);
        expect([JSON.stringify(body), res.status, res.json.error.code, res.json.error.field]).toEqual([JSON.stringify(body), 400, code, field]);
      }
      const bad = await api.post('/factory/entries/a%20b/tickets', { frontend, count: 1 });
      expect([bad.status, bad.json.error.field]).toEqual([400, 'entry']);
      const noEntry = await issue({ count: 1 }, 'nope');
      expect([noEntry.status, noEntry.json.error.code]).toEqual([404, 'ENTRY_NOT_FOUND']);
      const noFrontend = await issue({ count: 1, frontend: 'stranger.example.org' });
      expect([noFrontend.status, noFrontend.json.error.code]).toEqual([404, 'FRONTEND_NOT_FOUND']);
      expect((await t.db.read((m) => m.query('SELECT COUNT(*) AS n FROM glidein_tickets')))[0].n).toEqual(before);
      const max = await issue({ count: 200, ttlSeconds: 86_400 });
      expect([max.status, max.json.tickets.length, Date.parse(max.json.expiresAt)]).toEqual([201, 200, t.clock.now() + 86_400_000]);
    });

    it('is for factory admins only', async () => {
      const keys = client(t.api, t.adminKey);
      const auditor = (await keys.post('/apikeys', { name: 'tickets-auditor', roles: ['auditor'] })).json.apiKey;
      expect((await client(t.api, auditor).post('/factory/entries/E1/tickets', { frontend, count: 1 })).status).toBe(403);
      expect((await client(t.api).post('/factory/entries/E1/tickets', { frontend, count: 1 })).status).toBe(401);
    });

    it('offers a submit-description form: one environment assignment and queue statement per ticket', async () => {
      const res = await api.post('/factory/entries/E1/tickets?format=condor', { frontend, count: 3 });
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const lines = res.text.trimEnd().split('\n');
      const body = lines.filter((l) => !l.startsWith('#'));
      expect(body).toHaveLength(6);
      for (let i = 0; i < 3; i++) {
        expect(body[2 * i]).toMatch(/^environment = "GLIDEKEY_TICKET=gkt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}"$/);
        expect(body[2 * i + 1]).toBe('queue 1');
      }
      const ticket = /GLIDEKEY_TICKET=(\S+)"/.exec(body[0])![1];
      issued.push(ticket);
      expect((await fetchCredentials(t, ticket)).status).toBe(200);
      expect((await api.post('/factory/entries/E1/tickets?format=xml', { frontend, count: 1 })).status).toBe(400);
    });

    it('stores only a hash of each secret, and no secret reaches the audit log, the logs or the metrics', async () => {
      const res = await issue({ count: 3 });
      const rows = JSON.stringify(await t.db.read((m) => m.query('SELECT * FROM glidein_tickets')));
      const audit = JSON.stringify(await t.db.read((m) => m.query('SELECT * FROM audit_log')));
      const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
      for (const k of issued) {
        // (a boolean, so that a failure does not print the haystack)
        for (const [name, haystack] of Object.entries({ rows, audit, metrics, logs: t.logs() }))
          expect([name, haystack.includes(secretOf(k))]).toEqual([name, false]);
      }
      expect(rows).toContain(res.json.tickets[0].split('_')[1]);
      const line = (await api.get('/audit?action=ticket.issue&limit=1')).json.entries[0];
      expect(line).toMatchObject({ target: 'entry:E1', result: 'success', detail: { frontend, batch: res.json.batch, count: 3, ttlSeconds: 3600 } });
    });
  });

  describe('fetching', () => {
    it("trades a ticket for the entry's current IDTOKEN once; the token verifies at the frontend", async () => {
      const ticket = await one();
      const res = await fetchCredentials(t, ticket);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        site: 'SiteA',
        entry: 'E1',
        idtoken: token.token,
        expiresAt: new Date(token.expiresAt).toISOString(),
        renewal: expect.stringMatching(/^gkr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/),
        renewalExpiresAt: new Date(t.clock.now() + 604_800_000).toISOString(),
        renewInSeconds: Math.floor(((token.expiresAt - t.clock.now()) * 2) / 3 / 1000),
      });
      const verified = await api.post('/tokens/verify', { token: res.json.idtoken });
      expect(verified.json).toMatchObject({ valid: true, site: 'SiteA' });
      const again = await fetchCredentials(t, ticket);
      expect([again.status, again.json.error]).toEqual([401, { code: 'TICKET_INVALID', message: REFUSED }]);
      expect(await consumedAt(ticket)).not.toBeNull();
      const audit = (await api.get('/audit?action=ticket.consume&limit=1')).json.entries[0];
      expect(audit).toMatchObject({
        actor: `ticket:${ticket.split('_')[1]}`,
        target: 'entry:E1',
        detail: { ticket: ticket.split('_')[1], address: '127.0.0.1', site: 'SiteA' },
      });
      expect(JSON.stringify(audit)).not.toContain(secretOf(ticket));
    });

    it('gives unknown, used, expired, malformed, tampered, missing tickets and API keys the same 401', async () => {
      const used = await one();
      expect((await fetchCredentials(t, used)).status).toBe(200);
      const expiring = (await issue({ count: 1, ttlSeconds: 60 })).json.tickets[0];
      t.clock.advance(61);
      const real = await one();
      const tampered = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A');
      const bearers = [used, expiring, `gkt_${'0'.repeat(16)}_${'A'.repeat(43)}`, 'gkt_short', tampered, t.adminKey, 'x'.repeat(400), undefined];
      for (const b of bearers) {
        const res = await fetchCredentials(t, b);
        expect([b?.slice(0, 8), res.status, res.json.error]).toEqual([b?.slice(0, 8), 401, { code: 'TICKET_INVALID', message: REFUSED }]);
      }
      // The tampered ticket's real twin still works: a wrong secret does not burn the ticket.
      expect((await fetchCredentials(t, real)).status).toBe(200);
    });

    it('of 50 concurrent fetches with one ticket, exactly one succeeds', async () => {
      const ticket = await one();
      const results = await Promise.all(Array.from({ length: 50 }, () => fetchCredentials(t, ticket)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(49);
      const consumes = (await api.get('/audit?action=ticket.consume&limit=500')).json.entries.filter(
        (e: { actor: string }) => e.actor === `ticket:${ticket.split('_')[1]}`,
      );
      expect(consumes).toHaveLength(1);
    });

    it('of 50 fetches started in the same tick (all past the ticket check before any consumes), exactly one succeeds', async () => {
      const ticket = await one();
      const glidein = t.app.get(GlideinService);
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => glidein.fetch(ticket, `192.0.2.${i}`)));
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
      const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []));
      expect(codes).toEqual(Array(49).fill('TICKET_INVALID'));
    });

    it('answers 503 CREDENTIAL_STALE without consuming when the cached token is too short-lived or missing, and serves the same ticket once a fresh one arrives', async () => {
      await factorySetup(t, { entry: 'E2', site: 'SiteB' });
      const ticket = await one('E2');
      const none = await fetchCredentials(t, ticket);
      expect([none.status, none.json.error.code, none.headers.get('retry-after')]).toEqual([503, 'CREDENTIAL_STALE', '60']);
      const short = await mintToken(t, 'SiteB', 300); // under tickets.minTokenLifetimeSeconds (600)
      await seedCache(t, { frontend, entry: 'E2', type: 'idtoken', value: short.token, expiresAt: short.expiresAt });
      expect((await fetchCredentials(t, ticket)).status).toBe(503);
      expect(await consumedAt(ticket)).toBeNull();
      // One audit line per ticket, not one per retry.
      const stale = (await api.get('/audit?action=ticket.refuse&limit=100')).json.entries.filter(
        (e: { actor: string }) => e.actor === `ticket:${ticket.split('_')[1]}`,
      );
      expect(stale).toHaveLength(1);
      expect(stale[0]).toMatchObject({ result: 'failure', code: 'CREDENTIAL_STALE', target: 'entry:E2' });
      const fresh = await mintToken(t, 'SiteB');
      await seedCache(t, { frontend, entry: 'E2', type: 'idtoken', value: fresh.token, expiresAt: fresh.expiresAt, version: 2 });
      const ok = await fetchCredentials(t, ticket);
      expect([ok.status, ok.json.idtoken, ok.json.site]).toEqual([200, fresh.token, 'SiteB']);
    });

    it("a ticket is bound to its frontend: another frontend's cached token for the same entry is not handed out", async () => {
      await factorySetup(t, { frontend: 'other.example.org', entry: 'E3', site: 'SiteC' });
      const mine = (await api.post('/factory/entries/E3/tickets', { frontend, count: 1 })).json.tickets[0];
      const theirs = await mintToken(t, 'SiteC');
      await seedCache(t, { frontend: 'other.example.org', entry: 'E3', type: 'idtoken', value: theirs.token, expiresAt: theirs.expiresAt });
      expect((await fetchCredentials(t, mine)).status).toBe(503);
      const ok = await fetchCredentials(t, (await api.post('/factory/entries/E3/tickets', { frontend: 'other.example.org', count: 1 })).json.tickets[0]);
      expect([ok.status, ok.json.idtoken]).toEqual([200, theirs.token]);
    });

    it("also hands out the SciToken where the entry's policy says so, and waits for one", async () => {
      await factorySetup(t, { entry: 'E4', site: 'SiteA', glideinScitoken: true });
      expect((await api.get('/factory/entries')).json.find((e: { name: string }) => e.name === 'E4')).toMatchObject({ glideinScitoken: true });
      await seedCache(t, { frontend, entry: 'E4', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
      const ticket = await one('E4');
      expect((await fetchCredentials(t, ticket)).json.error.code).toBe('CREDENTIAL_STALE');
      const scitoken = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
      await seedCache(t, { frontend, entry: 'E4', type: 'scitoken', value: scitoken, expiresAt: t.clock.now() + 3600_000 });
      const res = await fetchCredentials(t, ticket);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        site: 'SiteA',
        entry: 'E4',
        idtoken: token.token,
        scitoken,
        scitokenExpiresAt: new Date(t.clock.now() + 3600_000).toISOString(),
      });
      // Without the policy, no SciToken even when one is cached.
      await seedCache(t, { frontend, entry: 'E1', type: 'scitoken', value: scitoken, expiresAt: t.clock.now() + 3600_000 });
      expect((await fetchCredentials(t, await one('E1'))).json.scitoken).toBeUndefined();
    });

    it('refuses the tickets of a deleted entry like any bad ticket', async () => {
      await factorySetup(t, { entry: 'E5', site: 'SiteA' });
      await seedCache(t, { frontend, entry: 'E5', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
      const ticket = await one('E5');
      expect((await api.del('/factory/entries/E5')).status).toBe(204);
      expect((await fetchCredentials(t, ticket)).json.error.code).toBe('TICKET_INVALID');
    });
  });

  describe('expiry', () => {
    it('expired tickets are refused, then purged and counted per entry; used ones are purged silently', async () => {
      await factorySetup(t, { entry: 'E6', site: 'SiteA' });
      await seedCache(t, { frontend, entry: 'E6', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
      const [a, b, c] = (await issue({ count: 3, ttlSeconds: 120 }, 'E6')).json.tickets;
      expect((await fetchCredentials(t, a)).status).toBe(200);
      t.clock.advance(119);
      expect((await fetchCredentials(t, b)).status).toBe(200);
      t.clock.advance(1);
      expect((await fetchCredentials(t, c)).json.error.code).toBe('TICKET_INVALID');
      const purged = await t.app.get(TicketsService).purgeExpired();
      expect(purged.E6).toBe(1);
      expect(await consumedAt(a)).toBe('gone');
      expect(await consumedAt(c)).toBe('gone');
      expect(await t.app.get(TicketsService).purgeExpired()).not.toHaveProperty('E6');
      const line = (await api.get('/audit?action=ticket.expire&target=entry:E6')).json.entries;
      expect(line).toEqual([expect.objectContaining({ actor: 'system', detail: { count: 1 } })]);
      expect(await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text()).toMatch(
        /glidekey_tickets_expired_total\{entry="E6"\} 1\b/,
      );
    });
  });

  describe('metrics', () => {
    it('count issued, consumed, refused and outstanding tickets per entry, and never show a ticket', async () => {
      const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
      expect(value(/^glidekey_tickets_issued_total\{entry="E1"\} (\d+)/m)).toBeGreaterThan(200);
      expect(value(/^glidekey_tickets_consumed_total\{entry="E1"\} (\d+)/m)).toBeGreaterThanOrEqual(5);
      expect(value(/^glidekey_ticket_fetches_refused_total\{reason="invalid",entry=""\} (\d+)/m)).toBeGreaterThanOrEqual(49 + 8);
      expect(value(/^glidekey_ticket_fetches_refused_total\{reason="stale",entry="E2"\} (\d+)/m)).toBe(2);
      expect(value(/^glidekey_tickets_outstanding\{entry="E1"\} (\d+)/m)).toBeGreaterThan(0);
      for (const k of issued) expect(text.includes(k.split('_')[1])).toBe(false);
    });
  });
});

describe('glidein fetch rate limiting', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { GLIDEKEY_TICKETS_FAILURE_LIMIT: '3', GLIDEKEY_TICKETS_FAILURE_WINDOW_SECONDS: '60' } });
    const { frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' });
    const token = await mintToken(t, 'SiteA');
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
  });
  afterAll(() => t?.close());

  it('refuses an address over the failure limit with 429 and Retry-After, yet serves its valid tickets', async () => {
    const api = client(t.api, t.adminKey);
    const tickets: string[] = (await api.post('/factory/entries/E1/tickets', { frontend: 'fe.example.org', count: 3 })).json.tickets;
    const bad = `gkt_${'1'.repeat(16)}_${'B'.repeat(43)}`;
    for (let i = 0; i < 3; i++) expect((await fetchCredentials(t, bad)).status).toBe(401);
    const limited = await fetchCredentials(t, bad);
    expect([limited.status, limited.json.error.code, limited.headers.get('retry-after')]).toEqual([429, 'RATE_LIMITED', '60']);
    expect((await fetchCredentials(t, tickets[0])).status).toBe(200);
    // A used ticket is a failure like any other: still limited.
    expect((await fetchCredentials(t, tickets[0])).status).toBe(429);
    t.clock.advance(30);
    expect((await fetchCredentials(t, bad)).headers.get('retry-after')).toBe('30');
    expect((await fetchCredentials(t, tickets[1])).status).toBe(200);
    t.clock.advance(30);
    // A new window: failures are counted from zero again.
    expect((await fetchCredentials(t, bad)).status).toBe(401);
    expect((await fetchCredentials(t, tickets[2])).status).toBe(200);
    const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(text).toMatch(/glidekey_ticket_fetches_refused_total\{reason="rate_limited",entry=""\} 3\b/);
    // Invalid attempts are not audited one by one (the audit log must not be floodable) ...
    expect((await api.get('/audit?action=ticket.&limit=100')).json.entries.filter((e: { result: string }) => e.result !== 'success')).toEqual([]);
    // ... but they are reported in the log, as a count, without the bearer.
    expect(t.logs()).toMatch(/refused \d+ glidein credential fetch\(es\) with a bad ticket/);
    expect(t.logs()).not.toContain('B'.repeat(43));
  });
});
