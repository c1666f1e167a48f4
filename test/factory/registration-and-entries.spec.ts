import { startTestApp, TestApp } from '../support/app.js';
import { client } from '../support/service.js';

describe('registration both ways', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let frontendKey: string;

  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.api, t.adminKey);
    frontendKey = ((await (await fetch(`${t.api}/frontend/identity`)).json()) as { publicKey: string }).publicKey;
  });
  afterAll(() => t.close());

  it('a factory admin registers a frontend and gets its API key (role frontend) once, in one transaction', async () => {
    const res = await api.post('/factory/frontends', { name: 'frontend.example.org', publicKey: frontendKey });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      name: 'frontend.example.org',
      publicKey: frontendKey,
      fingerprint: expect.stringMatching(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/),
    });
    expect(res.json.apiKey).toMatch(/^gk_[0-9a-f]{16}_/);
    const keys = (await api.get('/apikeys')).json;
    expect(keys).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'frontend:frontend.example.org', roles: ['frontend'] })]));
    const list = await api.get('/factory/frontends');
    expect(list.json).toEqual([expect.objectContaining({ name: 'frontend.example.org', apiKeyId: res.json.apiKeyId })]);
    expect(list.text).not.toContain(res.json.apiKey.slice(20));
    // Again with the same name or key: refused, and no second API key was left behind.
    const again = await api.post('/factory/frontends', { name: 'other', publicKey: frontendKey });
    expect([again.status, again.json.error.code]).toEqual([409, 'FRONTEND_EXISTS']);
    expect((await api.get('/apikeys')).json.filter((k: { name: string }) => k.name.startsWith('frontend:'))).toHaveLength(1);
  });

  it('refuses a malformed public key or name', async () => {
    expect((await api.post('/factory/frontends', { name: 'x', publicKey: 'short' })).status).toBe(400);
    expect((await api.post('/factory/frontends', { name: 'a b', publicKey: frontendKey })).status).toBe(400);
    expect((await api.post('/factory/frontends', { name: 'y'.repeat(55), publicKey: frontendKey })).status).toBe(400);
  });

  it('a frontend admin registers a factory; its API key is kept sealed and never shown', async () => {
    const factoryKey = ((await (await fetch(`${t.api}/factory/identity`)).json()) as { publicKey: string }).publicKey;
    const apiKey = (await api.post('/factory/frontends', { name: 'fe2', publicKey: Buffer.alloc(32, 7).toString('base64') })).json.apiKey as string;
    const res = await api.post('/factories', { name: 'factory-a', url: 'https://factory.example.org:8443/', apiKey, publicKey: factoryKey });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ name: 'factory-a', url: 'https://factory.example.org:8443', publicKey: factoryKey });
    expect(JSON.stringify(res.json)).not.toContain(apiKey.slice(20));
    const list = await api.get('/factories');
    expect(list.json.map((f: { name: string }) => f.name)).toEqual(['factory-a']);
    expect(list.text).not.toContain(apiKey.slice(20));
    const row = await t.db.dataSource.query(`SELECT sealed_api_key FROM factories WHERE name = 'factory-a'`);
    expect(row[0].sealed_api_key).toMatch(/^v1:/);
    expect(row[0].sealed_api_key).not.toContain(apiKey.slice(20));
    expect((await api.post('/factories', { name: 'factory-a', url: 'https://x.example.org', apiKey, publicKey: factoryKey })).json.error.code).toBe(
      'FACTORY_EXISTS',
    );
    expect((await api.post('/factories', { name: 'factory-b', url: 'ftp://x', apiKey, publicKey: factoryKey })).status).toBe(400);
    expect((await api.post('/factories', { name: 'factory-b', url: 'https://x.example.org', apiKey: 'nope', publicKey: factoryKey })).status).toBe(400);
  });
});

describe('factory entries', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.api, t.adminKey);
  });
  afterAll(() => t.close());

  it('are created, replaced, listed (to registered frontends too) and deleted, every change audited', async () => {
    const body = {
      site: 'CMS_T2_US_Nebraska',
      gatekeeper: 'red-ce1.unl.edu:9619',
      trustDomain: 'CMS',
      authMethod: 'grid_proxy,scitoken',
      condorVersion: '23.0.3',
    };
    const created = await api.put('/factory/entries/CMS_T2_US_Nebraska_ce1', body);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'CMS_T2_US_Nebraska_ce1', ...body, securityClass: null });
    const replaced = await api.put('/factory/entries/CMS_T2_US_Nebraska_ce1', { ...body, condorVersion: '8.8.15', securityClass: 'production' });
    expect([replaced.status, replaced.json.condorVersion, replaced.json.securityClass]).toEqual([200, '8.8.15', 'production']);
    const fe = (await api.post('/factory/frontends', { name: 'fe.example.org', publicKey: Buffer.alloc(32, 9).toString('base64') })).json.apiKey as string;
    const seen = await client(t.api, fe).get('/factory/entries');
    expect([seen.status, seen.json.map((e: { name: string }) => e.name)]).toEqual([200, ['CMS_T2_US_Nebraska_ce1']]);
    expect((await client(t.api, fe).put('/factory/entries/x', body)).status).toBe(403);
    expect((await api.del('/factory/entries/CMS_T2_US_Nebraska_ce1')).status).toBe(204);
    expect((await api.del('/factory/entries/CMS_T2_US_Nebraska_ce1')).json.error.code).toBe('NOT_FOUND');
    const actions = (await api.get('/audit?action=factory.entry.&result=success&limit=100')).json.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['factory.entry.delete', 'factory.entry.update', 'factory.entry.create']);
  });

  it('audits a refused or denied entry PUT under the names its success writes, never a third one', async () => {
    const fe = (await api.post('/factory/frontends', { name: 'fe2.example.org', publicKey: Buffer.alloc(32, 8).toString('base64') })).json.apiKey as string;
    expect((await api.put('/factory/entries/E_refused', { site: 's', gatekeeper: 'ce example', trustDomain: 'OSG', authMethod: 'scitoken' })).status).toBe(400);
    expect((await client(t.api, fe).put('/factory/entries/E_refused', {})).status).toBe(403);
    const lines = (await api.get('/audit?action=factory.entry.&limit=100')).json.entries.filter((e: { result: string }) => e.result !== 'success');
    expect(lines.map((e: { action: string; result: string; code: string }) => [e.action, e.result, e.code])).toEqual(
      expect.arrayContaining([
        ['factory.entry.create', 'denied', 'FORBIDDEN'],
        ['factory.entry.create', 'failure', 'VALIDATION_FAILED'],
      ]),
    );
    expect((await api.get('/audit?action=factory.entry.put')).json.entries).toEqual([]);
    // Refused once the entry was looked up (here the database refuses the write): the PUT was an update.
    const ok = { site: 's', gatekeeper: 'ce.example.org', trustDomain: 'OSG', authMethod: 'scitoken' };
    expect((await api.put('/factory/entries/E_kept', ok)).status).toBe(201);
    await t.db.dataSource.query("CREATE TRIGGER refuse_entry_update BEFORE UPDATE ON factory_entries BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    try {
      expect((await api.put('/factory/entries/E_kept', { ...ok, site: 't' })).status).toBe(500);
    } finally {
      await t.db.dataSource.query('DROP TRIGGER refuse_entry_update');
    }
    const kept = (await api.get('/audit?target=entry:E_kept&limit=10')).json.entries;
    expect(kept.map((e: { action: string; result: string }) => [e.action, e.result])).toEqual([
      ['factory.entry.update', 'failure'],
      ['factory.entry.create', 'success'],
    ]);
    expect((await api.del('/factory/entries/E_kept')).status).toBe(204);
  });

  it('refuses malformed fields with 400 and stores nothing', async () => {
    const ok = { site: 's', gatekeeper: 'ce.example.org', trustDomain: 'OSG', authMethod: 'scitoken' };
    for (const bad of [
      { ...ok, gatekeeper: 'ce example' },
      { ...ok, authMethod: 'scitoken;rm -rf' },
      { ...ok, condorVersion: 'latest' },
      { ...ok, site: '../x' },
      { ...ok, extra: 1 },
    ]) {
      expect((await api.put('/factory/entries/e1', bad)).status).toBe(400);
    }
    expect((await api.put('/factory/entries/a%20b', ok)).status).toBe(400);
    expect((await api.get('/factory/entries')).json).toEqual([]);
  });
});
