import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import { EnvelopeCredential, sealEnvelope } from '../../src/protocol/envelope.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { fetchCredentials, mintToken, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

/**
 * Issue 11 item 3: one registered frontend must not be able to break a factory for everyone with
 * a credential whose expiry (or version) no Date or column can hold, and no failure may spend a
 * glidein's ticket.
 */
describe.each(ENGINES)('a hostile envelope on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let fe: { publicKey: Uint8Array; privateKey: Uint8Array };
  let feKey: string;
  let factoryKey: Uint8Array;
  const FE = 'fe.example.org';

  const cred = (over: Partial<EnvelopeCredential> = {}): EnvelopeCredential => ({
    entry: 'CE_1',
    type: 'idtoken',
    version: 5,
    expiresAt: Math.floor(t.clock.now() / 1000) + 3600,
    value: `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.sig`,
    ...over,
  });
  /** Seals by hand around the schema (sealEnvelope checks the body, as a well-behaved frontend would). */
  const sealRaw = async (credentials: unknown[]) => {
    const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
    const body = JSON.stringify({ v: 1, frontend: FE, id: randomUUID(), createdAt: t.clock.now(), credentials });
    const box = sodium.crypto_box_easy(body, nonce, factoryKey, fe.privateKey);
    const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
    return { v: 1, from: b64(fe.publicKey), nonce: b64(nonce), box: b64(box) };
  };
  const send = (env: unknown) => client(t.api, feKey).post('/factory/credentials', env);
  const cacheRows = () =>
    t.db.read((m) => m.query('SELECT frontend, entry, type, version, expires_at, fingerprint FROM cached_credentials ORDER BY entry, type'));
  const consumedAt = async (ticket: string) =>
    (await t.db.read((m) => m.query(`SELECT consumed_at FROM glidein_tickets WHERE id = '${ticket.split('_')[1]}'`)))[0].consumed_at;

  beforeAll(async () => {
    await sodium.ready;
    fe = sodium.crypto_box_keypair();
    t = await startTestApp({ engine, env: { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600', GLIDEKEY_METRICS_PUBLIC: 'true', GLIDEKEY_METRICS_CACHE_SECONDS: '0' } });
    api = client(t.api, t.adminKey);
    feKey = (await api.post('/factory/frontends', { name: FE, publicKey: Buffer.from(fe.publicKey).toString('base64') })).json.apiKey;
    factoryKey = Buffer.from((await api.get('/factory/identity')).json.publicKey, 'base64');
    for (const e of ['CE_1', 'CE_2']) {
      expect(
        (
          await api.put(`/factory/entries/${e}`, {
            site: 'S1',
            gatekeeper: 'ce1.example.org',
            trustDomain: 'OSG',
            authMethod: 'scitoken',
            condorVersion: '23.0.3',
          })
        ).status,
      ).toBeLessThan(300);
    }
    const first = await send(await sealEnvelope({ v: 1, frontend: FE, id: randomUUID(), createdAt: t.clock.now(), credentials: [cred()] }, fe, factoryKey));
    expect(first.json.results).toEqual([expect.objectContaining({ result: 'stored' })]);
  });
  afterAll(() => t?.close());

  it.each([
    ['expiresAt beyond the Date range', { expiresAt: 10_000_000_000_000 }],
    ['expiresAt at the largest safe integer', { expiresAt: Number.MAX_SAFE_INTEGER }],
    ['expiresAt just after 9999-12-31', { expiresAt: 253_402_300_800 }],
    ['version past the largest safe integer', { version: 2 ** 53 }],
    ['version 1e300', { version: 1e300 }],
  ])('refuses a credential with %s: 400 ENVELOPE_SCHEMA, the cache unchanged', async (_label, over) => {
    const before = await cacheRows();
    const res = await send(await sealRaw([cred({ version: 9, ...over })]));
    expect([res.status, res.json.error?.code]).toEqual([400, 'ENVELOPE_SCHEMA']);
    expect(await cacheRows()).toEqual(before);
    expect((await api.get('/factory/cache')).status).toBe(200);
  });

  it('a row no Date can hold (cached before the bound) neither breaks the listing nor /metrics, and spends no ticket', async () => {
    // What an unbounded envelope used to store: expiry 10^16 ms, past the largest Date.
    await seedCache(t, { frontend: FE, entry: 'CE_2', type: 'idtoken', value: 'eyJ.bad.row', expiresAt: 1e16, version: 3 });
    const list = await api.get('/factory/cache');
    expect(list.status).toBe(200);
    expect(list.json).toEqual(expect.arrayContaining([expect.objectContaining({ entry: 'CE_2', type: 'idtoken', expiresAt: null })]));
    expect(list.json).toEqual(expect.arrayContaining([expect.objectContaining({ entry: 'CE_1', type: 'idtoken', expiresAt: expect.any(String) })]));
    expect((await api.get('/factory/cache?entry=CE_2')).status).toBe(200);
    expect((await fetch(`${t.url}/metrics`)).status).toBe(200);

    const ticket = (await api.post('/factory/entries/CE_2/tickets', { frontend: FE, count: 1 })).json.tickets[0] as string;
    const res = await fetchCredentials(t, ticket);
    expect([res.status, res.json.error.code]).toEqual([503, 'CREDENTIAL_STALE']);
    expect(await consumedAt(ticket)).toBeNull();
    // The same ticket still buys the credential once a good one lands.
    const good = await mintToken(t, 'S1');
    await seedCache(t, { frontend: FE, entry: 'CE_2', type: 'idtoken', value: good.token, expiresAt: good.expiresAt, version: 4 });
    const ok = await fetchCredentials(t, ticket);
    expect([ok.status, ok.json.idtoken]).toEqual([200, good.token]);
    expect(await consumedAt(ticket)).not.toBeNull();
  });
});
