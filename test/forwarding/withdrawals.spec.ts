import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvelopeCredential, EnvelopeWithdrawal, sealEnvelope } from '../../src/protocol/envelope.js';
import { DelivererService } from '../../src/forwarding/deliverer.service.js';
import { RenewalService } from '../../src/current-token/renewal.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { selfRegistered } from '../support/fixtures.js';
import { client, removeDir, tempDir } from '../support/service.js';

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

describe.each(ENGINES)('the factory applies withdrawals, on %s', (engine) => {
  let t: TestApp;
  let cacheDir: string;
  let fe: { publicKey: Uint8Array; privateKey: Uint8Array };
  let factoryKey: Uint8Array;
  let feKey: string;
  const FE = 'fe.example.org';
  const file = (entry: string) => join(cacheDir, `user_${FE}`, 'glidein_gfactory_instance', `credential_${FE}.main_${entry}.idtoken`);
  const cred = (version: number, entry = 'CE_1'): EnvelopeCredential => ({
    entry,
    type: 'idtoken',
    version,
    expiresAt: Math.floor(t.clock.now() / 1000) + 2 * 86_400,
    value: `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.sig`,
  });
  const wd = (version: number, entry = 'CE_1'): EnvelopeWithdrawal => ({ entry, type: 'idtoken', version, reason: 'TOKEN_REVOKED' });
  const post = async (body: object) =>
    client(t.api, feKey).post(
      '/factory/credentials',
      await sealEnvelope({ frontend: FE, id: randomUUID(), createdAt: t.clock.now(), ...body } as never, fe, factoryKey),
    );
  const credentials = (...c: EnvelopeCredential[]) => post({ v: 1, credentials: c });
  const withdrawals = (...w: EnvelopeWithdrawal[]) => post({ v: 2, withdrawals: w });
  const row = async (entry = 'CE_1') =>
    (await client(t.api, t.adminKey).get(`/factory/cache?entry=${entry}`)).json.find((c: { type: string }) => c.type === 'idtoken');

  beforeAll(async () => {
    await sodium.ready;
    fe = sodium.crypto_box_keypair();
    cacheDir = tempDir('glidekey-wd-cache-');
    t = await startTestApp({ engine, env: { GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_ROLES: 'factory', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    const admin = client(t.api, t.adminKey);
    feKey = (await admin.post('/factory/frontends', { name: FE, publicKey: b64(fe.publicKey) })).json.apiKey;
    factoryKey = Buffer.from((await admin.get('/factory/identity')).json.publicKey, 'base64');
    for (const e of ['CE_1', 'CE_2'])
      expect(
        (
          await admin.put(`/factory/entries/${e}`, {
            site: 'S1',
            gatekeeper: 'ce1.example.org',
            trustDomain: 'OSG',
            authMethod: 'scitoken',
            condorVersion: '23.0.3',
          })
        ).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    removeDir(cacheDir);
  });

  it('a newer withdrawal removes the credential (row, sealed value, file) and leaves a tombstone that refuses older copies', async () => {
    expect((await credentials(cred(10))).json.results[0].result).toBe('stored');
    expect(existsSync(file('CE_1'))).toBe(true);
    // Older than what is held: refused, nothing changes.
    expect((await withdrawals(wd(9))).json.results).toEqual([{ entry: 'CE_1', type: 'idtoken', version: 9, result: 'refused', code: 'CREDENTIAL_OLDER' }]);
    expect((await row()).state).toBe('valid');
    expect((await withdrawals(wd(11))).json.results).toEqual([{ entry: 'CE_1', type: 'idtoken', version: 11, result: 'withdrawn' }]);
    expect(await row()).toMatchObject({ state: 'withdrawn', version: 11, reason: 'TOKEN_REVOKED', fingerprint: null, expiresAt: null });
    expect(existsSync(file('CE_1'))).toBe(false);
    expect(await t.db.dataSource.query(`SELECT * FROM cached_credentials WHERE entry = 'CE_1'`)).toEqual([]);
    // A late copy of the withdrawn credential, or of anything up to the withdrawal, never comes back.
    for (const v of [10, 11]) expect((await credentials(cred(v))).json.results[0]).toMatchObject({ result: 'refused', code: 'CREDENTIAL_OLDER' });
    // The same withdrawal again (a retry whose answer was lost): acknowledged, unchanged.
    expect((await withdrawals(wd(11))).json.results[0].result).toBe('unchanged');
    // A newer credential replaces the tombstone.
    expect((await credentials(cred(12))).json.results[0].result).toBe('stored');
    expect(await row()).toMatchObject({ state: 'valid', version: 12 });
    expect(await t.db.dataSource.query(`SELECT * FROM withdrawn_credentials WHERE entry = 'CE_1'`)).toEqual([]);
    expect(readFileSync(file('CE_1'), 'utf8')).toMatch(/^eyJ/);
  });

  it('a withdrawal of something never held, or for an unknown entry, is acknowledged, not an error', async () => {
    const res = await withdrawals(wd(5, 'CE_2'), wd(5, 'NoSuchEntry'));
    expect(res.json.results).toEqual([
      { entry: 'CE_2', type: 'idtoken', version: 5, result: 'unchanged' },
      { entry: 'NoSuchEntry', type: 'idtoken', version: 5, result: 'unchanged' },
    ]);
    // Still a tombstone for the known entry: an older copy in flight cannot land afterwards.
    expect(await row('CE_2')).toMatchObject({ state: 'withdrawn', version: 5 });
    expect((await credentials(cred(4, 'CE_2'))).json.results[0]).toMatchObject({ result: 'refused', code: 'CREDENTIAL_OLDER' });
    const audit = (await client(t.api, t.adminKey).get('/audit?action=factory.credentials.withdraw&limit=1')).json.entries[0];
    expect(audit).toMatchObject({ target: `frontend:${FE}`, detail: { withdrawn: 0, unchanged: 2, refused: 0 } });
  });

  it('the v2 body is strict and bounded: no credentials beside withdrawals, no unknown reason or field, at most 2000', async () => {
    for (const bad of [
      { v: 2, withdrawals: [wd(20)], credentials: [cred(20)] },
      { v: 1, withdrawals: [wd(20)] },
      { v: 2, withdrawals: [] },
      { v: 2, withdrawals: [{ ...wd(20), reason: 'BECAUSE' }] },
      { v: 2, withdrawals: [{ ...wd(20), value: 'x' }] },
      { v: 2, withdrawals: Array(2001).fill(wd(20)) },
    ]) {
      await expect(post(bad)).rejects.toThrow(); // the sender's own schema refuses to seal it
    }
  });
});

describe.each(ENGINES)('the outbox never re-sends what was revoked, and a crash before the renewer is repaired, on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  const rows = async (entry: string) =>
    (await api.get(`/deliveries?entry=${entry}&limit=100`)).json as { kind: string; state: string; reason: string | null; type: string }[];

  beforeAll(async () => {
    t = await startTestApp({ engine, env: { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    api = client(t.api, t.adminKey);
    await selfRegistered(api, t.url);
    expect(
      (
        await api.put('/factory/entries/CE_R', {
          site: 'SiteR',
          gatekeeper: 'ce.example.org',
          trustDomain: 'OSG',
          authMethod: 'grid_proxy',
          condorVersion: '23.0.3',
        })
      ).status,
    ).toBe(201);
    expect((await api.post('/sites', { name: 'SiteR' })).status).toBe(201);
    expect((await api.post('/factories/self/sync')).json).toMatchObject({ queued: 1, delivery: { delivered: 1 } });
  });
  afterAll(() => t.close());

  it('a revocation whose renewal never ran (the process died after the commit): the sync withdraws the token, the next renewal replaces it', async () => {
    const jti = (await api.get('/sites/SiteR')).json.currentToken.jti;
    // The ledger row revoked as the revoke route does, but no event: as if the process died right after the commit.
    await t.db.dataSource.query(`UPDATE issued_tokens SET revoked_at = ${t.clock.now()} WHERE jti = '${jti}'`);
    const sync = await api.post('/factories/self/sync');
    expect(sync.json).toMatchObject({ queued: 0, delivery: { delivered: 1 } });
    expect((await rows('CE_R'))[0]).toMatchObject({ kind: 'withdrawal', reason: 'TOKEN_REVOKED', state: 'delivered' });
    expect((await api.get('/factory/cache?entry=CE_R')).json[0]).toMatchObject({ state: 'withdrawn' });
    // Syncing again queues nothing more: the withdrawal is the newest row.
    expect((await api.post('/factories/self/sync')).json).toMatchObject({ queued: 0 });
    expect(await rows('CE_R')).toHaveLength(2);
    // The scheduler's renewal pass finds the revoked current token and replaces it.
    expect(await t.app.get(RenewalService).renewDue()).toEqual(['SiteR']);
    await t.app.get(DelivererService).drain();
    const newJti = (await api.get('/sites/SiteR')).json.currentToken.jti;
    expect(newJti).not.toBe(jti);
    expect((await rows('CE_R'))[0]).toMatchObject({ kind: 'credential', state: 'delivered' });
    expect((await api.get('/factory/cache?entry=CE_R')).json[0]).toMatchObject({ state: 'valid' });
  });

  it('a queued token that a subject rule revokes before it goes out is dropped, never sent', async () => {
    const jti = (await api.get('/sites/SiteR')).json.currentToken.jti;
    const sub = `SiteR@${(await api.get('/frontend/identity')).json.name}`;
    // A rule applied with no renewer, then a pending copy of the current token (as a factory outage
    // leaves one). In this order: a background pass that picks the row up early must see the rule too.
    await t.db.dataSource.query(
      `INSERT INTO subject_revocations (id, subject, issued_before, expires_at, created_at, created_by) VALUES ('${randomUUID()}', '${sub}', ${Math.floor(t.clock.now() / 1000)}, 253402300799000, ${t.clock.now()}, 'test')`,
    );
    await t.db.dataSource.query(`UPDATE deliveries SET state = 'pending', next_attempt_at = 0 WHERE source_ref = '${jti}'`);
    const report = await t.app.get(DelivererService).drain();
    // This pass or a background one dropped it; none sent it.
    expect(report.delivered).toBe(0);
    expect((await api.get('/deliveries?entry=CE_R&limit=1')).json[0]).toMatchObject({ kind: 'credential', state: 'dropped', lastError: 'REVOKED' });
  });
});
