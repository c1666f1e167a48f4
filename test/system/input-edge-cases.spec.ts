import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { VoIssuer } from '../support/fixtures.js';
import { client } from '../support/service.js';

/**
 * Issue 11 item 7: inputs that used to be taken (and stored, or answered 500 on PostgreSQL) are
 * refused at the edge with a stable code naming the field, changing nothing, on both engines.
 */
async function snapshot(t: TestApp): Promise<string> {
  const tables = [
    'api_keys',
    'sites',
    'site_keys',
    'issued_tokens',
    'subject_revocations',
    'factories',
    'factory_entries_seen',
    'deliveries',
    'factory_entries',
    'registered_frontends',
    'cached_credentials',
    'scitokens',
    'scitoken_issuers',
  ];
  const out: Record<string, unknown> = {};
  for (const table of tables) out[table] = await t.db.read((m) => m.query(`SELECT * FROM ${table} ORDER BY 1`));
  return JSON.stringify(out);
}

const NUL = '\u0000';
const ENTRY = { site: 'S1', gatekeeper: 'ce.example.org:9619', trustDomain: 'OSG', authMethod: 'scitoken', condorVersion: '23.0.3' };
const FACTORY = { name: 'f1', url: 'https://factory.example.org:8443', apiKey: `gk_${'a'.repeat(16)}_${'B'.repeat(43)}`, publicKey: `${'A'.repeat(43)}=` };
const NAME_128 = `n${'x'.repeat(126)}9`;

describe.each(ENGINES)('edge validation on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp({ engine, env: { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    api = client(t.api, t.adminKey);
    expect((await api.post('/sites', { name: 'good' })).status).toBe(201);
  });
  afterAll(() => t?.close());

  type Res = { status: number; json: { error?: { code: string; field?: string } } };
  // [label, request, code, field]
  const cases: [string, () => Promise<Res>, string, string][] = [
    // NUL in every kind of string field (PostgreSQL cannot store it: it used to answer 500 there).
    ['NUL in a site issuer', () => api.post('/sites', { name: 'n1', issuer: `a${NUL}b` }), 'VALIDATION_FAILED', 'issuer'],
    ['NUL in a site name', () => api.post('/sites', { name: `n${NUL}2` }), 'VALIDATION_FAILED', 'name'],
    [
      'NUL in a nested rotation cron',
      () => api.post('/sites', { name: 'n3', rotation: { enabled: true, cron: `0 * * * *${NUL}` } }),
      'VALIDATION_FAILED',
      'rotation.cron',
    ],
    ['NUL in a scope list item', () => api.post('/sites', { name: 'n4', scopes: ['READ', `ADVERTISE_STARTD${NUL}`] }), 'VALIDATION_FAILED', 'scopes.1'],
    ['NUL in a patched identity', () => api.patch('/sites/good', { identity: `u${NUL}@x` }), 'VALIDATION_FAILED', 'identity'],
    ['NUL in a mint subject', () => api.post('/sites/good/tokens', { subject: `a${NUL}@b` }), 'VALIDATION_FAILED', 'subject'],
    ['NUL in a revoked subject', () => api.post('/revocations/subjects', { subject: `bad${NUL}user` }), 'VALIDATION_FAILED', 'subject'],
    ['NUL in a token to verify', () => api.post('/tokens/verify', { token: `a.b${NUL}.c` }), 'VALIDATION_FAILED', 'token'],
    ['NUL in an API key name', () => api.post('/apikeys', { name: `k${NUL}`, roles: ['auditor'] }), 'VALIDATION_FAILED', 'name'],
    ['NUL in an API key to revoke (path)', () => api.post('/apikeys/a%00b/revoke'), 'VALIDATION_FAILED', 'key'],
    ['NUL in an entry gatekeeper', () => api.put('/factory/entries/E1', { ...ENTRY, gatekeeper: `ce${NUL}.org` }), 'VALIDATION_FAILED', 'gatekeeper'],
    ['NUL in an entry security class', () => api.put('/factory/entries/E1', { ...ENTRY, securityClass: `c${NUL}` }), 'VALIDATION_FAILED', 'securityClass'],
    ['NUL in a frontend name', () => api.post('/factory/frontends', { name: `fe${NUL}`, publicKey: FACTORY.publicKey }), 'VALIDATION_FAILED', 'name'],
    ['NUL in a factory url', () => api.post('/factories', { ...FACTORY, url: `https://f.example.org/${NUL}` }), 'VALIDATION_FAILED', 'url'],
    [
      'NUL in a SciToken source path',
      () => api.put('/scitokens/st1', { trustDomain: 'OSG', sourcePath: `/var/lib/x${NUL}` }),
      'VALIDATION_FAILED',
      'sourcePath',
    ],
    [
      'NUL in an issuer URL',
      () => api.put('/scitoken-issuers/iss1', { issuer: `https://iss.example.org/${NUL}`, jwks: { keys: [] } }),
      'VALIDATION_FAILED',
      'issuer',
    ],
    [
      'NUL inside a JWKS member',
      () => api.put('/scitoken-issuers/iss1', { issuer: 'https://iss.example.org', jwks: { keys: [{ kty: `RSA${NUL}` }] } }),
      'VALIDATION_FAILED',
      'jwks.keys.0.kty',
    ],
    ['NUL in an audit query', () => api.get('/audit?actor=a%00b'), 'VALIDATION_FAILED', 'actor'],
    ['NUL in a cache query', () => api.get('/factory/cache?frontend=a%00b'), 'VALIDATION_FAILED', 'frontend'],
    // Longer than the column holds.
    [
      'gatekeeper of 259 characters (host 253, port)',
      () => api.put('/factory/entries/E1', { ...ENTRY, gatekeeper: `${'a'.repeat(249)}.org:61000` }),
      'VALIDATION_FAILED',
      'gatekeeper',
    ],
    [
      'authMethod of 200 characters',
      () => api.put('/factory/entries/E1', { ...ENTRY, authMethod: Array(40).fill('token').join('+') }),
      'VALIDATION_FAILED',
      'authMethod',
    ],
    [
      'condorVersion of 80 characters',
      () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: `23.0.3-${'a'.repeat(73)}` }),
      'VALIDATION_FAILED',
      'condorVersion',
    ],
    [
      'factory url of 600 characters',
      () => api.post('/factories', { ...FACTORY, url: `https://f.example.org/${'p'.repeat(578)}` }),
      'VALIDATION_FAILED',
      'url',
    ],
    // Factory URLs that are not an http(s) base URL glidekey can call.
    ['factory url with a bracket host', () => api.post('/factories', { ...FACTORY, url: 'http://[' }), 'VALIDATION_FAILED', 'url'],
    ['factory url with port 99999', () => api.post('/factories', { ...FACTORY, url: 'http://f.example.org:99999' }), 'VALIDATION_FAILED', 'url'],
    ['factory url with two ports', () => api.post('/factories', { ...FACTORY, url: 'http://f.example.org:1:2' }), 'VALIDATION_FAILED', 'url'],
    ['factory url with credentials', () => api.post('/factories', { ...FACTORY, url: 'https://user:pw@f.example.org' }), 'VALIDATION_FAILED', 'url'],
    ['factory url with a fragment', () => api.post('/factories', { ...FACTORY, url: 'https://f.example.org/#x' }), 'VALIDATION_FAILED', 'url'],
    ['factory url with a query', () => api.post('/factories', { ...FACTORY, url: 'https://f.example.org/?a=1' }), 'VALIDATION_FAILED', 'url'],
    ['factory url with ftp', () => api.post('/factories', { ...FACTORY, url: 'ftp://f.example.org' }), 'VALIDATION_FAILED', 'url'],
    // Members named like Object.prototype members are unknown fields, as any other.
    ['a constructor member', () => api.post('/sites', { name: 'p1', constructor: 'x' }), 'UNKNOWN_FIELD', 'constructor'],
    ['a toString member', () => api.post('/sites', { name: 'p2', toString: 'x' }), 'UNKNOWN_FIELD', 'toString'],
    ['a hasOwnProperty member', () => api.post('/sites/good/tokens', { hasOwnProperty: 1 }), 'UNKNOWN_FIELD', 'hasOwnProperty'],
    ['a valueOf member', () => api.put('/factory/entries/E1', { ...ENTRY, valueOf: 1 }), 'UNKNOWN_FIELD', 'valueOf'],
    ['a __proto__ member', () => api.raw('POST', '/sites', '{"name":"p3","__proto__":{"x":1}}'), 'UNKNOWN_FIELD', '__proto__'],
    ['a nested toString member', () => api.post('/sites', { name: 'p4', rotation: { enabled: false, toString: 1 } }), 'UNKNOWN_FIELD', 'rotation.toString'],
    [
      'a nested __proto__ member',
      () => api.raw('POST', '/sites', '{"name":"p5","rotation":{"enabled":false,"__proto__":{"x":1}}}'),
      'UNKNOWN_FIELD',
      'rotation.__proto__',
    ],
    ['a constructor query parameter', () => api.get('/factory/cache?constructor=1'), 'UNKNOWN_FIELD', 'constructor'],
    // Control and invisible characters in an issuer or a minted identity. (A revoked subject takes
    // them: tokens minted elsewhere may carry them, and the expression writes them exactly.)
    ['issuer with SOH', () => api.post('/sites', { name: 'c1', issuer: 'pool\u0001.example.org' }), 'INVALID_ISSUER', 'issuer'],
    ['issuer with DEL', () => api.post('/sites', { name: 'c2', issuer: 'pool\u007f.example.org' }), 'INVALID_ISSUER', 'issuer'],
    ['issuer with NEL (C1)', () => api.post('/sites', { name: 'c3', issuer: 'pool\u0085.example.org' }), 'INVALID_ISSUER', 'issuer'],
    ['issuer with a zero-width space', () => api.patch('/sites/good', { issuer: 'pool\u200b.example.org' }), 'INVALID_ISSUER', 'issuer'],
    ['identity with ESC', () => api.post('/sites', { name: 'c4', identity: 'pilot\u001b@example.org' }), 'INVALID_SUBJECT', 'identity'],
    // HTCondor versions matching.ts cannot read.
    ['condorVersion 23', () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: '23' }), 'VALIDATION_FAILED', 'condorVersion'],
    ['condorVersion 1..2', () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: '1..2' }), 'VALIDATION_FAILED', 'condorVersion'],
    ['condorVersion 23.', () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: '23.' }), 'VALIDATION_FAILED', 'condorVersion'],
    ['condorVersion .23.0', () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: '.23.0' }), 'VALIDATION_FAILED', 'condorVersion'],
    ['condorVersion v23.0.3', () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: 'v23.0.3' }), 'VALIDATION_FAILED', 'condorVersion'],
    ['condorVersion 23.0.3.', () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: '23.0.3.' }), 'VALIDATION_FAILED', 'condorVersion'],
    ['condorVersion 23.0-', () => api.put('/factory/entries/E1', { ...ENTRY, condorVersion: '23.0-' }), 'VALIDATION_FAILED', 'condorVersion'],
  ];

  it.each(cases)('%s: 4xx with a stable code, naming the field, changing nothing', async (_label, send, code, field) => {
    const before = await snapshot(t);
    const res = await send();
    expect([res.status, res.json.error?.code, res.json.error?.field]).toEqual([400, code, field]);
    expect(await snapshot(t)).toBe(before);
  });

  it.each(['8.9.1', '23.0.3', '23.0', '9.0.17-1.el7', '10.0.0+git1'])(
    'takes condorVersion %s and reads it as a version (the entry needs an IDTOKEN)',
    async (v) => {
      expect((await api.put('/factory/entries/V1', { ...ENTRY, condorVersion: v })).status).toBeLessThan(300);
      const cache = await api.get('/factory/cache?entry=V1');
      expect(cache.json).toEqual(expect.arrayContaining([expect.objectContaining({ entry: 'V1', type: 'idtoken', state: 'missing' })]));
    },
  );

  it('takes the longest valid values the columns hold (control for the length cases)', async () => {
    const gatekeeper = `${'a'.repeat(246)}.org:9619`;
    expect(gatekeeper).toHaveLength(255);
    expect((await api.put('/factory/entries/L1', { ...ENTRY, gatekeeper })).status).toBeLessThan(300);
    const url = `https://f.example.org/${'p'.repeat(490)}`;
    expect(url).toHaveLength(512);
    const reg = await api.post('/factories', { ...FACTORY, name: 'long-url', url });
    expect([reg.status, reg.json.url]).toEqual([201, url]);
  });

  it('a 128-character site name can be created, read, given a token and deleted', async () => {
    expect(NAME_128).toHaveLength(128);
    expect((await api.post('/sites', { name: NAME_128 })).status).toBe(201);
    const got = await api.get(`/sites/${NAME_128}`);
    expect([got.status, got.json.name]).toEqual([200, NAME_128]);
    expect((await api.post(`/sites/${NAME_128}/tokens`, {})).status).toBe(201);
    expect((await api.del(`/sites/${NAME_128}`)).status).toBe(204);
    expect((await api.get(`/sites/${NAME_128}`)).status).toBe(404);
  });

  it('refuses an issuer id shaped like a credential on PUT, as DELETE does (such an issuer could never be deleted)', async () => {
    const before = await snapshot(t);
    const res = await new VoIssuer().register(api, `gk_${'0'.repeat(16)}`);
    expect([res.status, res.json.error?.code, res.json.error?.field]).toEqual([400, 'VALIDATION_FAILED', 'id']);
    expect(await snapshot(t)).toBe(before);
    expect((await new VoIssuer().register(api, 'vo-edge')).status).toBe(201);
    expect((await api.del('/scitoken-issuers/vo-edge')).status).toBe(204);
  });

  it('a 128-character entry name, and a factory name percent-encoded, are addressable too', async () => {
    expect((await api.put(`/factory/entries/${NAME_128}`, ENTRY)).status).toBe(201);
    expect((await api.del(`/factory/entries/${NAME_128}`)).status).toBe(204);
    const name = `f${':'.repeat(127)}`;
    const sync = await api.post(`/factories/${encodeURIComponent(name)}/sync`);
    expect([sync.status, sync.json.error.code]).toEqual([404, 'FACTORY_NOT_FOUND']);
  });
});
