import { startTestApp, TestApp } from '../support/app.js';
import { client } from '../support/service.js';

/** Everything but the audit log (which records refused attempts by design). */
async function snapshot(t: TestApp): Promise<string> {
  const tables = [
    'glidekey_meta',
    'api_keys',
    'sites',
    'site_keys',
    'issued_tokens',
    'factories',
    'factory_entries_seen',
    'deliveries',
    'cached_credentials',
    'seen_envelopes',
  ];
  const out: Record<string, unknown> = {};
  for (const table of tables) out[table] = await t.db.read((m) => m.query(`SELECT * FROM ${table} ORDER BY 1`));
  return JSON.stringify(out);
}

const long = (n: number) => 'a'.repeat(n);

describe('bad input', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.api, t.adminKey);
    expect((await api.post('/sites', { name: 'good' })).status).toBe(201);
  });
  afterAll(() => t.close());

  // Every row has four cells: jest reads a shorter row's missing cell as a done() callback.
  type Case = [string, () => Promise<{ status: number; json: { error?: { code: string; field?: string } } }>, string, string];
  const cases: Case[] = [
    ['site name with /', () => api.post('/sites', { name: 'a/b' }), 'INVALID_SITE_NAME', 'name'],
    ['site name ..', () => api.post('/sites', { name: '..' }), 'INVALID_SITE_NAME', 'name'],
    ['site name with a space', () => api.post('/sites', { name: 'a b' }), 'INVALID_SITE_NAME', 'name'],
    ['empty site name', () => api.post('/sites', { name: '' }), 'INVALID_SITE_NAME', 'name'],
    ['200-character site name', () => api.post('/sites', { name: long(200) }), 'INVALID_SITE_NAME', 'name'],
    ['site name that is not a string', () => api.post('/sites', { name: 42 }), 'INVALID_SITE_NAME', 'name'],
    ['missing site name', () => api.post('/sites', {}), 'INVALID_SITE_NAME', 'name'],
    ['reserved key-version suffix', () => api.post('/sites', { name: 'site_v2' }), 'INVALID_SITE_NAME', 'name'],
    ['bad base64 key', () => api.post('/sites', { name: 'k1', key: { format: 'condor', data: 'not*base64' } }), 'INVALID_BASE64', 'key.data'],
    ['empty key (raw)', () => api.post('/sites', { name: 'k2', key: { format: 'raw', data: '' } }), 'KEY_EMPTY', 'key.data'],
    ['empty key (condor file)', () => api.post('/sites', { name: 'k2', key: { format: 'condor', data: ' \n' } }), 'KEY_EMPTY', 'key.data'],
    [
      'key over 4096 bytes',
      () => api.post('/sites', { name: 'k2', key: { format: 'raw', data: Buffer.alloc(4097, 1).toString('base64') } }),
      'INVALID_KEY',
      'key.data',
    ],
    ...['.pl', '.py', '.sh', '.rpmsave', '.rpmnew', '.dpkg-old', '.dpkg-dist', '.cfsaved'].map(
      (suffix) =>
        [`site name ending in ${suffix} (HTCondor hides it)`, () => api.post('/sites', { name: `ce${suffix}` }), 'SITE_NAME_HIDDEN_BY_CONDOR', 'name'] as Case,
    ),
    ['site name ending in .rpmorig (reserved)', () => api.post('/sites', { name: 'ce.rpmorig' }), 'INVALID_SITE_NAME', 'name'],
    ['mint: site name HTCondor hides', () => api.post('/sites/ce.sh/tokens', {}), 'SITE_NAME_HIDDEN_BY_CONDOR', 'site'],
    ['rotate: site name HTCondor hides', () => api.post('/sites/pilot.py/rotate', {}), 'SITE_NAME_HIDDEN_BY_CONDOR', 'site'],
    ['patch: site name HTCondor hides', () => api.patch('/sites/x.dpkg-old', { lifetimeSeconds: 120 }), 'SITE_NAME_HIDDEN_BY_CONDOR', 'site'],
    ['get: a hidden name is only looked up', () => api.get('/sites/y.cfsaved'), 'SITE_NOT_FOUND', ''],
    ['delete: a hidden name is only looked up', () => api.del('/sites/y.cfsaved'), 'SITE_NOT_FOUND', ''],
    ['unknown key format', () => api.post('/sites', { name: 'k3', key: { format: 'pem', data: 'AAAA' } }), 'INVALID_KEY', 'key.format'],
    ['unknown scope', () => api.post('/sites', { name: 's1', scopes: ['READ', 'FLY'] }), 'INVALID_SCOPE', 'scopes'],
    ['empty scope list', () => api.post('/sites', { name: 's2', scopes: [] }), 'INVALID_SCOPE', 'scopes'],
    ['scope wider than a pilot without widenScopes', () => api.post('/sites', { name: 's3', scopes: ['ADMINISTRATOR'] }), 'SCOPE_TOO_WIDE', 'scopes'],
    ['issuer with a comma', () => api.post('/sites', { name: 'i1', issuer: 'a,b' }), 'INVALID_ISSUER', 'issuer'],
    ['negative lifetime', () => api.post('/sites', { name: 'l1', lifetimeSeconds: -1 }), 'INVALID_LIFETIME', 'lifetimeSeconds'],
    ['fractional lifetime', () => api.post('/sites', { name: 'l2', lifetimeSeconds: 3600.5 }), 'INVALID_LIFETIME', 'lifetimeSeconds'],
    [
      'lifetime over the site maximum',
      () => api.post('/sites', { name: 'l3', lifetimeSeconds: 7200, maxLifetimeSeconds: 3600 }),
      'LIFETIME_EXCEEDS_POLICY',
      'lifetimeSeconds',
    ],
    [
      'maximum over the service ceiling',
      () => api.post('/sites', { name: 'l4', maxLifetimeSeconds: 31_000_000 }),
      'LIFETIME_EXCEEDS_POLICY',
      'maxLifetimeSeconds',
    ],
    [
      'rotation with interval and cron',
      () => api.post('/sites', { name: 'r1', rotation: { enabled: true, intervalSeconds: 60, cron: '0 * * * *' } }),
      'INVALID_ROTATION_POLICY',
      'rotation',
    ],
    [
      'rotation with a bad cron',
      () => api.post('/sites', { name: 'r2', rotation: { enabled: true, cron: 'every day' } }),
      'INVALID_ROTATION_POLICY',
      'rotation.cron',
    ],
    [
      'rotation with a cron that never fires (31 February)',
      () => api.post('/sites', { name: 'r3', rotation: { enabled: true, cron: '0 0 31 2 *' } }),
      'INVALID_ROTATION_POLICY',
      'rotation.cron',
    ],
    ['key that is not an object', () => api.post('/sites', { name: 'k4', key: [] }), 'INVALID_KEY', 'key'],
    ['rotation that is not an object', () => api.post('/sites', { name: 'r4', rotation: 'daily' }), 'INVALID_ROTATION_POLICY', 'rotation'],
    ['unknown field', () => api.post('/sites', { name: 'u1', colour: 'blue' }), 'UNKNOWN_FIELD', 'colour'],
    ['unknown nested field', () => api.post('/sites', { name: 'u2', rotation: { enabled: false, when: 'now' } }), 'UNKNOWN_FIELD', 'rotation.when'],
    ['malformed JSON', () => api.raw('POST', '/sites', '{"name": "x",'), 'MALFORMED_JSON', ''],
    ['JSON that is not an object', () => api.raw('POST', '/sites', '"good"'), 'MALFORMED_JSON', ''],
    ['an empty body declared as JSON where a body is needed', () => api.raw('POST', '/sites', ''), 'INVALID_SITE_NAME', 'name'],
    ['mint: negative lifetime', () => api.post('/sites/good/tokens', { lifetimeSeconds: -60 }), 'INVALID_LIFETIME', 'lifetimeSeconds'],
    ['mint: lifetime over the site maximum', () => api.post('/sites/good/tokens', { lifetimeSeconds: 604_801 }), 'LIFETIME_EXCEEDS_POLICY', 'lifetimeSeconds'],
    ['mint: unknown scope', () => api.post('/sites/good/tokens', { scopes: 'condor:/SUPERUSER' }), 'INVALID_SCOPE', 'scopes'],
    ['mint: scope wider than the site', () => api.post('/sites/good/tokens', { scopes: ['WRITE'] }), 'SCOPE_TOO_WIDE', 'scopes'],
    ['mint: bad subject', () => api.post('/sites/good/tokens', { subject: 'no at sign' }), 'INVALID_SUBJECT', 'subject'],
    ['mint: unknown field', () => api.post('/sites/good/tokens', { kid: 'other' }), 'UNKNOWN_FIELD', 'kid'],
    ['mint: bad site in path', () => api.post('/sites/a%20b/tokens', {}), 'INVALID_SITE_NAME', 'site'],
    ['mint: unknown site', () => api.post('/sites/nowhere/tokens', {}), 'SITE_NOT_FOUND', ''],
    ['patch: stale rowVersion', () => api.patch('/sites/good', { rowVersion: 99, lifetimeSeconds: 120 }), 'STALE_VERSION', 'rowVersion'],
    ['patch: widen without consent', () => api.patch('/sites/good', { scopes: 'READ WRITE' }), 'SCOPE_TOO_WIDE', 'scopes'],
    ['revoke: malformed jti', () => api.post('/tokens/not-hex/revoke'), 'INVALID_JTI', 'jti'],
    ['revoke: unknown jti', () => api.post(`/tokens/${'f'.repeat(32)}/revoke`), 'TOKEN_NOT_FOUND', ''],
    ['verify: token not a string', () => api.post('/tokens/verify', { token: 5 }), 'VALIDATION_FAILED', 'token'],
    ['ledger: unknown state', () => api.get('/tokens?state=dead'), 'VALIDATION_FAILED', 'state'],
    ['api key: unknown role', () => api.post('/apikeys', { name: 'z', roles: ['root'] }), 'INVALID_ROLE', 'roles'],
    ['duplicate site', () => api.post('/sites', { name: 'good' }), 'SITE_EXISTS', 'name'],
    ['sync: unknown factory', () => api.post('/factories/nowhere/sync'), 'FACTORY_NOT_FOUND', ''],
    ['sync: malformed factory name', () => api.post('/factories/a%20b/sync'), 'VALIDATION_FAILED', 'name'],
    ['deliveries: unknown state', () => api.get('/deliveries?state=lost'), 'VALIDATION_FAILED', 'state'],
    ['deliveries: limit over 1000', () => api.get('/deliveries?limit=5000'), 'VALIDATION_FAILED', 'limit'],
    ['deliveries: entry with a slash', () => api.get('/deliveries?entry=a%2Fb'), 'VALIDATION_FAILED', 'entry'],
    ['cache: entry with a slash', () => api.get('/factory/cache?entry=..%2Fx'), 'VALIDATION_FAILED', 'entry'],
    ['cache: unknown filter', () => api.get('/factory/cache?secret=1'), 'UNKNOWN_FIELD', 'secret'],
  ];

  it.each([
    [
      'a string for an integer',
      () => api.post('/sites/good/tokens', { lifetimeSeconds: '5' }),
      'INVALID_LIFETIME',
      'lifetimeSeconds must be an integer number',
    ],
    ['a number for a string', () => api.post('/tokens/verify', { token: 5 }), 'VALIDATION_FAILED', 'token must be a string'],
    [
      'a string for a boolean',
      () => api.post('/sites', { name: 't3', rotation: { enabled: 'yes' } }),
      'INVALID_ROTATION_POLICY',
      'rotation.enabled must be a boolean value',
    ],
  ])('a wrong JSON type names the expected type, not a range (%s)', async (_label, send, code, message) => {
    const res = await send();
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual(expect.objectContaining({ code, message }));
  });

  it.each(cases)('%s: 4xx with a stable code, naming the field, changing nothing', async (_label, send, code, field) => {
    const before = await snapshot(t);
    const res = await send();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.json.error?.code).toBe(code);
    if (field) expect(res.json.error?.field).toBe(field);
    expect(await snapshot(t)).toBe(before);
  });

  it('takes an empty body declared as JSON as no body (curl with one header set for every call)', async () => {
    const minted = await api.raw('POST', '/sites/good/tokens', '');
    expect(minted.status).toBe(201);
    const revoked = await api.raw('POST', `/tokens/${minted.json.jti}/revoke`, '');
    expect([revoked.status, revoked.json.state]).toEqual([200, 'revoked']);
  });

  it('answers 404 for an unknown route, 400/414 for a bad URL and 413 for an oversized body, in the same shape', async () => {
    expect((await api.get('/nothing-here')).json.error.code).toBe('NOT_FOUND');
    const badUrl = await api.get('/sites/%E0%A4%A');
    expect([badUrl.status, badUrl.json.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const secretish = 's3cr3t'.repeat(80);
    const long = await api.post(`/tokens/${secretish}/revoke`);
    expect([long.status, long.json.error.code]).toEqual([414, 'URI_TOO_LONG']);
    expect(long.text).not.toContain(secretish);
    const before = await snapshot(t);
    const big = await api.raw('POST', '/sites', JSON.stringify({ name: 'big', identity: 'x'.repeat(1_000_000) }));
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await snapshot(t)).toBe(before);
  });

  it('audits refused changes with their code', async () => {
    const res = await api.get('/audit?action=site.create&result=failure&limit=1000');
    const codes = new Set(res.json.entries.map((e: { code: string }) => e.code));
    expect(codes).toEqual(
      new Set([
        'INVALID_SITE_NAME',
        'SITE_NAME_HIDDEN_BY_CONDOR',
        'INVALID_BASE64',
        'INVALID_KEY',
        'KEY_EMPTY',
        'INVALID_SCOPE',
        'SCOPE_TOO_WIDE',
        'INVALID_ISSUER',
        'INVALID_LIFETIME',
        'LIFETIME_EXCEEDS_POLICY',
        'INVALID_ROTATION_POLICY',
        'UNKNOWN_FIELD',
        'SITE_EXISTS',
      ]),
    );
  });

  it('never records a secret pasted into a path parameter, and revokes a leaked key given whole', async () => {
    const leaked = (await api.post('/apikeys', { name: 'leaked', roles: ['auditor'] })).json.apiKey as string;
    const unknown = `gk_${'a'.repeat(16)}_${'Z'.repeat(43)}`;
    const miss = await api.post(`/apikeys/${unknown}/revoke`);
    expect([miss.status, miss.json.error.code]).toEqual([404, 'API_KEY_NOT_FOUND']);
    const hit = await api.post(`/apikeys/${leaked}/revoke`);
    expect([hit.status, hit.json.name, hit.json.revokedAt === null]).toEqual([200, 'leaked', false]);
    expect((await client(t.api, leaked).get('/sites')).status).toBe(401);
    const audit = await api.get('/audit?limit=1000');
    expect(audit.text).not.toContain('Z'.repeat(43));
    expect(audit.text).not.toContain(leaked.slice(20));
    expect(audit.json.entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'apikey.revoke', result: 'failure', target: 'key:(not recorded)' })]),
    );
  });
});
