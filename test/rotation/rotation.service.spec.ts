import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scramble } from '../../src/crypto/condor-key.js';
import { RotationModule } from '../../src/rotation/rotation.module.js';
import { RotationService } from '../../src/rotation/rotation.service.js';
import type { CreateSiteDto } from '../../src/sites/dto/create-site.dto.js';
import { SiteKey, siteKeyAd } from '../../src/sites/site-key.entity.js';
import { Site } from '../../src/sites/site.entity.js';
import { SitesService } from '../../src/sites/sites.service.js';
import { ENGINES, FakeClock } from '../support/app.js';
import { serviceTier, ServiceTier } from '../support/service-tier.js';

const HOUR = 3600;

/** Scheduled key rotation, driven by the fake clock through RotationService itself (no HTTP, no scheduler tick). */
describe.each(ENGINES)('rotation service on %s', (engine) => {
  let t: ServiceTier;
  let sites: SitesService;
  let rotation: RotationService;
  const site = async (name: string) => (await t.rows(Site, { name }))[0];
  const keys = async (name: string) => (await t.rows(SiteKey, { siteId: (await site(name)).id })).sort((a, b) => a.version - b.version);
  const rotations = async (name: string) => (await t.audit('site.rotate')).filter((a) => a.target === `site:${name}`);

  beforeAll(async () => {
    t = await serviceTier({
      engine,
      roles: ['frontend'],
      imports: [RotationModule],
      clock: new FakeClock(Date.parse('2026-11-02T10:30:00Z')),
      env: (dir) => ({ GLIDEKEY_FRONTEND_PASSWORDS_DIR: join(dir, 'passwords.d') }),
    });
    sites = t.get(SitesService);
    rotation = t.get(RotationService);
  });
  afterAll(() => t?.close());

  it('rotates a site whose interval is due: a new active version sealed to its row, the old one retired, one audit line, the next due time', async () => {
    await sites.create({ name: 'hourly', rotation: { enabled: true, intervalSeconds: HOUR } } as CreateSiteDto);
    const created = t.clock.now();
    t.clock.advance(HOUR - 1);
    expect(await rotation.rotateDue()).toEqual([]);
    expect((await keys('hourly')).map((k) => [k.version, k.state])).toEqual([[1, 'active']]);
    expect(await rotations('hourly')).toEqual([]);

    t.clock.advance(1);
    const done = await rotation.rotateDue();
    expect(done.map((r) => [r.site, r.fromVersion, r.toVersion, r.kid, r.rotatedAt])).toEqual([
      ['hourly', 1, 2, 'hourly', new Date(created + HOUR * 1000).toISOString()],
    ]);
    const s = await site('hourly');
    expect([s.keyVersion, Number(s.rotatedAt), Number(s.nextRotationAt)]).toEqual([2, t.clock.now(), t.clock.now() + HOUR * 1000]);
    const [v1, v2] = await keys('hourly');
    expect([v1.state, Number(v1.retiredAt), v2.state, v2.kid, v2.source]).toEqual(['retired', t.clock.now(), 'active', 'hourly', 'generated']);

    // Sealed at rest, bound to (site, version): it opens with its own associated data only, and is
    // the key the collector's passwords.d file holds (scrambled).
    const raw = Buffer.from(t.sealer.open(v2.sealedKey, siteKeyAd(s.id, 2)));
    expect(raw.length).toBe(v2.keyLength);
    expect(() => t.sealer.open(v2.sealedKey, siteKeyAd(s.id, 1))).toThrow();
    expect(v2.fingerprint).toBe(t.sealer.fingerprint('site-key', raw));
    for (const shown of [raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')]) expect(v2.sealedKey.includes(shown)).toBe(false);
    expect(readFileSync(join(t.dataDir, 'passwords.d', 'hourly')).equals(scramble(raw))).toBe(true);
    expect(raw.equals(Buffer.from(t.sealer.open(v1.sealedKey, siteKeyAd(s.id, 1))))).toBe(false);

    const lines = await rotations('hourly');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ actor: 'system:scheduler', result: 'success' });
    expect(JSON.parse(lines[0].detail!)).toMatchObject({ trigger: 'scheduled', mode: 'immediate', fromVersion: 1, toVersion: 2 });

    // Just rotated: not due again until a whole interval later.
    t.clock.advance(HOUR - 1);
    expect(await rotation.rotateDue()).toEqual([]);
    expect((await site('hourly')).keyVersion).toBe(2);
    expect(await rotations('hourly')).toHaveLength(1);
  });

  it('rotates an overdue site once however many intervals it missed, and never a site whose rotation is off', async () => {
    await sites.create({ name: 'overdue', rotation: { enabled: true, intervalSeconds: HOUR } } as CreateSiteDto);
    await sites.create({ name: 'manual' } as CreateSiteDto);
    t.clock.advance(3 * 24 * HOUR);
    const first = await rotation.rotateDue();
    expect(first.map((r) => `${r.site}@v${r.toVersion}`).sort()).toEqual(['hourly@v3', 'overdue@v2']);
    expect(await rotation.rotateDue()).toEqual([]);
    expect(await rotations('overdue')).toHaveLength(1);
    expect((await keys('manual')).map((k) => [k.version, k.state])).toEqual([[1, 'active']]);
    expect(await rotations('manual')).toEqual([]);
  });

  it('graceful rotation keeps the previous version verifying until its grace ends, then retires it', async () => {
    await sites.create({ name: 'gentle', rotation: { enabled: true, intervalSeconds: HOUR, graceSeconds: 600 } } as CreateSiteDto);
    t.clock.advance(HOUR);
    expect((await rotation.rotateDue()).find((r) => r.site === 'gentle')).toMatchObject({ toVersion: 2, kid: 'gentle_v2', graceSeconds: 600 });
    expect((await keys('gentle')).map((k) => [k.kid, k.state])).toEqual([
      ['gentle', 'grace'],
      ['gentle_v2', 'active'],
    ]);
    t.clock.advance(599);
    await rotation.retireExpiredGrace();
    expect((await keys('gentle'))[0].state).toBe('grace');
    t.clock.advance(1);
    expect(await rotation.retireExpiredGrace()).toBe(1);
    expect((await keys('gentle')).map((k) => [k.kid, k.state])).toEqual([
      ['gentle', 'retired'],
      ['gentle_v2', 'active'],
    ]);
    expect((await t.audit('site.key.retire')).map((a) => a.target)).toEqual(['site:gentle']);
  });
});
