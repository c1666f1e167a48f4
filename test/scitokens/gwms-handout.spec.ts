import { startTestApp, TestApp } from '../support/app.js';
import { VoIssuer } from '../support/fixtures.js';
import { client } from '../support/service.js';

/**
 * POST /gwms/credentials/scitoken with a clock the test moves: the lifetime is the seconds to exp,
 * an expired token is never handed out, and the audit log gets one line per key and token version
 * per hour however often GlideinWMS asks.
 */

const ISSUER = 'https://vo-issuer.example.org';
const ASK = {
  group: 'main',
  entry: { name: 'OSG_US_UNL_ce1', gatekeeper: 'ce1.unl.edu ce1.unl.edu:9619', factory: 'gfactory@factory.example.org' },
  trustDomain: 'OSG',
};

describe('SciToken handouts to GlideinWMS credential generators', () => {
  const vo = new VoIssuer(ISSUER);
  let t: TestApp;
  let reader: ReturnType<typeof client>;
  const admin = () => client(t.api, t.adminKey);
  const sign = (jti: string, lifetime: number) => {
    const now = t.clock.nowSeconds();
    return vo.sign({ sub: 'vo-pilot', aud: 'ce1.unl.edu:9619', scope: 'compute.create', iat: now, exp: now + lifetime, 'wlcg.ver': '1.0', jti });
  };
  const lines = async () =>
    (await admin().get('/audit?action=scitoken.handout&limit=100')).json.entries as { target: string; detail: Record<string, unknown> }[];

  beforeAll(async () => {
    t = await startTestApp({ env: { GLIDEKEY_ROLES: 'frontend', GLIDEKEY_METRICS_CACHE_SECONDS: '0' } });
    expect((await vo.register(admin())).status).toBe(201);
    const made = await admin().post('/apikeys', { name: 'generator', roles: ['credential-reader'] });
    expect(made.status).toBe(201);
    reader = client(t.api, made.json.apiKey);
  });
  afterAll(() => t.close());

  it('hands out the token with its seconds to exp, audits the first handout of the hour only, and counts the rest in the next line', async () => {
    const token = await sign('v1', 4 * 3600);
    expect((await admin().put('/scitokens/osg', { token, trustDomain: 'OSG' })).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const res = await reader.post('/gwms/credentials/scitoken', ASK);
      expect([res.status, res.json.token, res.json.lifetimeSeconds]).toEqual([200, token, 4 * 3600 - i * 60]);
      t.clock.advance(60);
    }
    expect(await lines()).toEqual([
      expect.objectContaining({ target: 'scitoken:osg', detail: expect.objectContaining({ jti: 'v1', entry: 'OSG_US_UNL_ce1', unauditedHandouts: 0 }) }),
    ]);
    t.clock.advance(3600);
    expect((await reader.post('/gwms/credentials/scitoken', ASK)).status).toBe(200);
    const after = await lines();
    expect(after).toHaveLength(2);
    expect(after[0].detail).toMatchObject({ jti: 'v1', unauditedHandouts: 2 });
    expect(JSON.stringify(after)).not.toContain(token.split('.')[2]);
  });

  it('audits a new version of the token at its first handout', async () => {
    const token = await sign('v2', 8 * 3600);
    expect((await admin().put('/scitokens/osg', { token, trustDomain: 'OSG' })).status).toBe(200);
    expect((await reader.post('/gwms/credentials/scitoken', ASK)).json.token).toBe(token);
    const all = await lines();
    expect(all).toHaveLength(3);
    expect(all[0].detail).toMatchObject({ jti: 'v2', unauditedHandouts: 0 });
  });

  it('never hands out an expired token: 404 CREDENTIAL_NO_MATCH, counted as no_match', async () => {
    t.clock.advance(8 * 3600);
    const res = await reader.post('/gwms/credentials/scitoken', ASK);
    expect([res.status, res.json.error.code]).toEqual([404, 'CREDENTIAL_NO_MATCH']);
    expect(res.json.error.message).toBe('no usable SciToken with trust domain OSG (1 stored, none valid now)');
    const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(metrics).toContain('glidekey_gwms_scitoken_handouts_total{result="no_match",scitoken=""} 1');
    expect(metrics).toContain('glidekey_gwms_scitoken_handouts_total{result="handed_out",scitoken="osg"} 5');
  });

  it('a factory-only service has no credential-reader role to grant', async () => {
    const fa = await startTestApp({ env: { GLIDEKEY_ROLES: 'factory' } });
    try {
      const res = await client(fa.api, fa.adminKey).post('/apikeys', { name: 'generator', roles: ['credential-reader'] });
      expect([res.status, res.json.error.code]).toEqual([400, 'INVALID_ROLE']);
    } finally {
      await fa.close();
    }
  });
});
