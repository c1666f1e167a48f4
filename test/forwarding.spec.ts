import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sealEnvelope } from '../src/forwarding/envelope.js';
import { DelivererService } from '../src/forwarding/deliverer.service.js';
import { ENGINES, startTestApp, TestApp } from './support/app.js';
import { client, tempDir } from './support/service.js';

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

const entry = (site: string, over: Record<string, unknown> = {}) => ({ site, gatekeeper: 'ce.example.org:9619', trustDomain: 'OSG', authMethod: 'grid_proxy,scitoken', condorVersion: '23.0.3', ...over });

describe.each(ENGINES)('forwarding on %s', (engine) => {
  let t: TestApp;
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = tempDir('glidekey-cache-');
    t = await startTestApp({ engine, env: { GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
  });
  afterAll(() => t.close());

  it('a site and a matching entry put the site\'s current token in the factory cache and its file; entries that get nothing say why', async () => {
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

    const file = join(cacheDir, `user_${frontendName}`, 'glidein_gfactory_instance', `credential_${frontendName}_OSG_US_Nebraska_ce1.idtoken`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8');
    const verified = await admin.post('/tokens/verify', { token });
    expect(verified.json).toMatchObject({ valid: true, site: 'Nebraska' });
    expect(existsSync(join(cacheDir, `user_${frontendName}`, 'glidein_gfactory_instance', `credential_${frontendName}_OSG_US_Nebraska_old.idtoken`))).toBe(false);

    const factories = (await admin.get('/factories')).json;
    const seen = Object.fromEntries(factories[0].entries.map((e: { name: string }) => [e.name, e]));
    expect(seen.OSG_US_Nebraska_ce1.idtoken).toEqual({ send: true, site: 'Nebraska' });
    expect(seen.OSG_US_Nebraska_old.idtoken).toEqual({ send: false, reason: 'HTCondor 8.8.15 predates IDTOKENs (8.9.1)' });
    expect(seen.Elsewhere_ce.idtoken.reason).toBe("site NotOurs is not one of this frontend's sites");
    expect(seen.OSG_US_Nebraska_ce1.scitoken).toEqual({ send: false, reason: 'no SciToken with trust domain OSG' });

    const deliveries = (await admin.get('/deliveries')).json;
    expect(deliveries).toEqual([expect.objectContaining({ factory: 'self', entry: 'OSG_US_Nebraska_ce1', type: 'idtoken', source: 'Nebraska', state: 'delivered', attempts: 0 })]);
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
