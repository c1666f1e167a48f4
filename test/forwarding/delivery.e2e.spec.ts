import { exportJWK, SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../support/pair.js';
import { client, freePort, removeDir, Service, startService, tempDir } from '../support/service.js';

/**
 * Issue 5 at process level: a frontend process and a factory process (SQLite each, own data dirs,
 * loopback ports) register each other over REST; credentials reach the factory's cache and files,
 * and nothing committed is lost while the factory is down or when the frontend is SIGKILLed.
 */

const FRONTEND = 'frontend.example.org';
const ISSUER = 'https://vo-issuer.example.org';
const ENTRY = 'OSG_US_Nebraska_ce1';
const SITE = 'Nebraska';
const SCITOKEN = 'vo-pilot';

interface DeliveryRow {
  id: string;
  factory: string;
  entry: string;
  type: 'idtoken' | 'scitoken';
  source: string;
  version: number;
  state: string;
  attempts: number;
  lastError: string | null;
}
interface CacheRow {
  frontend: string | null;
  entry: string;
  type: string;
  state: string;
  version: number | null;
  fingerprint: string | null;
}

/** A JWT anywhere in a text: header and payload are base64url JSON objects (`eyJ...`). */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;

describe('forwarding between a frontend process and a factory process', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cacheDir = tempDir('glidekey-e2e-cache-');
  const feEnv = {
    GLIDEKEY_ROLES: 'frontend',
    GLIDEKEY_SCHEDULER_TICK_SECONDS: '1',
    GLIDEKEY_FORWARDING_RETRY_BASE_SECONDS: '1',
    GLIDEKEY_FORWARDING_RETRY_MAX_SECONDS: '2',
  };
  const faEnv = { GLIDEKEY_ROLES: 'factory', GLIDEKEY_FACTORY_CACHE_DIR: cacheDir };
  /** Every process started, restarts included: their logs are checked for credentials at the end. */
  const all: Service[] = [];
  /** Every credential that existed during the test (token text). */
  const secrets = new Set<string>();
  let fe: Service;
  let fa: Service;
  let faPort: number;
  let feKey: string;
  let faKey: string;
  const feApi = () => client(fe.api, feKey);
  const faApi = () => client(fa.api, faKey);

  const fileOf = (entry: string, type: 'idtoken' | 'scitoken') =>
    join(cacheDir, `user_${FRONTEND}`, 'glidein_gfactory_instance', `credential_${FRONTEND}.main_${entry}.${type}`);
  const readCred = (entry: string, type: 'idtoken' | 'scitoken') => (existsSync(fileOf(entry, type)) ? readFileSync(fileOf(entry, type), 'utf8') : undefined);
  const deliveries = async (q = '') => {
    const res = await feApi().get(`/deliveries?limit=1000${q}`);
    expect(res.status).toBe(200);
    return res.json as DeliveryRow[];
  };
  const cacheRow = async (entry: string, type: string) => {
    const res = await faApi().get(`/factory/cache?entry=${entry}`);
    expect(res.status).toBe(200);
    return (res.json as CacheRow[]).find((c) => c.type === type);
  };
  const verify = async (token: string) => (await feApi().post('/tokens/verify', { token })).json;
  const scitoken = async (hours: number) => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      iss: ISSUER,
      sub: 'vo-pilot',
      aud: 'ce1.unl.edu:9619',
      scope: 'compute.create',
      iat: now,
      nbf: now,
      exp: now + hours * 3600,
      'wlcg.ver': '1.0',
      jti: `j-${hours}-${Math.random()}`,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(rsa.privateKey);
    secrets.add(token);
    return token;
  };
  /** The newest outbox row of one entry and type. */
  const newest = async (entry: string, type: string) =>
    (await deliveries(`&entry=${entry}`)).filter((d) => d.type === type).sort((a, b) => b.version - a.version)[0];
  /** Waits until the factory's cache and file hold `version` of (entry, type); returns the file's bytes. */
  const arrived = (entry: string, type: 'idtoken' | 'scitoken', version: number, timeoutMs = 15_000) =>
    until(
      `${entry}/${type} v${version} in the factory cache and file`,
      async () => {
        const row = await cacheRow(entry, type);
        const bytes = readCred(entry, type);
        return row?.version === version && bytes !== undefined ? bytes : undefined;
      },
      timeoutMs,
    );
  const drained = () => until('no pending deliveries', async () => ((await deliveries('&state=pending')).length === 0 ? true : undefined));

  /** No credential in either process's logs, nor in the listings and metrics that describe them. */
  async function expectNoCredentialShown() {
    const views: [string, string][] = [];
    for (const p of all) views.push([`output of ${p.url} (pid ${p.proc.pid})`, p.output()]);
    views.push(['GET /deliveries', (await feApi().get('/deliveries?limit=1000')).text]);
    views.push(['GET /factories', (await feApi().get('/factories')).text]);
    views.push(['GET /factory/cache', (await faApi().get('/factory/cache')).text]);
    views.push(['frontend /metrics', await (await fetch(`${fe.url}/metrics`, { headers: { authorization: `Bearer ${fe.adminKey}` } })).text()]);
    views.push(['factory /metrics', await (await fetch(`${fa.url}/metrics`, { headers: { authorization: `Bearer ${fa.adminKey}` } })).text()]);
    for (const [where, text] of views) {
      expect([where, text.length > 0]).toEqual([where, true]);
      expect([where, JWT.exec(text)?.[0] ?? null]).toEqual([where, null]);
      for (const s of secrets) {
        // Nor any part of its signature (or of an API key): every 16-character window, 8 apart, and the last one.
        const secret = s.split('.').at(-1)!;
        const windows = new Set([secret.slice(-16)]);
        for (let i = 0; i + 16 <= secret.length; i += 8) windows.add(secret.slice(i, i + 16));
        expect([where, [...windows].filter((w) => text.includes(w))]).toEqual([where, []]);
      }
    }
  }

  beforeAll(async () => {
    faPort = await freePort();
    [fe, fa] = await Promise.all([startService({ env: feEnv }), startService({ env: faEnv, port: faPort })]);
    all.push(fe, fa);
    feKey = fe.adminKey;
    faKey = fa.adminKey;
    expect([feKey.length > 0, faKey.length > 0]).toEqual([true, true]);

    // 1-4: each side registers the other, public keys pinned.
    const identity = (await feApi().get('/frontend/identity')).json;
    expect(identity.name).toBe(FRONTEND);
    const reg = await faApi().post('/factory/frontends', { name: identity.name, publicKey: identity.publicKey });
    expect(reg.status).toBe(201);
    secrets.add(reg.json.apiKey);
    const faIdentity = (await faApi().get('/factory/identity')).json;
    const added = await feApi().post('/factories', { name: 'factory-1', url: fa.url, apiKey: reg.json.apiKey, publicKey: faIdentity.publicKey });
    expect(added.status).toBe(201);
    // A frontend-only process has no factory routes, and the other way round.
    expect((await feApi().get('/factory/cache')).status).toBe(404);
    expect((await faApi().get('/deliveries')).status).toBe(404);
  });

  afterAll(async () => {
    await Promise.all([fe?.stop(), fa?.stop()]);
    for (const p of all) removeDir(p.dataDir);
    removeDir(cacheDir);
  });

  it('a site and a matching entry put the token in the factory cache and its file within seconds; a SciToken too; entries that get nothing say why', async () => {
    for (const [name, entry] of [
      [ENTRY, { site: SITE, gatekeeper: 'ce1.unl.edu:9619', trustDomain: 'OSG', authMethod: 'grid_proxy,scitoken', condorVersion: '23.0.3' }],
      ['OSG_US_Nebraska_old', { site: SITE, gatekeeper: 'ce0.unl.edu:9619', trustDomain: 'OSG', authMethod: 'grid_proxy', condorVersion: '8.8.15' }],
      ['Elsewhere_ce', { site: 'NotOurs', gatekeeper: 'ce.elsewhere.org:9619', trustDomain: 'CMS', authMethod: 'scitoken', condorVersion: '23.0.3' }],
    ] as const) {
      expect([name, (await faApi().put(`/factory/entries/${name}`, entry)).status]).toEqual([name, 201]);
    }
    // The frontend reads the entries on its own (1 s tick): no manual sync anywhere in this test.
    await until("the frontend to see the factory's entries", async () => {
      const f = (await feApi().get('/factories')).json[0];
      return f.entries?.length === 3 ? f : undefined;
    });

    const t0 = Date.now();
    expect((await feApi().post('/sites', { name: SITE })).status).toBe(201);
    const token = await until('the IDTOKEN file', async () => readCred(ENTRY, 'idtoken'));
    const seconds = (Date.now() - t0) / 1000;
    expect(seconds).toBeLessThan(10);
    secrets.add(token);
    expect(statSync(fileOf(ENTRY, 'idtoken')).mode & 0o777).toBe(0o600);
    expect(await verify(token)).toMatchObject({ valid: true, site: SITE, keyVersion: 1 });
    // The cache row describes exactly this credential: the frontend's row for it was delivered with that version.
    const v1 = await until('the IDTOKEN delivery to settle', async () => {
      const d = await newest(ENTRY, 'idtoken');
      return d?.state === 'delivered' ? d : undefined;
    });
    expect(v1).toMatchObject({ factory: 'factory-1', source: SITE, attempts: 0 });
    expect(await cacheRow(ENTRY, 'idtoken')).toMatchObject({
      frontend: FRONTEND,
      state: 'valid',
      version: v1.version,
      fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/),
    });

    // A SciToken for trust domain OSG reaches the entry whose auth method takes one: identical bytes.
    const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] };
    expect((await feApi().put('/scitoken-issuers/vo', { issuer: ISSUER, jwks })).status).toBe(201);
    const sci = await scitoken(48);
    const s0 = Date.now();
    expect((await feApi().put(`/scitokens/${SCITOKEN}`, { token: sci, trustDomain: 'OSG' })).status).toBe(201);
    const sciVersion = await until('the SciToken delivery', async () => {
      const d = await newest(ENTRY, 'scitoken');
      return d?.state === 'delivered' ? d.version : undefined;
    });
    expect(await arrived(ENTRY, 'scitoken', sciVersion)).toBe(sci);
    expect((Date.now() - s0) / 1000).toBeLessThan(10);
    expect(statSync(fileOf(ENTRY, 'scitoken')).mode & 0o777).toBe(0o600);

    // Entries that get nothing say why, and get no file.
    const seen = Object.fromEntries((await feApi().get('/factories')).json[0].entries.map((e: { name: string }) => [e.name, e]));
    expect(seen[ENTRY]).toMatchObject({ idtoken: { send: true, site: SITE }, scitoken: { send: true, name: SCITOKEN } });
    expect(seen.OSG_US_Nebraska_old).toMatchObject({
      idtoken: { send: false, reason: 'HTCondor 8.8.15 predates IDTOKENs (8.9.1)' },
      scitoken: { send: false, reason: 'auth method grid_proxy does not use a scitoken' },
    });
    expect(seen.Elsewhere_ce).toMatchObject({
      idtoken: { send: false, reason: "site NotOurs is not one of this frontend's sites" },
      scitoken: { send: false, reason: 'no SciToken with trust domain CMS' },
    });
    for (const e of ['OSG_US_Nebraska_old', 'Elsewhere_ce'])
      for (const type of ['idtoken', 'scitoken'] as const) expect([e, type, existsSync(fileOf(e, type))]).toEqual([e, type, false]);
    // The factory lists what Elsewhere_ce lacks.
    const missing = (await faApi().get('/factory/cache?entry=Elsewhere_ce')).json.map((c: CacheRow) => [c.type, c.state]).sort();
    expect(missing).toEqual([
      ['idtoken', 'missing'],
      ['scitoken', 'missing'],
    ]);
    expect(await deliveries('&state=pending')).toEqual([]);
    await expectNoCredentialShown();
  });

  it('nothing is lost while the factory is down: the newest credentials arrive when it is back, and the outbox drains', async () => {
    const oldToken = readCred(ENTRY, 'idtoken')!;
    const oldIdRow = await cacheRow(ENTRY, 'idtoken');
    await fa.stop('SIGTERM');

    expect((await feApi().post(`/sites/${SITE}/rotate`, { graceSeconds: 0 })).status).toBe(200);
    const sciA = await scitoken(50);
    expect((await feApi().put(`/scitokens/${SCITOKEN}`, { token: sciA, trustDomain: 'OSG' })).status).toBe(200);
    // Both sends fail and are retried: pending, attempts counted, and why.
    const failing = await until('both deliveries to fail at least once', async () => {
      const rows = await deliveries(`&entry=${ENTRY}&state=pending`);
      return rows.length === 2 && rows.every((r) => r.attempts > 0) ? rows : undefined;
    });
    for (const r of failing) expect([r.type, r.lastError]).toEqual([r.type, 'UNREACHABLE']);
    const idRow = failing.find((r) => r.type === 'idtoken')!;
    const sciARow = failing.find((r) => r.type === 'scitoken')!;
    // The old credentials are still what the factory has on disk.
    expect(readCred(ENTRY, 'idtoken')).toBe(oldToken);

    // A newer SciToken while the factory is still down supersedes the undelivered one.
    const sciB = await scitoken(52);
    expect((await feApi().put(`/scitokens/${SCITOKEN}`, { token: sciB, trustDomain: 'OSG' })).status).toBe(200);
    const sciBRow = await newest(ENTRY, 'scitoken');
    expect(sciBRow.version).toBeGreaterThan(sciARow.version);
    const aNow = (await deliveries(`&entry=${ENTRY}`)).find((d) => d.id === sciARow.id)!;
    expect(aNow).toMatchObject({ state: 'superseded' });
    expect(aNow.attempts).toBeGreaterThan(0);

    // Back on the same data dir and port (the frontend has the URL pinned).
    const b0 = Date.now();
    fa = await startService({ env: faEnv, dataDir: fa.dataDir, port: faPort });
    all.push(fa);
    const newToken = await arrived(ENTRY, 'idtoken', idRow.version);
    expect(await arrived(ENTRY, 'scitoken', sciBRow.version)).toBe(sciB);
    expect((Date.now() - b0) / 1000).toBeLessThan(10);
    secrets.add(newToken);
    expect(newToken).not.toBe(oldToken);
    const newIdRow = await cacheRow(ENTRY, 'idtoken');
    expect(newIdRow!.fingerprint).not.toBe(oldIdRow!.fingerprint);
    expect(await verify(newToken)).toMatchObject({ valid: true, site: SITE, keyVersion: 2 });
    expect(await verify(oldToken)).toMatchObject({ valid: false, reason: 'KEY_RETIRED' });

    await drained();
    const rows = await deliveries(`&entry=${ENTRY}`);
    const stateOf = (id: string) => rows.find((d) => d.id === id)?.state;
    expect([stateOf(idRow.id), stateOf(sciARow.id), stateOf(sciBRow.id)]).toEqual(['delivered', 'superseded', 'delivered']);
    await expectNoCredentialShown();
  });

  it('nothing is lost when the frontend is SIGKILLed with deliveries pending: they go out after its restart', async () => {
    await fa.stop('SIGTERM');
    const rotated = await feApi().post(`/sites/${SITE}/rotate`, { graceSeconds: 0 });
    expect(rotated.status).toBe(200);
    const sciC = await scitoken(54);
    expect((await feApi().put(`/scitokens/${SCITOKEN}`, { token: sciC, trustDomain: 'OSG' })).status).toBe(200);
    const pending = await until('the new deliveries to be committed', async () => {
      const rows = await deliveries(`&entry=${ENTRY}&state=pending`);
      return rows.length === 2 ? rows : undefined;
    });
    const idRow = pending.find((r) => r.type === 'idtoken')!;
    const sciRow = pending.find((r) => r.type === 'scitoken')!;

    await fe.stop('SIGKILL');
    fa = await startService({ env: faEnv, dataDir: fa.dataDir, port: faPort });
    all.push(fa);
    // Nothing can have arrived: the only process holding the credentials is dead.
    expect((await cacheRow(ENTRY, 'idtoken'))!.version).toBeLessThan(idRow.version);
    const r0 = Date.now();
    // An hour's tick: what goes out now is the restarted deliverer's own doing (it looks at the outbox on start), not a scheduled pass.
    fe = await startService({ env: { ...feEnv, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' }, dataDir: fe.dataDir });
    all.push(fe);
    const token = await arrived(ENTRY, 'idtoken', idRow.version);
    expect(await arrived(ENTRY, 'scitoken', sciRow.version)).toBe(sciC);
    expect((Date.now() - r0) / 1000).toBeLessThan(10);
    secrets.add(token);
    expect(await verify(token)).toMatchObject({ valid: true, site: SITE, keyVersion: 3 });
    await drained();
    const rows = await deliveries(`&entry=${ENTRY}`);
    expect([idRow.id, sciRow.id].map((id) => rows.find((d) => d.id === id)?.state)).toEqual(['delivered', 'delivered']);
    await expectNoCredentialShown();
  });
});
