import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { client, removeDir, Service, startService, tempDir } from '../support/service.js';

/**
 * SciToken audiences at process level: a frontend process and a factory process on loopback. A
 * token reaches only the entries whose CE its aud names (or all of them for the "any" audience, or
 * with allEntries), and GET /factories says why an entry got none.
 */

const FRONTEND = 'frontend.example.org';
const ISSUER = 'https://vo-issuer.example.org';
const WLCG_ANY = 'https://wlcg.cern.ch/jwt/v1/any';

const ENTRIES = {
  OSG_CE1: { site: 'Nebraska', gatekeeper: 'ce1.unl.edu ce1.unl.edu:9619', trustDomain: 'OSG', authMethod: 'scitoken', condorVersion: '23.0.3' },
  OSG_CE2: { site: 'Nebraska', gatekeeper: 'ce2.unl.edu:9619', trustDomain: 'OSG', authMethod: 'grid_proxy,scitoken', condorVersion: '23.0.3' },
  OSG_ARC: { site: 'Nebraska', gatekeeper: 'https://arc1.example.org:443/arex', trustDomain: 'OSG', authMethod: 'scitoken', condorVersion: '23.0.3' },
  CMS_A: { site: 'Nebraska', gatekeeper: 'cea.cern.ch:9619', trustDomain: 'CMS', authMethod: 'scitoken', condorVersion: '23.0.3' },
  CMS_B: { site: 'Nebraska', gatekeeper: 'ceb.cern.ch:9619', trustDomain: 'CMS', authMethod: 'scitoken', condorVersion: '23.0.3' },
};
type EntryName = keyof typeof ENTRIES;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('SciToken audiences between a frontend process and a factory process', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cacheDir = tempDir('glidekey-aud-cache-');
  let fe: Service;
  let fa: Service;
  const feApi = () => client(fe.api, fe.adminKey);
  const faApi = () => client(fa.api, fa.adminKey);
  const fileOf = (entry: EntryName) => join(cacheDir, `user_${FRONTEND}`, 'glidein_gfactory_instance', `credential_${FRONTEND}.main_${entry}.scitoken`);
  const fileText = (entry: EntryName) => (existsSync(fileOf(entry)) ? readFileSync(fileOf(entry), 'utf8') : null);
  const sign = (aud: string | string[], jti: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: ISSUER, sub: 'vo-pilot', aud, scope: 'compute.create', iat: now, exp: now + 6 * 3600, 'wlcg.ver': '1.0', jti })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(rsa.privateKey);
  };
  const seen = async () => Object.fromEntries((await feApi().get('/factories')).json[0].entries.map((e: { name: string }) => [e.name, e]));
  /** Waits until the factory's cache and file for `entry` hold exactly `token`. */
  const holds = (entry: EntryName, token: string) =>
    until(`${entry} to hold the token`, async () => {
      const row = (await faApi().get(`/factory/cache?entry=${entry}`)).json.find((c: { type: string }) => c.type === 'scitoken');
      return row?.state === 'valid' && fileText(entry) === token ? true : undefined;
    });
  const scitokenRows = async (entry: EntryName) =>
    (await feApi().get(`/deliveries?limit=1000&entry=${entry}`)).json.filter((d: { type: string }) => d.type === 'scitoken');

  beforeAll(async () => {
    [fe, fa] = await Promise.all([
      startService({ env: { GLIDEKEY_ROLES: 'frontend', GLIDEKEY_SCHEDULER_TICK_SECONDS: '1' } }),
      startService({ env: { GLIDEKEY_ROLES: 'factory', GLIDEKEY_FACTORY_CACHE_DIR: cacheDir } }),
    ]);
    const identity = (await feApi().get('/frontend/identity')).json;
    const reg = await faApi().post('/factory/frontends', { name: identity.name, publicKey: identity.publicKey });
    expect(reg.status).toBe(201);
    const faIdentity = (await faApi().get('/factory/identity')).json;
    expect((await feApi().post('/factories', { name: 'factory-1', url: fa.url, apiKey: reg.json.apiKey, publicKey: faIdentity.publicKey })).status).toBe(201);
    for (const [name, entry] of Object.entries(ENTRIES)) expect([name, (await faApi().put(`/factory/entries/${name}`, entry)).status]).toEqual([name, 201]);
    await until('the frontend to see the entries', async () => ((await feApi().get('/factories')).json[0].entries?.length === 5 ? true : undefined));
    const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] };
    expect((await feApi().put('/scitoken-issuers/vo', { issuer: ISSUER, jwks })).status).toBe(201);
  });

  afterAll(async () => {
    await Promise.all([fe?.stop(), fa?.stop()]);
    for (const p of [fe, fa]) if (p) removeDir(p.dataDir);
    removeDir(cacheDir);
  });

  it('a token whose aud names one CE reaches that entry only; the others say why', async () => {
    const token = await sign('ce1.unl.edu:9619', 'ce1-only');
    expect((await feApi().put('/scitokens/osg-ce1', { token, trustDomain: 'OSG' })).status).toBe(201);
    await holds('OSG_CE1', token);
    // Two scheduler ticks more: nothing is on its way to the other OSG entries.
    await new Promise((r) => setTimeout(r, 2500));
    for (const e of ['OSG_CE2', 'OSG_ARC'] as const) {
      expect([e, fileText(e), await scitokenRows(e)]).toEqual([e, null, []]);
      const cached = (await faApi().get(`/factory/cache?entry=${e}`)).json.filter((c: { type: string }) => c.type === 'scitoken');
      expect([e, cached.map((c: { state: string }) => c.state)]).toEqual([e, e === 'OSG_ARC' ? ['missing'] : []]);
    }
    const s = await seen();
    expect(s.OSG_CE1.scitoken).toEqual({ send: true, name: 'osg-ce1', match: 'ce' });
    expect(s.OSG_CE2.scitoken).toEqual({
      send: false,
      reason: expect.stringMatching(
        /^no SciToken with trust domain OSG is meant for this entry's CE \(gatekeeper ce2\.unl\.edu:9619\): osg-ce1 \(aud ce1\.unl\.edu:9619\);.*allEntries: true$/,
      ),
    });
    expect(s.OSG_ARC.scitoken.reason).toContain('gatekeeper https://arc1.example.org:443/arex');
    expect(JSON.stringify(s)).not.toContain(token.split('.')[2]);
  });

  it('a token for the ARC CE by its https URL reaches it; the "any" audience reaches every entry of its label', async () => {
    const arc = await sign(['https://arc1.example.org/arex', 'https://other.example.org'], 'arc');
    expect((await feApi().put('/scitokens/osg-arc', { token: arc, trustDomain: 'OSG' })).status).toBe(201);
    await holds('OSG_ARC', arc);
    const any = await sign(WLCG_ANY, 'cms-any');
    expect((await feApi().put('/scitokens/cms-any', { token: any, trustDomain: 'CMS' })).status).toBe(201);
    await Promise.all([holds('CMS_A', any), holds('CMS_B', any)]);
    const s = await seen();
    expect([s.CMS_A.scitoken, s.CMS_B.scitoken]).toEqual([
      { send: true, name: 'cms-any', match: 'any' },
      { send: true, name: 'cms-any', match: 'any' },
    ]);
    // The CE1 entry keeps its own token: the one naming its CE, not another label's "any".
    expect(s.OSG_CE1.scitoken).toMatchObject({ name: 'osg-ce1', match: 'ce' });
    expect(fileText('OSG_CE2')).toBeNull();
  });

  it('allEntries sends a token to every entry of its label whatever its aud; entries its aud names still prefer a token naming their CE', async () => {
    const token = await sign('ce1.unl.edu:9619', 'ce1-everywhere');
    expect((await feApi().put('/scitokens/osg-ce1', { token, trustDomain: 'OSG', allEntries: true })).json).toMatchObject({ allEntries: true });
    await Promise.all([holds('OSG_CE1', token), holds('OSG_CE2', token)]);
    const s = await seen();
    expect(s.OSG_CE2.scitoken).toEqual({ send: true, name: 'osg-ce1', match: 'allEntries' });
    expect(s.OSG_CE1.scitoken).toEqual({ send: true, name: 'osg-ce1', match: 'ce' });
    // The ARC entry keeps the token whose aud names it over an allEntries one.
    expect(s.OSG_ARC.scitoken).toEqual({ send: true, name: 'osg-arc', match: 'ce' });
    // Never across labels.
    expect(s.CMS_A.scitoken).toMatchObject({ name: 'cms-any' });
    const audit = (await feApi().get('/audit?action=scitoken.store&limit=1')).json.entries[0];
    expect(audit).toMatchObject({ target: 'scitoken:osg-ce1', detail: { allEntries: true } });
  });

  it('refuses allEntries that is not a boolean with 400 and a code, and changes nothing', async () => {
    const view = async () => ({ ...(await feApi().get('/scitokens/osg-ce1')).json, secondsToExpiry: null });
    const before = await view();
    const res = await feApi().put('/scitokens/osg-ce1', { token: await sign(WLCG_ANY, 'bad'), trustDomain: 'OSG', allEntries: 'false' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'allEntries' });
    expect(await view()).toEqual(before);
  });
});
