import { exportJWK, SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { backoffMs, DelivererService } from '../../src/forwarding/deliverer.service.js';
import { ENGINES, FakeClock, startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

/** One process with both roles: it registers itself as its own factory, as a two-host setup would. */
async function selfRegistered(t: TestApp, factoryName = 'self') {
  const admin = client(t.api, t.adminKey);
  const fe = (await admin.get('/frontend/identity')).json;
  const reg = await admin.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey });
  expect(reg.status).toBe(201);
  const fa = (await admin.get('/factory/identity')).json;
  expect((await admin.post('/factories', { name: factoryName, url: t.url, apiKey: reg.json.apiKey, publicKey: fa.publicKey })).status).toBe(201);
  return { admin, frontendApiKey: reg.json.apiKey as string, frontendName: fe.name as string };
}

const entry = (site: string, over: Record<string, unknown> = {}) => ({
  site,
  gatekeeper: 'ce.example.org:9619',
  trustDomain: 'OSG',
  authMethod: 'grid_proxy,scitoken',
  condorVersion: '23.0.3',
  ...over,
});

describe.each(ENGINES)('forwarding on %s', (engine) => {
  let t: TestApp;
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = tempDir('glidekey-cache-');
    t = await startTestApp({ engine, env: { GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
  });
  afterAll(async () => {
    await t.close();
    removeDir(cacheDir);
  });

  it("a site and a matching entry put the site's current token in the factory cache and its file; entries that get nothing say why", async () => {
    const { admin, frontendName } = await selfRegistered(t);
    expect((await admin.put('/factory/entries/OSG_US_Nebraska_ce1', entry('Nebraska'))).status).toBe(201);
    expect((await admin.put('/factory/entries/OSG_US_Nebraska_old', entry('Nebraska', { condorVersion: '8.8.15' }))).status).toBe(201);
    expect((await admin.put('/factory/entries/Elsewhere_ce', entry('NotOurs'))).status).toBe(201);
    expect((await admin.post('/sites', { name: 'Nebraska' })).status).toBe(201);
    const sync = await admin.post('/factories/self/sync');
    expect(sync.status).toBe(200);
    expect(sync.json).toMatchObject({ factory: 'self', entries: 3, queued: 1, error: null, delivery: { delivered: 1, refused: 0, dropped: 0, failed: 0 } });

    const cacheRes = await admin.get('/factory/cache');
    expect(cacheRes.status).toBe(200);
    const cache = cacheRes.json;
    const row = cache.find((c: { entry: string; type: string }) => c.entry === 'OSG_US_Nebraska_ce1' && c.type === 'idtoken');
    expect(row).toMatchObject({ frontend: frontendName, state: 'valid', fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(JSON.stringify(cache)).not.toMatch(/eyJ/);

    const file = join(cacheDir, `user_${frontendName}`, 'glidein_gfactory_instance', `credential_${frontendName}.main_OSG_US_Nebraska_ce1.idtoken`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8');
    const verified = await admin.post('/tokens/verify', { token });
    expect(verified.json).toMatchObject({ valid: true, site: 'Nebraska' });
    expect(existsSync(join(cacheDir, `user_${frontendName}`, 'glidein_gfactory_instance', `credential_${frontendName}.main_OSG_US_Nebraska_old.idtoken`))).toBe(
      false,
    );

    const factories = (await admin.get('/factories')).json;
    const seen = Object.fromEntries(factories[0].entries.map((e: { name: string }) => [e.name, e]));
    expect(seen.OSG_US_Nebraska_ce1.idtoken).toEqual({ send: true, site: 'Nebraska' });
    expect(seen.OSG_US_Nebraska_old.idtoken).toEqual({ send: false, reason: 'HTCondor 8.8.15 predates IDTOKENs (8.9.1)' });
    expect(seen.Elsewhere_ce.idtoken.reason).toBe("site NotOurs is not one of this frontend's sites");
    expect(seen.OSG_US_Nebraska_ce1.scitoken).toEqual({ send: false, reason: 'no SciToken with trust domain OSG' });

    const deliveries = (await admin.get('/deliveries')).json;
    expect(deliveries).toEqual([
      expect.objectContaining({ factory: 'self', entry: 'OSG_US_Nebraska_ce1', type: 'idtoken', source: 'Nebraska', state: 'delivered', attempts: 0 }),
    ]);
    expect(JSON.stringify(deliveries)).not.toMatch(/eyJ/);
    const sealed = await t.db.dataSource.query(`SELECT sealed_value FROM deliveries`);
    expect(sealed[0].sealed_value).toBeNull();

    // A rotation renews the current token and forwards it at once (no sync needed): the cache holds the new one.
    expect((await admin.post('/sites/Nebraska/rotate', { graceSeconds: 0 })).status).toBe(200);
    await t.app.get(DelivererService).drain();
    const after = readFileSync(file, 'utf8');
    expect(after).not.toBe(token);
    expect((await admin.post('/tokens/verify', { token: after })).json).toMatchObject({ valid: true, site: 'Nebraska', keyVersion: 2 });
    expect((await admin.post('/tokens/verify', { token })).json).toMatchObject({ valid: false, reason: 'KEY_RETIRED' });
    const versions = (await admin.get('/deliveries?entry=OSG_US_Nebraska_ce1')).json.map((d: { state: string }) => d.state);
    expect(versions).toEqual(['delivered', 'delivered']);
  });
});

describe('backoff', () => {
  it('doubles from the base up to the cap, and jitters between half and all of it', () => {
    expect([1, 2, 3, 4, 10, 60].map((n) => backoffMs(n, 2, 600, () => 0.999999))).toEqual([2000, 4000, 8000, 16000, 600000, 600000]);
    expect([1, 2, 3, 4, 10, 60].map((n) => backoffMs(n, 2, 600, () => 0))).toEqual([1000, 2000, 4000, 8000, 300000, 300000]);
    const spread = new Set(Array.from({ length: 50 }, () => backoffMs(5, 2, 600)));
    expect(spread.size).toBeGreaterThan(10);
    for (const d of spread) expect(d >= 16_000 && d <= 32_000).toBe(true);
  });
});

describe.each(ENGINES)('the outbox while a factory is down, on %s', (engine) => {
  const ISSUER = 'https://vo-issuer.example.org';
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let clock: FakeClock;
  let a: TestApp; // frontend (and a factory of its own, unused here)
  let b: TestApp; // the factory that goes down
  let api: ReturnType<typeof client>;
  const scitoken = (expHours: number) => {
    const now = Math.floor(clock.now() / 1000);
    return new SignJWT({
      iss: ISSUER,
      sub: 'vo-pilot',
      aud: 'https://ce.example.org',
      scope: 'compute.create',
      iat: now,
      nbf: now,
      exp: now + expHours * 3600,
      'wlcg.ver': '1.0',
      jti: `j-${Math.random()}`,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(rsa.privateKey);
  };
  const rows = (q = '') =>
    api.get(`/deliveries?limit=1000${q}`).then(
      (r) =>
        r.json as {
          entry: string;
          type: string;
          kind: string;
          reason: string | null;
          state: string;
          attempts: number;
          lastError: string | null;
          nextAttemptAt: string | null;
          source: string;
        }[],
    );
  const pendingOf = async (entry: string, type: string) => (await rows(`&entry=${entry}&state=pending`)).filter((d) => d.type === type);
  const drain = () => a.app.get(DelivererService).drain();

  beforeAll(async () => {
    clock = new FakeClock(Date.now());
    const env = { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600', GLIDEKEY_FORWARDING_RETRY_BASE_SECONDS: '2', GLIDEKEY_FORWARDING_RETRY_MAX_SECONDS: '60' };
    a = await startTestApp({ engine, clock, env });
    b = await startTestApp({ engine, clock, env: { ...env, GLIDEKEY_ROLES: 'factory' } });
    api = client(a.api, a.adminKey);
    const bAdmin = client(b.api, b.adminKey);
    const fe = (await api.get('/frontend/identity')).json;
    const apiKey = (await bAdmin.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey })).json.apiKey;
    expect(
      (await api.post('/factories', { name: 'factory-b', url: b.url, apiKey, publicKey: (await bAdmin.get('/factory/identity')).json.publicKey })).status,
    ).toBe(201);
    for (const [name, site] of [
      ['E1', 'S1'],
      ['E2', 'S2'],
    ]) {
      expect((await bAdmin.put(`/factory/entries/${name}`, entry(site))).status).toBe(201);
      expect((await api.post('/sites', { name: site })).status).toBe(201);
    }
    expect(
      (await api.put('/scitoken-issuers/vo', { issuer: ISSUER, jwks: { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] } })).status,
    ).toBe(201);
    expect((await api.put('/scitokens/vo-pilot', { token: await scitoken(48), trustDomain: 'OSG' })).status).toBe(201);
    const sync = await api.post('/factories/factory-b/sync');
    expect(sync.json).toMatchObject({ entries: 2, queued: 4, delivery: { delivered: 4 } });
    await b.close();
  });
  afterAll(() => a.close());

  it('a failed send stays pending, records why, and backs off exponentially with jitter', async () => {
    expect((await api.post('/sites/S1/rotate', { graceSeconds: 0 })).status).toBe(200);
    await drain();
    let [row] = await pendingOf('E1', 'idtoken');
    expect(row).toMatchObject({ attempts: 1, lastError: 'UNREACHABLE' });
    let wait = Date.parse(row.nextAttemptAt!) - clock.now();
    expect(wait >= 1000 && wait <= 2000).toBe(true);
    await drain(); // not due yet: no attempt
    expect((await pendingOf('E1', 'idtoken'))[0].attempts).toBe(1);
    clock.advance(2);
    await drain();
    [row] = await pendingOf('E1', 'idtoken');
    wait = Date.parse(row.nextAttemptAt!) - clock.now();
    expect([row.attempts, wait >= 2000 && wait <= 4000]).toEqual([2, true]);
    const sync = await api.post('/factories/factory-b/sync');
    expect(sync.json).toMatchObject({ entries: null, error: expect.stringMatching(/^UNREACHABLE: /) });
    expect((await api.get('/factories')).json[0]).toMatchObject({
      syncError: expect.stringMatching(/^UNREACHABLE/),
      entries: expect.arrayContaining([expect.objectContaining({ name: 'E1' })]),
    });
    const metrics = await (await fetch(`${a.url}/metrics`, { headers: { authorization: `Bearer ${a.adminKey}` } })).text();
    expect(metrics).toMatch(/glidekey_delivery_attempts_total\{factory="factory-b",result="UNREACHABLE"\} [1-9]/);
    expect(metrics).toMatch(/glidekey_deliveries\{state="pending"\} 1\b/);
  });

  it('a newer credential supersedes an undelivered older one, whose sealed copy is wiped', async () => {
    expect((await api.post('/sites/S1/rotate', { graceSeconds: 0 })).status).toBe(200);
    const e1 = (await rows('&entry=E1')).filter((d) => d.type === 'idtoken');
    expect(e1.map((d) => [d.state, d.attempts])).toEqual([
      ['pending', 0],
      ['superseded', 2],
      ['delivered', 0],
    ]);
    const sealed = await a.db.dataSource.query(`SELECT state, sealed_value FROM deliveries WHERE entry = 'E1' AND type = 'idtoken'`);
    for (const r of sealed) expect([r.state, r.sealed_value === null]).toEqual([r.state, r.state !== 'pending']);
  });

  it('a SciToken update is queued for the entries it matches; revoking it withdraws it, superseding the undelivered copy', async () => {
    expect((await api.put('/scitokens/vo-pilot', { token: await scitoken(72), trustDomain: 'OSG' })).status).toBe(200);
    expect((await pendingOf('E1', 'scitoken')).map((d) => d.source)).toEqual(['vo-pilot']);
    expect((await pendingOf('E2', 'scitoken')).map((d) => d.source)).toEqual(['vo-pilot']);
    expect((await api.del('/scitokens/vo-pilot')).status).toBe(204);
    for (const e of ['E1', 'E2']) {
      const sci = (await rows(`&entry=${e}`)).filter((d) => d.type === 'scitoken');
      // Newest first: the withdrawal (the factory had the first copy), the undelivered update it superseded, the delivered first copy.
      expect([e, sci.map((d) => [d.kind, d.state, d.reason])]).toEqual([
        e,
        [
          ['withdrawal', 'pending', 'SCITOKEN_REVOKED'],
          ['credential', 'superseded', null],
          ['credential', 'delivered', null],
        ],
      ]);
    }
    const sealed = await a.db.dataSource.query(`SELECT sealed_value FROM deliveries WHERE type = 'scitoken'`);
    expect(sealed.every((r: { sealed_value: string | null }) => r.sealed_value === null)).toBe(true);
  });

  it("never sends a token of a retired key, nor one with less than the minimum lifetime left; a deleted site's token is withdrawn", async () => {
    expect((await api.post('/sites/S2/rotate', { graceSeconds: 0 })).status).toBe(200);
    expect(await pendingOf('E2', 'idtoken')).toHaveLength(1);
    // Let the pass the rotation set off end first (the factory is down: the row stays pending): a
    // pass that chose the row before the UPDATE below would record its failure after the clock
    // moved, making the row due an hour later than the drain that must drop it (seen on PostgreSQL).
    await drain();
    // The row's key is gone from under it (a key deleted while the row waited): dropped, never sent.
    await a.db.dataSource.query(`UPDATE deliveries SET key_id = 'no-longer-there' WHERE entry = 'E2' AND state = 'pending'`);
    clock.advance(3600);
    await drain();
    expect((await rows('&entry=E2&state=dropped')).filter((d) => d.type === 'idtoken').map((d) => d.lastError)).toEqual(['KEY_RETIRED']);
    // Deleting the site withdraws what E2 was given, in the same transaction.
    expect((await api.del('/sites/S2')).status).toBe(204);
    expect((await pendingOf('E2', 'idtoken')).map((d) => [d.kind, d.reason, d.source])).toEqual([['withdrawal', 'SITE_DELETED', 'S2']]);
    // S1's token (24 h) is now 100 s from its end: below forwarding.minLifetimeSeconds (300), so dropped, not sent.
    clock.advance(86_400 - 3600 - 100);
    await drain();
    expect((await rows('&entry=E1&state=dropped')).filter((d) => d.type === 'idtoken').map((d) => d.lastError)).toEqual(['LIFETIME_TOO_SHORT']);
    // Only withdrawals wait (the factory is down): they never expire.
    expect((await rows('&state=pending')).map((d) => d.kind)).toEqual(['withdrawal', 'withdrawal', 'withdrawal']);
    const audit = (await api.get('/audit?action=delivery.drop&limit=10')).json.entries.map((e: { detail: { reason: string } }) => e.detail.reason);
    expect(audit).toEqual(expect.arrayContaining(['KEY_RETIRED', 'LIFETIME_TOO_SHORT']));
  });
});

describe('matching rules, end to end: what GET /factories says is what lands in the cache', () => {
  const ISSUER = 'https://vo-issuer.example.org';
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
  });
  afterAll(() => t.close());

  // entry, site, trust domain, auth method, HTCondor version, security class -> IDTOKEN (or why not), SciToken (or why not)
  const TABLE: [string, string, string, string, string | null, string | null, string, string][] = [
    ['v8_8_15', 'Nebraska', 'OSG', 'scitoken', '8.8.15', null, 'HTCondor 8.8.15 predates IDTOKENs (8.9.1)', 'osg'],
    ['v8_9_0', 'Nebraska', 'OSG', 'scitoken', '8.9.0', null, 'HTCondor 8.9.0 predates IDTOKENs (8.9.1)', 'osg'],
    ['v8_9_1', 'Nebraska', 'OSG', 'idtoken', '8.9.1', null, 'send', 'auth method idtoken does not use a scitoken'],
    ['v23_0_3', 'Nebraska', 'OSG', 'grid_proxy,scitoken', '23.0.3', null, 'send', 'osg'],
    ['el7_build', 'Nebraska', 'OSG', 'scitoken+project_id', '9.0.17-1.el7', null, 'send', 'osg'],
    [
      'no_version',
      'Nebraska',
      'OSG',
      'scitoken',
      null,
      null,
      'the entry does not say which HTCondor version its glideins run (IDTOKENs need 8.9.1 or later)',
      'osg',
    ],
    ['proxy_only', 'Nebraska', 'OSG', 'grid_proxy+project_id', '23.0.3', null, 'send', 'auth method grid_proxy+project_id does not use a scitoken'],
    ['cms_prod', 'Nebraska', 'CMS', 'scitoken', '23.0.3', 'prod', 'send', 'cms-prod'],
    ['cms_test', 'Nebraska', 'CMS', 'scitoken', '23.0.3', 'test', 'send', 'no SciToken with trust domain CMS and security class test'],
    ['atlas', 'Nebraska', 'ATLAS', 'scitoken', '23.0.3', null, 'send', 'no SciToken with trust domain ATLAS'],
    ['not_ours', 'Elsewhere', 'OSG', 'scitoken', '23.0.3', null, "site Elsewhere is not one of this frontend's sites", 'osg'],
  ];

  it('for a table of entries: trust domains, auth method strings, HTCondor versions (8.8.15, 8.9.1, 23.0.3, missing ...)', async () => {
    const { admin, frontendName } = await selfRegistered(t);
    expect((await admin.post('/sites', { name: 'Nebraska' })).status).toBe(201);
    expect(
      (await admin.put('/scitoken-issuers/vo', { issuer: ISSUER, jwks: { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] } })).status,
    ).toBe(201);
    const now = Math.floor(t.clock.now() / 1000);
    const sign = (sub: string) =>
      new SignJWT({
        iss: ISSUER,
        sub,
        aud: 'https://wlcg.cern.ch/jwt/v1/any',
        scope: 'compute.create',
        iat: now,
        nbf: now,
        exp: now + 86_400 * 2,
        'wlcg.ver': '1.0',
        jti: sub,
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .sign(rsa.privateKey);
    expect((await admin.put('/scitokens/osg', { token: await sign('osg'), trustDomain: 'OSG' })).status).toBe(201);
    expect((await admin.put('/scitokens/cms-prod', { token: await sign('cms'), trustDomain: 'CMS', securityClass: 'prod' })).status).toBe(201);
    for (const [name, site, trustDomain, authMethod, condorVersion, securityClass] of TABLE) {
      const res = await admin.put(`/factory/entries/${name}`, {
        site,
        gatekeeper: 'ce.example.org',
        trustDomain,
        authMethod,
        ...(condorVersion ? { condorVersion } : {}),
        ...(securityClass ? { securityClass } : {}),
      });
      expect([name, res.status]).toEqual([name, 201]);
    }
    expect((await admin.post('/factories/self/sync')).json).toMatchObject({ entries: TABLE.length, error: null, delivery: { failed: 0, refused: 0 } });

    const seen = Object.fromEntries((await admin.get('/factories')).json[0].entries.map((e: { name: string }) => [e.name, e]));
    const cached = new Set(
      (await admin.get(`/factory/cache?frontend=${frontendName}`)).json.map((c: { entry: string; type: string }) => `${c.entry}/${c.type}`),
    );
    for (const [name, site, , , , , idtoken, scitoken] of TABLE) {
      const e = seen[name];
      expect([name, e.idtoken]).toEqual([name, idtoken === 'send' ? { send: true, site } : { send: false, reason: idtoken }]);
      const named = ['osg', 'cms-prod'].includes(scitoken);
      expect([name, e.scitoken]).toEqual([name, named ? { send: true, name: scitoken, match: 'any' } : { send: false, reason: scitoken }]);
      expect([name, cached.has(`${name}/idtoken`), cached.has(`${name}/scitoken`)]).toEqual([name, idtoken === 'send', named]);
    }
  });
});
