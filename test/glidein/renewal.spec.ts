import { CachedCredential } from '../../src/factory/cached-credential.entity.js';
import { RenewalAdminService } from '../../src/glidein/renewal-admin.service.js';
import { RenewalService } from '../../src/glidein/renewal.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { factorySetup, fetchCredentials, mintToken, renew, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

const REFUSED = 'the renewal credential is not valid: unknown, already used, or replaced';
const idOf = (credential: string) => credential.split('_')[1];
const secretOf = (credential: string) => credential.slice('gkr_0123456789abcdef_'.length);

describe.each(ENGINES)('glidein renewal on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let frontend: string;
  let token: { token: string; expiresAt: number };
  const handedOut: string[] = [];

  /** A glidein bootstrapped on `entry`: its answer (renewal credential included). */
  const bootstrap = async (entry = 'E1') => {
    const ticket = (await api.post(`/factory/entries/${entry}/tickets`, { frontend, count: 1 })).json.tickets[0];
    const res = await fetchCredentials(t, ticket);
    expect(res.status).toBe(200);
    handedOut.push(res.json.renewal);
    return res.json as { renewal: string; renewalExpiresAt: string; idtoken: string };
  };
  const ok = async (credential: string) => {
    const res = await renew(t, credential);
    expect([res.status, res.json.error]).toEqual([200, undefined]);
    handedOut.push(res.json.renewal);
    return res.json as { renewal: string; renewalExpiresAt: string; idtoken: string; expiresAt: string };
  };
  const refusedWith = async (credential: string | undefined, status: number, code: string) => {
    const res = await renew(t, credential);
    expect([credential?.slice(0, 21), res.status, res.json.error.code]).toEqual([credential?.slice(0, 21), status, code]);
    return res;
  };
  const rows = () => t.db.read((m) => m.query('SELECT * FROM glidein_renewals ORDER BY id'));

  beforeAll(async () => {
    t = await startTestApp({
      engine,
      env: { GLIDEKEY_TICKETS_FAILURE_LIMIT: '100000', GLIDEKEY_METRICS_CACHE_SECONDS: '0', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' },
    });
    api = client(t.api, t.adminKey);
    ({ frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' }));
    token = await mintToken(t, 'SiteA');
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
  });
  afterAll(() => t?.close());

  it("answers the entry's current credentials like the fetch, with a new credential for the same glidein; a replayed old one is refused", async () => {
    const b = await bootstrap();
    expect(Date.parse(b.renewalExpiresAt)).toBe(t.clock.now() + 604_800_000);
    const fresh = await mintToken(t, 'SiteA');
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: fresh.token, expiresAt: fresh.expiresAt, version: 2 });
    t.clock.advance(5);
    const r1 = await ok(b.renewal);
    expect(r1).toEqual({
      site: 'SiteA',
      entry: 'E1',
      idtoken: fresh.token,
      expiresAt: new Date(fresh.expiresAt).toISOString(),
      renewal: expect.stringMatching(/^gkr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/),
      renewalExpiresAt: b.renewalExpiresAt,
      renewInSeconds: Math.floor(((fresh.expiresAt - t.clock.now()) * 2) / 3 / 1000),
    });
    expect([idOf(r1.renewal), r1.renewal === b.renewal]).toEqual([idOf(b.renewal), false]);
    expect((await api.post('/tokens/verify', { token: r1.idtoken })).json).toMatchObject({ valid: true, site: 'SiteA' });
    t.clock.advance(5);
    const r2 = await ok(r1.renewal);
    // The bootstrap's credential, two rotations old: refused, and it spends nothing.
    await refusedWith(b.renewal, 401, 'RENEWAL_INVALID');
    t.clock.advance(61);
    // r1 was spent for r2 and the grace is over: refused too.
    await refusedWith(r1.renewal, 401, 'RENEWAL_INVALID');
    await ok(r2.renewal);
    const audit = (await api.get(`/audit?action=glidein.renew&actor=renewal:${idOf(b.renewal)}`)).json.entries;
    expect(audit.map((e: { detail: { generation: number } }) => e.detail.generation)).toEqual([3, 2, 1]);
    expect(audit[2]).toMatchObject({
      target: 'entry:E1',
      result: 'success',
      detail: { renewal: idOf(b.renewal), lostAnswer: false, site: 'SiteA', address: '127.0.0.1', idtokenVersion: 2 },
    });
    const issued = (await api.get('/audit?action=renewal.issue&limit=1')).json.entries[0];
    expect(issued).toMatchObject({ target: 'entry:E1', detail: { renewal: expect.stringMatching(/^[0-9a-f]{16}$/), expiresAt: expect.any(String) } });
  });

  it('gives unknown, spent, malformed and tampered credentials, tickets, API keys and none the same 401, changing nothing', async () => {
    const b = await bootstrap();
    const before = JSON.stringify(await rows());
    const tampered = b.renewal.slice(0, -1) + (b.renewal.endsWith('A') ? 'B' : 'A');
    const ticket = (await api.post('/factory/entries/E1/tickets', { frontend, count: 1 })).json.tickets[0];
    for (const bearer of [`gkr_${'0'.repeat(16)}_${'A'.repeat(43)}`, 'gkr_short', tampered, ticket, t.adminKey, 'x'.repeat(400), undefined]) {
      const res = await refusedWith(bearer, 401, 'RENEWAL_INVALID');
      expect(res.json.error.message).toBe(REFUSED);
    }
    expect(JSON.stringify(await rows())).toBe(before);
    // The ticket was not spent by being shown to the wrong route, and the real credential still works.
    expect((await fetchCredentials(t, ticket)).status).toBe(200);
    await ok(b.renewal);
  });

  it("takes a lost answer's credential once more within the grace while its successor was never used, retiring both", async () => {
    const b = await bootstrap();
    t.clock.advance(10);
    const lost = await ok(b.renewal); // the glidein never saw this answer
    t.clock.advance(2);
    const again = await ok(b.renewal);
    expect(again.renewal).not.toBe(lost.renewal);
    await refusedWith(lost.renewal, 401, 'RENEWAL_INVALID');
    await refusedWith(b.renewal, 401, 'RENEWAL_INVALID');
    t.clock.advance(2);
    const next = await ok(again.renewal);
    const late = await ok(next.renewal);
    // Once its successor was used, a credential is not taken again, even within the grace ...
    t.clock.advance(1);
    await refusedWith(again.renewal, 401, 'RENEWAL_INVALID');
    // ... and after the grace not even while its successor is unused.
    t.clock.advance(61);
    await refusedWith(next.renewal, 401, 'RENEWAL_INVALID');
    await ok(late.renewal);
    const lines = (await api.get(`/audit?action=glidein.renew&actor=renewal:${idOf(b.renewal)}`)).json.entries;
    expect(lines.map((e: { detail: { lostAnswer: boolean } }) => e.detail.lostAnswer).reverse()).toEqual([false, true, false, false, false]);
  });

  it('of 20 concurrent renewals with one credential, exactly one succeeds; of 20 past the lookup in one tick, too', async () => {
    const b = await bootstrap();
    t.clock.advance(1);
    const results = await Promise.all(Array.from({ length: 20 }, () => renew(t, b.renewal)));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(401)]);
    const winner = results.find((r) => r.status === 200)!.json.renewal as string;
    handedOut.push(winner);
    t.clock.advance(1);
    const service = t.app.get(RenewalService);
    const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => service.renew(winner, `192.0.2.${i}`)));
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))).toEqual(Array(19).fill('RENEWAL_INVALID'));
    handedOut.push(...settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.renewal!] : [])));
    const lines = (await api.get(`/audit?action=glidein.renew&actor=renewal:${idOf(b.renewal)}`)).json.entries;
    expect(lines).toHaveLength(2);
  });

  it("stops at the entry's maximum pilot life, also when the admin shortens it for running glideins; the field is checked", async () => {
    await factorySetup(t, { entry: 'E7', site: 'SiteA' });
    const put = await api.put('/factory/entries/E7', {
      site: 'SiteA',
      gatekeeper: 'ce.example.org',
      trustDomain: 'OSG',
      authMethod: 'scitoken',
      condorVersion: '23.0.3',
      maxPilotLifeSeconds: 600,
    });
    expect([put.status, put.json.maxPilotLifeSeconds]).toEqual([200, 600]);
    await seedCache(t, { frontend, entry: 'E7', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
    const b = await bootstrap('E7');
    expect(Date.parse(b.renewalExpiresAt)).toBe(t.clock.now() + 600_000);
    t.clock.advance(599);
    const r = await ok(b.renewal);
    t.clock.advance(1);
    const over = await refusedWith(r.renewal, 403, 'PILOT_LIFE_OVER');
    expect(over.json.error.message).toContain(b.renewalExpiresAt);
    // Shortened after bootstrap: the running glidein's life ends at the new bound.
    const entry = { site: 'SiteA', gatekeeper: 'ce.example.org', trustDomain: 'OSG', authMethod: 'scitoken', condorVersion: '23.0.3' };
    expect((await api.put('/factory/entries/E7', entry)).json.maxPilotLifeSeconds).toBeNull();
    const long = await bootstrap('E7');
    t.clock.advance(7200);
    await ok(long.renewal).then((x) => (long.renewal = x.renewal));
    expect((await api.put('/factory/entries/E7', { ...entry, maxPilotLifeSeconds: 3600 })).status).toBe(200);
    await refusedWith(long.renewal, 403, 'PILOT_LIFE_OVER');
    for (const bad of [59, 31_536_001, 1.5, '600']) {
      const res = await api.put('/factory/entries/E7', { ...entry, maxPilotLifeSeconds: bad });
      expect([bad, res.status, res.json.error.field]).toEqual([bad, 400, 'maxPilotLifeSeconds']);
    }
    expect((await api.get('/factory/entries')).json.find((e: { name: string }) => e.name === 'E7').maxPilotLifeSeconds).toBe(3600);
  });

  it("is refused at once when the entry's credential is gone (410) or too short-lived (503), keeping the credential", async () => {
    await factorySetup(t, { entry: 'E9', site: 'SiteA' });
    await seedCache(t, { frontend, entry: 'E9', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
    const b = await bootstrap('E9');
    // Withdrawn from the cache (as a withdrawal message or an entry's unmatching does).
    await t.db.tx((m) => m.delete(CachedCredential, { entry: 'E9' }));
    await refusedWith(b.renewal, 410, 'CREDENTIAL_WITHDRAWN');
    const short = await mintToken(t, 'SiteA', 300);
    await seedCache(t, { frontend, entry: 'E9', type: 'idtoken', value: short.token, expiresAt: short.expiresAt });
    const stale = await refusedWith(b.renewal, 503, 'CREDENTIAL_STALE');
    expect(stale.headers.get('retry-after')).toBe('60');
    await seedCache(t, { frontend, entry: 'E9', type: 'idtoken', value: token.token, expiresAt: token.expiresAt, version: 3 });
    const r = await ok(b.renewal);
    expect((await api.del('/factory/entries/E9')).status).toBe(204);
    await refusedWith(r.renewal, 410, 'CREDENTIAL_WITHDRAWN');
    // Created again with a fresh credential: another entry; the old one's glideins stay withdrawn.
    t.clock.advance(1);
    await factorySetup(t, { entry: 'E9', site: 'SiteA' });
    await seedCache(t, { frontend, entry: 'E9', type: 'idtoken', value: token.token, expiresAt: token.expiresAt, version: 4 });
    await refusedWith(r.renewal, 410, 'CREDENTIAL_WITHDRAWN');
    await ok((await bootstrap('E9')).renewal);
  });

  it('factory admins revoke renewals per glidein, per ticket batch and per entry; audited; 404 for unknown, 400 for malformed, nothing changed', async () => {
    await factorySetup(t, { entry: 'E10', site: 'SiteA' });
    await seedCache(t, { frontend, entry: 'E10', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
    const one = await bootstrap('E10');
    const other = await bootstrap('E10');
    expect((await api.post(`/factory/renewals/${idOf(one.renewal)}/revoke`)).json).toEqual({ revoked: 1 });
    await refusedWith(one.renewal, 401, 'RENEWAL_REVOKED');
    expect((await api.post(`/factory/renewals/${idOf(one.renewal)}/revoke`)).json).toEqual({ revoked: 0 });
    other.renewal = (await ok(other.renewal)).renewal;

    const batch = await api.post('/factory/entries/E10/tickets', { frontend, count: 3 });
    const [a, b2] = await Promise.all(batch.json.tickets.slice(0, 2).map(async (k: string) => (await fetchCredentials(t, k)).json.renewal as string));
    expect((await api.post(`/factory/batches/${batch.json.batch}/renewals/revoke`)).json).toEqual({ revoked: 2 });
    for (const k of [a, b2]) await refusedWith(k, 401, 'RENEWAL_REVOKED');
    const listed = (await api.get(`/factory/renewals?batch=${batch.json.batch}`)).json;
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({ batch: batch.json.batch, entry: 'E10', frontend, renewals: 0, revokedAt: new Date(t.clock.now()).toISOString() });
    expect(JSON.stringify(listed)).not.toMatch(/secret|hash|gkr_/i);
    other.renewal = (await ok(other.renewal)).renewal;

    expect((await api.post('/factory/entries/E10/renewals/revoke')).json).toEqual({ revoked: 1 });
    await refusedWith(other.renewal, 401, 'RENEWAL_REVOKED');
    const lines = (await api.get('/audit?action=renewal.revoke&result=success&limit=4')).json.entries;
    expect(lines.map((e: { target: string; detail: { revoked: number } }) => [e.target, e.detail.revoked])).toEqual([
      ['entry:E10', 1],
      [`batch:${batch.json.batch}`, 2],
      [`renewal:${idOf(one.renewal)}`, 0],
      [`renewal:${idOf(one.renewal)}`, 1],
    ]);

    const before = JSON.stringify(await rows());
    const cases: [string, number, string, string?][] = [
      ['/factory/renewals/0123456789abcdef/revoke', 404, 'RENEWAL_NOT_FOUND'],
      ['/factory/batches/0123456789abcdef/renewals/revoke', 404, 'BATCH_NOT_FOUND'],
      ['/factory/entries/Nope/renewals/revoke', 404, 'ENTRY_NOT_FOUND'],
      ['/factory/renewals/XYZ/revoke', 400, 'VALIDATION_FAILED', 'id'],
      [`/factory/renewals/${encodeURIComponent(one.renewal)}/revoke`, 400, 'VALIDATION_FAILED', 'id'],
      ['/factory/batches/0123/renewals/revoke', 400, 'VALIDATION_FAILED', 'batch'],
      ['/factory/entries/a%20b/renewals/revoke', 400, 'VALIDATION_FAILED', 'entry'],
      [`/factory/entries/${encodeURIComponent(one.renewal)}/renewals/revoke`, 400, 'VALIDATION_FAILED', 'entry'],
    ];
    for (const [path, status, code, field] of cases) {
      const res = await api.post(path);
      expect([path.slice(0, 40), res.status, res.json.error.code, res.json.error.field]).toEqual([path.slice(0, 40), status, code, field]);
    }
    for (const q of ['limit=0', 'batch=zz', 'entry=a%20b', 'colour=blue']) expect([q, (await api.get(`/factory/renewals?${q}`)).status]).toEqual([q, 400]);
    expect(JSON.stringify(await rows())).toBe(before);
  });

  it('stores only hashes; no renewal credential reaches the audit log, the logs or the metrics; the metrics count results', async () => {
    const table = JSON.stringify(await rows());
    const audit = JSON.stringify(await t.db.read((m) => m.query('SELECT * FROM audit_log')));
    const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(handedOut.length).toBeGreaterThan(20);
    for (const k of handedOut) {
      for (const [name, haystack] of Object.entries({ table, audit, metrics, logs: t.logs() }))
        expect([name, haystack.includes(secretOf(k))]).toEqual([name, false]);
      expect(metrics.includes(idOf(k))).toBe(false);
    }
    const value = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? NaN);
    expect(value(/^glidekey_glidein_renewals_total\{result="renewed",entry="E1"\} (\d+)/m)).toBeGreaterThanOrEqual(8);
    expect(value(/^glidekey_glidein_renewals_total\{result="grace",entry="E1"\} (\d+)/m)).toBe(1);
    expect(value(/^glidekey_glidein_renewals_total\{result="invalid",entry=""\} (\d+)/m)).toBeGreaterThanOrEqual(19 + 19 + 7);
    expect(value(/^glidekey_glidein_renewals_total\{result="pilot_life_over",entry="E7"\} (\d+)/m)).toBe(2);
    expect(value(/^glidekey_glidein_renewals_total\{result="withdrawn",entry="E9"\} (\d+)/m)).toBe(3);
    expect(value(/^glidekey_glidein_renewals_total\{result="stale",entry="E9"\} (\d+)/m)).toBe(1);
    expect(value(/^glidekey_glidein_renewals_total\{result="revoked",entry="E10"\} (\d+)/m)).toBe(4);
    expect(value(/^glidekey_renewal_credentials_revoked_total\{entry="E10"\} (\d+)/m)).toBe(4);
    expect(value(/^glidekey_renewal_credentials_issued_total\{entry="E1"\} (\d+)/m)).toBeGreaterThanOrEqual(5);
    // Refusals are not audited one by one.
    expect((await api.get('/audit?action=glidein.renew&limit=1000')).json.entries.filter((e: { result: string }) => e.result !== 'success')).toEqual([]);
  });

  it('purges renewals once their pilot life and the grace after it are over', async () => {
    const purge = () => t.app.get(RenewalAdminService).purgeEnded();
    const ended = (await rows()).filter((r: { expires_at: string | number }) => Number(r.expires_at) <= t.clock.now() - 60_000).length;
    expect(ended).toBeGreaterThan(0); // E7's 10-minute pilots
    expect(await purge()).toBe(ended);
    const left = (await rows()).length;
    t.clock.advance(604_800 + 60);
    expect(await purge()).toBe(left);
    expect(await rows()).toEqual([]);
  });
});
