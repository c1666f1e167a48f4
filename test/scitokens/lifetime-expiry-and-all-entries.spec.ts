import { SchedulerService } from '../../src/scheduler/scheduler.service.js';
import { startTestApp, TestApp } from '../support/app.js';
import { VoIssuer } from '../support/fixtures.js';
import { client } from '../support/service.js';

const ISSUER = 'https://issuer.example.org';
const HOUR = 3600;

/** SciToken states with the default, lifetime-relative `expiring`, and the allEntries field. */
describe('SciToken expiry relative to lifetime, and allEntries', () => {
  const vo = new VoIssuer(ISSUER);
  let t: TestApp;
  let api: ReturnType<typeof client>;
  const sign = (claims: Record<string, unknown>) => {
    const now = Math.floor(t.clock.now() / 1000);
    return vo.sign({
      sub: 'vo-pilot',
      aud: 'ce1.unl.edu:9619',
      scope: 'compute.create',
      iat: now,
      exp: now + 6 * HOUR,
      'wlcg.ver': '1.0',
      jti: `j-${Math.random()}`,
      ...claims,
    });
  };
  const state = async (name: string) => (await api.get(`/scitokens/${name}`)).json.state;

  beforeAll(async () => {
    // No scitokens.expiringSeconds: the default, relative rule.
    t = await startTestApp({ env: { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    api = client(t.api, t.adminKey);
    expect((await vo.register(api)).status).toBe(201);
  });
  afterAll(() => t.close());

  it('an ordinary 6-hour WLCG token is valid at birth, and expiring (with one warning) only in its last fifth', async () => {
    expect((await api.put('/scitokens/wlcg', { token: await sign({}), trustDomain: 'OSG' })).json.state).toBe('valid');
    const tick = async () => (await t.app.get(SchedulerService).tick()).alarms;
    expect(await tick()).not.toContain('wlcg');
    expect(t.logs()).not.toMatch(/SciToken wlcg .* is expiring/);
    t.clock.advance(6 * HOUR - 72 * 60); // 72 min left: exactly a fifth, not less
    expect(await state('wlcg')).toBe('valid');
    t.clock.advance(1);
    expect(await state('wlcg')).toBe('expiring');
    expect(await tick()).toContain('wlcg');
    expect(await tick()).not.toContain('wlcg');
    expect(t.logs().match(/SciToken wlcg \(trust domain OSG\) is expiring/g)).toHaveLength(1);
    t.clock.advance(-(6 * HOUR - 72 * 60 + 1));
  });

  it('takes the lifetime from nbf without iat, and from when it was stored without either', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    // nbf an hour ago, 1 h left: lifetime 2 h, expiring under 24 min left.
    expect((await api.put('/scitokens/nbf', { token: await sign({ iat: undefined, nbf: now - HOUR, exp: now + HOUR }), trustDomain: 'OSG' })).json.state).toBe(
      'valid',
    );
    expect((await api.put('/scitokens/bare', { token: await sign({ iat: undefined, exp: now + HOUR }), trustDomain: 'OSG' })).json.state).toBe('valid');
    t.clock.advance(36 * 60); // 24 min left for both: nbf's window is 24 min, bare's (1 h from storing) 12 min
    expect([await state('nbf'), await state('bare')]).toEqual(['valid', 'valid']);
    t.clock.advance(1);
    expect([await state('nbf'), await state('bare')]).toEqual(['expiring', 'valid']);
    t.clock.advance(12 * 60);
    expect([await state('nbf'), await state('bare')]).toEqual(['expiring', 'expiring']);
    t.clock.advance(-(48 * 60 + 1));
  });

  it('stores allEntries, shows it in GET and audits it; a PUT without it clears it', async () => {
    const token = await sign({});
    expect((await api.put('/scitokens/everywhere', { token, trustDomain: 'OSG', allEntries: true })).json).toMatchObject({
      name: 'everywhere',
      allEntries: true,
    });
    expect((await api.get('/scitokens')).json.find((s: { name: string }) => s.name === 'everywhere')).toMatchObject({
      allEntries: true,
      audience: ['ce1.unl.edu:9619'],
    });
    const audit = (await api.get('/audit?action=scitoken.store&limit=1')).json.entries[0];
    expect(audit).toMatchObject({ target: 'scitoken:everywhere', detail: { allEntries: true } });
    expect((await api.put('/scitokens/everywhere', { token, trustDomain: 'OSG' })).json.allEntries).toBe(false);
    expect((await api.get('/audit?action=scitoken.store&limit=1')).json.entries[0].detail.allEntries).toBe(false);
  });

  it.each([
    ['a string', 'yes'],
    ['the string true', 'true'],
    ['a number', 1],
    ['a list', [true]],
    ['an object', { all: true }],
  ])('refuses allEntries as %s with 400 VALIDATION_FAILED and changes nothing', async (_, allEntries) => {
    expect((await api.put('/scitokens/kept', { token: await sign({}), trustDomain: 'OSG', allEntries: true })).status).toBeLessThan(300);
    const before = (await api.get('/scitokens/kept')).json;
    const auditBefore = (await api.get('/audit?limit=1000')).json.entries.length;
    // Refused requests are audited as failures; nothing else is recorded.
    const newAudit = async () => (await api.get('/audit?limit=1000')).json.entries.slice(0, -auditBefore || undefined);
    const res = await api.put('/scitokens/kept', { token: await sign({}), trustDomain: 'CMS', allEntries });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'allEntries' });
    expect((await api.get('/scitokens/kept')).json).toEqual(before);
    const created = await api.put('/scitokens/never-made', { token: await sign({}), trustDomain: 'OSG', allEntries });
    expect(created.status).toBe(400);
    expect((await api.get('/scitokens/never-made')).status).toBe(404);
    expect((await newAudit()).map((e: { result: string; code: string }) => [e.result, e.code])).toEqual([
      ['failure', 'VALIDATION_FAILED'],
      ['failure', 'VALIDATION_FAILED'],
    ]);
  });
});
