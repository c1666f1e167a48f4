import { createHmac } from 'node:crypto';
import { parseOld, readConfig, revokes } from '../../src/tokens/old-classad.js';
import { LeaseService } from '../../src/jobs/lease.service.js';
import { SchedulerService } from '../../src/scheduler/scheduler.service.js';
import { RotationService } from '../../src/rotation/rotation.service.js';
import { ENGINES, FakeClock, startTestApp, TestApp } from '../support/app.js';
import { client } from '../support/service.js';
import { vector } from '../support/vectors.js';

const HOUR = 3600;

describe.each(ENGINES)('rotation and renewal with a controlled clock on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let tick: () => ReturnType<SchedulerService['tick']>;
  const version = async (site: string) => (await api.get(`/sites/${site}`)).json.key.version as number;
  const verify = async (token: string) => (await api.post('/tokens/verify', { token })).json;

  beforeAll(async () => {
    t = await startTestApp({ engine, clock: new FakeClock(Date.parse('2026-11-02T10:30:00Z')) });
    api = client(t.api, t.adminKey);
    tick = () => t.app.get(SchedulerService).tick();
  });
  afterAll(() => t.close());

  it('fires an interval policy when due and not before', async () => {
    expect((await api.post('/sites', { name: 'hourly', rotation: { enabled: true, intervalSeconds: HOUR } })).status).toBe(201);
    t.clock.advance(HOUR - 1);
    expect((await tick()).rotated).not.toContain('hourly@v2');
    expect(await version('hourly')).toBe(1);
    t.clock.advance(1);
    expect((await tick()).rotated).toContain('hourly@v2');
    expect((await tick()).rotated).not.toContain('hourly@v3');
    expect(await version('hourly')).toBe(2);
    expect((await api.get('/sites/hourly')).json.secondsUntilRotation).toBe(HOUR);
    t.clock.advance(600);
    const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(metrics).toContain('glidekey_site_key_age_seconds{site="hourly"} 600');
    expect(metrics).toContain('glidekey_site_seconds_until_rotation{site="hourly"} 3000');
  });

  it('fires a cron policy at its next run and not before', async () => {
    // 11:30 now: the next "0 * * * *" run is 12:00.
    expect((await api.post('/sites', { name: 'on-the-hour', rotation: { enabled: true, cron: '0 * * * *' } })).status).toBe(201);
    const site = (await api.get('/sites/on-the-hour')).json;
    const wait = (Date.parse(site.nextRotationAt) - t.clock.now()) / 1000;
    expect(new Date(site.nextRotationAt).getUTCMinutes()).toBe(0);
    t.clock.advance(wait - 1);
    await tick();
    expect(await version('on-the-hour')).toBe(1);
    t.clock.advance(1);
    await tick();
    expect(await version('on-the-hour')).toBe(2);
  });

  it('rotates an overdue site once after a 3-day outage, not once per missed interval', async () => {
    expect((await api.post('/sites', { name: 'outage', rotation: { enabled: true, intervalSeconds: HOUR } })).status).toBe(201);
    t.clock.advance(3 * 24 * HOUR);
    await tick();
    await tick();
    expect(await version('outage')).toBe(2);
    const rotations = (await api.get('/audit?action=site.rotate&target=site:outage')).json.entries;
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({ actor: 'system:scheduler', detail: { trigger: 'scheduled', fromVersion: 1, toVersion: 2 } });
    expect(Date.parse((await api.get('/sites/outage')).json.nextRotationAt)).toBe(t.clock.now() + HOUR * 1000);
  });

  it('immediate mode: the old version fails at once with KEY_RETIRED, the new one verifies', async () => {
    expect((await api.post('/sites', { name: 'immediate' })).status).toBe(201);
    const old = (await api.post('/sites/immediate/tokens', {})).json.token;
    expect((await verify(old)).valid).toBe(true);
    const r = await api.post('/sites/immediate/rotate', { graceSeconds: 0 });
    expect(r.json).toMatchObject({ fromVersion: 1, toVersion: 2, kid: 'immediate', graceSeconds: 0, graceUntil: null });
    expect(await verify(old)).toEqual({ valid: false, reason: 'KEY_RETIRED' });
    const fresh = (await api.post('/sites/immediate/tokens', {})).json.token;
    expect(await verify(fresh)).toMatchObject({ valid: true, keyVersion: 2 });
    expect((await api.get('/sites/immediate')).json.keys.map((k: { kid: string; state: string }) => `${k.kid}:${k.state}`)).toEqual(['immediate:active']);
  });

  it('graceful mode: old tokens verify until the grace ends, then fail; both key names coexist meanwhile', async () => {
    expect((await api.post('/sites', { name: 'gentle', rotation: { enabled: false, graceSeconds: 600 } })).status).toBe(201);
    const old = (await api.post('/sites/gentle/tokens', {})).json.token;
    const r = await api.post('/sites/gentle/rotate', {});
    expect(r.json).toMatchObject({ toVersion: 2, kid: 'gentle_v2', graceSeconds: 600 });
    const fresh = (await api.post('/sites/gentle/tokens', {})).json.token;
    expect(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid).toBe('gentle_v2');
    expect(await verify(old)).toMatchObject({ valid: true, keyVersion: 1 });
    expect(await verify(fresh)).toMatchObject({ valid: true, keyVersion: 2 });
    expect((await api.get('/sites/gentle')).json.keys.map((k: { kid: string; state: string }) => `${k.kid}:${k.state}`)).toEqual([
      'gentle_v2:active',
      'gentle:grace',
    ]);
    t.clock.advance(599);
    expect((await verify(old)).valid).toBe(true);
    t.clock.advance(1);
    expect(await verify(old)).toEqual({ valid: false, reason: 'KEY_RETIRED' });
    expect((await tick()).retired).toBeGreaterThanOrEqual(1);
    expect((await api.get('/sites/gentle')).json.keys.map((k: { kid: string }) => k.kid)).toEqual(['gentle_v2']);
    expect(await verify(fresh)).toMatchObject({ valid: true, keyVersion: 2 });
  });

  it('renews the current token when its key rotates and when half its lifetime is gone', async () => {
    expect((await api.post('/sites', { name: 'renewed', lifetimeSeconds: 2 * HOUR })).status).toBe(201);
    const first = (await api.get('/sites/renewed')).json.currentToken;
    expect(first).not.toBeNull();
    t.clock.advance(HOUR - 1);
    await tick();
    expect((await api.get('/sites/renewed')).json.currentToken.jti).toBe(first.jti);
    t.clock.advance(2);
    await tick();
    const second = (await api.get('/sites/renewed')).json.currentToken;
    expect(second.jti).not.toBe(first.jti);
    await api.post('/sites/renewed/rotate', { graceSeconds: 0 });
    const third = (await api.get('/sites/renewed')).json.currentToken;
    expect(third.jti).not.toBe(second.jti);
    const renewals = (await api.get('/audit?action=token.renew&target=site:renewed')).json.entries.map((e: { detail: { reason: string } }) => e.detail.reason);
    expect(renewals).toEqual(['key-rotated', 'lifetime', 'missing']);
  });

  it('revokes by subject with quotes and backslashes, written in the old ClassAd dialect the collector reads', async () => {
    const v = vector('site-ascii');
    const file = Buffer.from(v.scrambled_file_hex, 'hex').toString('base64');
    expect((await api.post('/sites', { name: v.kid, key: { format: 'condor', data: file } })).status).toBe(201);
    // A token minted elsewhere (condor_token_create on the collector) for an awkward identity.
    const subject = 'we"ird\\user$(SEC_TOKEN_REVOCATION_EXPR)@fe.example.org';
    const iat = Math.floor(t.clock.now() / 1000) - 10;
    const h = Buffer.from(JSON.stringify({ alg: 'HS256', kid: v.kid, typ: 'JWT' })).toString('base64url');
    const p = Buffer.from(JSON.stringify({ sub: subject, iat, nbf: iat, iss: 'collector.example.org:9618', exp: iat + HOUR, scope: 'condor:/READ' })).toString(
      'base64url',
    );
    const token = `${h}.${p}.${createHmac('sha256', Buffer.from(v.derived_key_hex, 'hex')).update(`${h}.${p}`).digest('base64url')}`;
    expect((await verify(token)).valid).toBe(true);
    const res = await api.post('/revocations/subjects', { subject });
    expect(res.status).toBe(200);
    expect(await verify(token)).toEqual({ valid: false, reason: 'REVOKED' });
    const expr = (await api.get('/revocations/condor')).text.trim();
    // Read as the collector reads it (config reader, old-syntax ClassAd): it revokes exactly that identity.
    const [line] = readConfig(`SEC_TOKEN_REVOCATION_EXPR = ${expr}\n`);
    expect(line.macros).toEqual([]);
    const tree = parseOld(line.value);
    expect(revokes(tree, { sub: subject, iat: res.json.issuedBefore })).toBe(true);
    expect(revokes(tree, { sub: subject, iat: res.json.issuedBefore + 1 })).toBe(false);
    expect(revokes(tree, { sub: 'we"ird\\user\\044(SEC_TOKEN_REVOCATION_EXPR)@fe.example.org', iat: 1 })).toBe(false);
    expect(res.json.keepUntil).toBeNull();
    const brief = await api.post('/revocations/subjects', { subject: 'brief@fe.example.org', keepUntil: Math.floor(t.clock.now() / 1000) + 100 });
    expect((await api.get('/revocations/condor')).text).toContain('brief@fe.example.org');
    t.clock.advance(101);
    expect(brief.status).toBe(200);
    expect((await api.get('/revocations/condor')).text).not.toContain('brief@fe.example.org');
    expect((await api.get('/revocations/condor')).text).toContain('(SEC_TOKEN_REVOCATION_EXPR)@fe.example.org');
  });

  it('gives sites created before next rotation times were stored a due time at start, and rotates them', async () => {
    expect((await api.post('/sites', { name: 'legacy', rotation: { enabled: true, intervalSeconds: 60 } })).status).toBe(201);
    await t.db.dataSource.query(`UPDATE sites SET next_rotation_at = NULL WHERE name = 'legacy'`);
    expect(await t.app.get(RotationService).backfillNextRotation()).toEqual(['legacy']);
    t.clock.advance(60);
    expect((await tick()).rotated).toContain('legacy@v2');
  });

  it('hands the scheduler lease to one holder at a time, and to another once it lapses', async () => {
    const a = new LeaseService(t.db, t.clock);
    const b = new LeaseService(t.db, t.clock);
    expect(await a.acquire('test-lease', 10_000)).toBe(true);
    expect(await b.acquire('test-lease', 10_000)).toBe(false);
    expect(await a.acquire('test-lease', 10_000)).toBe(true);
    t.clock.advance(11);
    expect(await b.acquire('test-lease', 10_000)).toBe(true);
    expect(await a.acquire('test-lease', 10_000)).toBe(false);
  });
});
