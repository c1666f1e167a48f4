import { DataSource } from 'typeorm';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

describe.each(ENGINES)('database on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp({ engine });
    api = client(t.api, t.adminKey);
  });
  afterAll(() => t.close());

  it('is built by the real migrations, all applied', async () => {
    const ds: DataSource = t.db.dataSource;
    expect(ds.options.synchronize).toBe(false);
    expect(await ds.showMigrations()).toBe(false);
    const ran = await ds.query('SELECT name FROM migrations ORDER BY id');
    expect(ran.map((r: { name: string }) => r.name)).toEqual(ds.migrations.map((m) => m.name));
  });

  it('refuses to change or remove an audit line', async () => {
    await api.post('/sites', { name: 'audited' });
    await expect(t.db.dataSource.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(t.db.dataSource.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
  });

  it('mints concurrently: every token lands in the ledger and verifies', async () => {
    expect((await api.post('/sites', { name: 'busy' })).status).toBe(201);
    const minted = await Promise.all(Array.from({ length: 40 }, () => api.post('/sites/busy/tokens', {})));
    expect(minted.map((r) => r.status)).toEqual(Array(40).fill(201));
    expect(new Set(minted.map((r) => r.json.jti)).size).toBe(40);
    const ledger = await api.get('/tokens?site=busy&limit=1000');
    expect(ledger.json.tokens.filter((x: { mintedBy: string }) => x.mintedBy === 'api-key:admin')).toHaveLength(40);
    const verified = await Promise.all(minted.map((r) => api.post('/tokens/verify', { token: r.json.token })));
    expect(verified.every((v) => v.json.valid === true)).toBe(true);
    const audit = await api.get('/audit?action=token.mint&target=site:busy&actor=api-key:admin&limit=1000');
    expect(audit.json.entries).toHaveLength(40);
  });

  it('lets exactly one of two concurrent updates of the same version win', async () => {
    expect((await api.post('/sites', { name: 'contended' })).status).toBe(201);
    const results = await Promise.all([
      api.patch('/sites/contended', { rowVersion: 1, lifetimeSeconds: 3600 }),
      api.patch('/sites/contended', { rowVersion: 1, lifetimeSeconds: 7200 }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const site = await api.get('/sites/contended');
    expect(site.json.rowVersion).toBe(2);
    expect([3600, 7200]).toContain(site.json.lifetimeSeconds);
  });

  it('verifies with every reason code', async () => {
    expect((await api.post('/sites', { name: 'verify-me', lifetimeSeconds: 600 })).status).toBe(201);
    const minted = await api.post('/sites/verify-me/tokens', {});
    const token: string = minted.json.token;
    const [h, p, s] = token.split('.');
    const reason = async (tok: string) => (await api.post('/tokens/verify', { token: tok })).json;
    const reencode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    expect(await reason(token)).toMatchObject({ valid: true, site: 'verify-me', keyVersion: 1 });
    expect(await reason('garbage')).toEqual({ valid: false, reason: 'MALFORMED' });
    expect(await reason(`${h}.${p}`)).toEqual({ valid: false, reason: 'MALFORMED' });
    expect(await reason(`${reencode({ alg: 'HS256', kid: 'nobody', typ: 'JWT' })}.${p}.${s}`)).toEqual({ valid: false, reason: 'UNKNOWN_KID' });
    expect(await reason(`${h}.${reencode({ ...payload, scope: 'condor:/ADMINISTRATOR' })}.${s}`)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    expect(await reason(`${reencode({ alg: 'none', kid: 'verify-me', typ: 'JWT' })}.${p}.`)).toEqual({ valid: false, reason: 'MALFORMED' });
    expect(await reason(`${reencode({ alg: 'none', kid: 'verify-me', typ: 'JWT' })}.${p}.${s}`)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    t.clock.advance(601);
    expect(await reason(token)).toEqual({ valid: false, reason: 'EXPIRED' });
    t.clock.advance(-601 - 60);
    expect(await reason(token)).toEqual({ valid: false, reason: 'NOT_YET_VALID' });
    t.clock.advance(60);
    expect((await api.patch('/sites/verify-me', { issuer: 'other.example.org:9618' })).status).toBe(200);
    expect(await reason(token)).toEqual({ valid: false, reason: 'WRONG_ISSUER' });
    expect((await api.patch('/sites/verify-me', { issuer: 'collector.example.org:9618' })).status).toBe(200);
    expect((await api.post(`/tokens/${minted.json.jti}/revoke`)).status).toBe(200);
    expect(await reason(token)).toEqual({ valid: false, reason: 'REVOKED' });
    // Retiring the key version (what rotation does) makes its tokens fail with KEY_RETIRED.
    const other = await api.post('/sites/verify-me/tokens', {});
    await t.db.dataSource.query(`UPDATE site_keys SET state = 'retired' WHERE kid = 'verify-me'`);
    expect(await reason(other.json.token)).toEqual({ valid: false, reason: 'KEY_RETIRED' });
    const retired = (await api.get('/tokens?site=verify-me&state=retired')).json.tokens.filter((x: { mintedBy: string }) => x.mintedBy === 'api-key:admin');
    expect(retired.map((x: { jti: string }) => x.jti)).toEqual([other.json.jti]);
  });

  it('deletes a site with its keys: its tokens stop verifying', async () => {
    expect((await api.post('/sites', { name: 'doomed' })).status).toBe(201);
    const minted = await api.post('/sites/doomed/tokens', {});
    expect((await api.del('/sites/doomed')).status).toBe(204);
    expect((await api.post('/tokens/verify', { token: minted.json.token })).json).toEqual({ valid: false, reason: 'UNKNOWN_KID' });
    expect((await api.get('/sites/doomed')).json.error.code).toBe('SITE_NOT_FOUND');
    const keys = await t.db.dataSource.query(`SELECT COUNT(*) AS n FROM site_keys k JOIN sites s ON s.id = k.site_id WHERE s.name = 'doomed'`);
    expect(Number(keys[0].n)).toBe(0);
  });
});

describe('the service-wide lifetime ceiling', () => {
  it('caps sites created under a higher ceiling once it is lowered', async () => {
    const dataDir = tempDir();
    const first = await startTestApp({ dataDir });
    expect((await client(first.api, first.adminKey).post('/sites', { name: 'long-lived', lifetimeSeconds: 86_400, maxLifetimeSeconds: 604_800 })).status).toBe(
      201,
    );
    await first.app.close();
    const second = await startTestApp({ dataDir, env: { GLIDEKEY_TOKENS_MAX_LIFETIME_SECONDS: '3600', GLIDEKEY_TOKENS_DEFAULT_LIFETIME_SECONDS: '3600' } });
    const api = client(second.api, first.adminKey);
    const minted = await api.post('/sites/long-lived/tokens', {});
    expect(minted.status).toBe(201);
    expect(minted.json.expiresAt - minted.json.issuedAt).toBe(3600);
    const over = await api.post('/sites/long-lived/tokens', { lifetimeSeconds: 7200 });
    expect([over.status, over.json.error.code]).toEqual([400, 'LIFETIME_EXCEEDS_POLICY']);
    await second.close();
    removeDir(dataDir);
  });
});
