import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import { EnvelopeBody, EnvelopeCredential, sealEnvelope } from '../../src/protocol/envelope.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client } from '../support/service.js';

/**
 * The token bootstrap (entries with glideinBootstrap 'token'): a glidein presents the IDTOKEN the
 * factory cache holds (or held, among its last versions, unexpired) for its entry. The cache is
 * filled as a frontend fills it: sealed envelopes through POST /factory/credentials.
 */
describe.each(ENGINES)('TokenBootstrap, on %s', (engine) => {
  let t: TestApp;
  let admin: ReturnType<typeof client>;
  let fe: { publicKey: Uint8Array; privateKey: Uint8Array };
  let factoryKey: Uint8Array;
  let feKey: string;
  const FE = 'fe.example.org';
  let version = 0;

  /** A JWT-shaped token with an exp claim (Unix s); the factory never checks its signature, only its bytes. */
  const token = (exp: number) =>
    `eyJhbGciOiJIUzI1NiIsImtpZCI6IlMxIn0.${Buffer.from(JSON.stringify({ sub: 'S1@fe', exp, jti: randomUUID() })).toString('base64url')}.${Buffer.from(randomUUID()).toString('base64url')}`;
  const send = async (
    body: { v: 1; credentials: EnvelopeCredential[] } | { v: 2; withdrawals: { entry: string; type: 'idtoken'; version: number; reason: 'TOKEN_REVOKED' }[] },
  ) => {
    const env = await sealEnvelope({ frontend: FE, id: randomUUID(), createdAt: t.clock.now(), ...body } as EnvelopeBody, fe, factoryKey);
    const res = await client(t.api, feKey).post('/factory/credentials', env);
    expect(res.status).toBe(200);
    return res.json.results;
  };
  /** Caches a new IDTOKEN version for `entry`, valid for `seconds`; returns its value. */
  const cacheToken = async (entry = 'CE_T', seconds = 86_400): Promise<string> => {
    const exp = Math.floor(t.clock.now() / 1000) + seconds;
    const value = token(exp);
    const c: EnvelopeCredential = { entry, type: 'idtoken', version: ++version, expiresAt: exp, value };
    expect(await send({ v: 1, credentials: [c] })).toEqual([{ entry, type: 'idtoken', version, result: 'stored' }]);
    return value;
  };
  const boot = async (bearer: string, body: unknown = { entry: 'CE_T' }) => {
    const res = await fetch(`${t.api}/glidein/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const refused = { status: 401, json: { error: { code: 'TICKET_INVALID', message: 'the ticket is not valid: unknown, already used, or expired' } } };
  const off = {
    status: 403,
    json: { error: { code: 'TOKEN_BOOTSTRAP_OFF', message: 'this entry takes glidein bootstraps with a ticket only (glideinBootstrap "ticket")' } },
  };
  const putEntry = (name: string, over: Record<string, unknown> = {}) =>
    admin.put(`/factory/entries/${name}`, {
      site: 'S1',
      gatekeeper: 'ce.example.org:9619',
      trustDomain: 'OSG',
      authMethod: 'idtoken',
      condorVersion: '23.0.3',
      glideinBootstrap: 'token',
      ...over,
    });

  beforeAll(async () => {
    await sodium.ready;
    fe = sodium.crypto_box_keypair();
    t = await startTestApp({
      engine,
      env: {
        GLIDEKEY_ROLES: 'factory',
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
        GLIDEKEY_TICKETS_MAX_TOKEN_BOOTSTRAPS: '4',
        GLIDEKEY_TICKETS_FAILURE_LIMIT: '40',
      },
    });
    admin = client(t.api, t.adminKey);
    feKey = (await admin.post('/factory/frontends', { name: FE, publicKey: Buffer.from(fe.publicKey).toString('base64') })).json.apiKey;
    factoryKey = Buffer.from((await admin.get('/factory/identity')).json.publicKey, 'base64');
    expect((await putEntry('CE_T')).json).toMatchObject({ glideinBootstrap: 'token' });
    expect((await putEntry('CE_O', { site: 'S2' })).status).toBe(201);
    expect((await putEntry('CE_K', { glideinBootstrap: undefined })).json).toMatchObject({ glideinBootstrap: 'ticket' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('the entry option: "ticket" by default, "token" or "ticket" only', async () => {
    const bad = await putEntry('CE_X', { glideinBootstrap: 'yes' });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await admin.get('/factory/entries')).json.map((e: { name: string }) => e.name)).not.toContain('CE_X');
  });

  it("the cached IDTOKEN, with its entry, buys the entry's credentials and a renewal chain that renews, audited as a token bootstrap", async () => {
    const v1 = await cacheToken();
    const r = await boot(v1);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ site: 'S1', entry: 'CE_T', idtoken: v1, renewal: expect.stringMatching(/^gkr_[0-9a-f]{16}_/) });
    const renewed = await fetch(`${t.api}/glidein/credentials/renew`, { method: 'POST', headers: { authorization: `Bearer ${r.json.renewal}` } });
    expect(renewed.status).toBe(200);
    // A token is not single use: every glidein of the entry holds it.
    expect((await boot(v1)).status).toBe(200);

    const issued = (await admin.get('/audit?action=renewal.issue&limit=1')).json.entries[0];
    expect(issued).toMatchObject({
      target: 'entry:CE_T',
      actor: expect.stringMatching(/^idtoken-version:[0-9a-f]{16}$/),
      detail: { bootstrap: 'token', idtokenVersionId: expect.stringMatching(/^[0-9a-f]{16}$/) },
    });
    expect(JSON.stringify(issued)).not.toContain(v1.split('.')[2]);
    const mine = (await admin.get('/factory/renewals?entry=CE_T')).json;
    expect(mine).toHaveLength(2);
    expect(mine[0]).toMatchObject({ bootstrap: 'token', ticket: null, batch: issued.detail.idtokenVersionId });
    // The version's chains are one batch: the admin ends them all at once.
    expect((await admin.post(`/factory/batches/${issued.detail.idtokenVersionId}/renewals/revoke`)).json).toEqual({ revoked: 2 });
  });

  it('refuses like a bad ticket: no entry, another entry, a tampered token, an API key; a ticket-only entry says so (403, uncounted)', async () => {
    const v = await cacheToken();
    expect(await boot(v, {})).toEqual(refused);
    expect(await boot(v, { entry: 'CE_O' })).toEqual(refused);
    expect(await boot(v, { entry: 'NO_SUCH' })).toEqual(refused);
    const sig = v.split('.')[2];
    expect(await boot(v.slice(0, -sig.length) + (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1))).toEqual(refused);
    expect(await boot(t.adminKey)).toEqual(refused);
    expect(await boot(feKey)).toEqual(refused);
    const bad = await boot(v, { entry: '../x' });
    expect([bad.status, bad.json.error.field]).toEqual([400, 'entry']);
    // The token of an entry that takes tickets only: its holder (and only a holder of the real
    // token) learns why, and it is no failure: a ticket-only entry's glideins behind one NAT trying
    // it must not rate-limit their address (the failure limit here is 40).
    const k = await cacheToken('CE_K');
    for (let i = 0; i < 45; i++) expect(await boot(k, { entry: 'CE_K' })).toEqual(off);
    expect((await boot(v)).status).toBe(200);
    // Switching the entry back to "ticket" stops new chains at once; "token" again resumes.
    expect((await putEntry('CE_T', { glideinBootstrap: 'ticket' })).status).toBe(200);
    expect(await boot(v)).toEqual(off);
    expect((await putEntry('CE_T')).status).toBe(200);
    expect((await boot(v)).status).toBe(200);
  });

  it("a site's token forwarded to an opted-in entry and to a ticket-only one bootstraps neither: opting in one entry never opts in its siblings", async () => {
    const exp = Math.floor(t.clock.now() / 1000) + 86_400;
    const value = token(exp);
    expect((await putEntry('CE_T2')).status).toBe(201);
    expect((await putEntry('CE_K2', { glideinBootstrap: 'ticket' })).status).toBe(201);
    // The frontend sends one token per site to every entry of the site: the same bytes to both.
    const both: EnvelopeCredential[] = ['CE_T2', 'CE_K2'].map((entry) => ({ entry, type: 'idtoken', version: ++version, expiresAt: exp, value }));
    expect((await send({ v: 1, credentials: both })).map((r: { result: string }) => r.result)).toEqual(['stored', 'stored']);
    // A glidein of the ticket-only entry holding that token cannot start a chain by naming the opted-in one.
    const sibling = await boot(value, { entry: 'CE_T2' });
    expect([sibling.status, sibling.json.error.code]).toEqual([403, 'TOKEN_BOOTSTRAP_OFF']);
    expect(sibling.json.error.message).toMatch(/also serves an entry that takes tickets only/);
    expect((await admin.get('/factory/renewals?entry=CE_T2')).json).toHaveLength(0);
    // Once every entry the token serves opts in, it bootstraps.
    expect((await putEntry('CE_K2')).status).toBe(200);
    expect((await boot(value, { entry: 'CE_T2' })).status).toBe(200);
  });

  it('the previous versions bootstrap while kept and unexpired; an expired, dropped or withdrawn one does not', async () => {
    const old = await cacheToken('CE_T', 3600);
    const a = await cacheToken();
    const b = await cacheToken();
    // old, a, b kept: old still bootstraps, and the answer is the current token.
    expect(await boot(old)).toMatchObject({ status: 200, json: { idtoken: b } });
    t.clock.advance(3600);
    expect(await boot(old)).toEqual(refused);
    expect((await boot(a)).status).toBe(200);
    const c = await cacheToken();
    await cacheToken();
    // Only the newest three are kept: a (two before c) is dropped.
    expect(await boot(a)).toEqual(refused);
    expect((await boot(c)).status).toBe(200);
    expect(await send({ v: 2, withdrawals: [{ entry: 'CE_T', type: 'idtoken', version: ++version, reason: 'TOKEN_REVOKED' }] })).toEqual([
      { entry: 'CE_T', type: 'idtoken', version, result: 'withdrawn' },
    ]);
    expect(await boot(c)).toEqual(refused);
  });

  it('one version starts at most tickets.maxTokenBootstraps chains: then 403, and the next version starts more', async () => {
    const v = await cacheToken();
    for (let i = 0; i < 4; i++) expect((await boot(v)).status).toBe(200);
    const over = await boot(v);
    expect([over.status, over.json.error.code]).toEqual([403, 'TOKEN_BOOTSTRAPS_EXHAUSTED']);
    expect((await boot(await cacheToken())).status).toBe(200);
  });

  it('bad tokens count towards the per-address failure limit shared with tickets', async () => {
    t.clock.advance(120);
    const v = await cacheToken();
    for (let i = 0; i < 40; i++) expect((await boot(`${v}x`)).status).toBe(401);
    const limited = await boot(v.replace(/.$/, '_'));
    expect([limited.status, limited.json.error.code]).toEqual([429, 'RATE_LIMITED']);
    const ticket = await boot('gkt_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(ticket.status).toBe(429);
  });
});
