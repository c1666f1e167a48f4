import { CurrentToken, currentTokenAd } from '../../src/current-token/current-token.entity.js';
import { RenewalService } from '../../src/current-token/renewal.service.js';
import { RotationModule } from '../../src/rotation/rotation.module.js';
import { RotationService } from '../../src/rotation/rotation.service.js';
import type { CreateSiteDto } from '../../src/sites/dto/create-site.dto.js';
import { Site } from '../../src/sites/site.entity.js';
import { SitesService } from '../../src/sites/sites.service.js';
import { IssuedToken } from '../../src/tokens/issued-token.entity.js';
import { TokenVerifierService } from '../../src/tokens/token-verifier.service.js';
import { ENGINES, FakeClock } from '../support/app.js';
import { serviceTier, ServiceTier } from '../support/service-tier.js';
import { decodeToken } from '../support/vectors.js';

const LIFETIME = 3600;

/**
 * The current token each site forwards: minted when the site appears, re-minted once less than
 * tokens.renewFraction (0.5) of its lifetime is left, by the fake clock, and when its key rotates.
 */
describe.each(ENGINES)('current-token renewal service on %s', (engine) => {
  let t: ServiceTier;
  let renewal: RenewalService;
  let siteId: string;
  const current = async () => {
    const rows = await t.rows(CurrentToken, { siteId });
    expect(rows).toHaveLength(1);
    const row = rows[0];
    return { row, token: Buffer.from(t.sealer.open(row.sealedToken, currentTokenAd(row.siteId, row.jti))).toString() };
  };
  const renewals = async () =>
    (await t.audit('token.renew')).filter((a) => a.target === 'site:S1').map((a) => JSON.parse(a.detail!) as { jti: string; reason: string });

  beforeAll(async () => {
    t = await serviceTier({ engine, roles: ['frontend'], imports: [RotationModule], clock: new FakeClock(Date.parse('2026-11-02T10:30:00Z')) });
    renewal = t.get(RenewalService);
    await t.get(SitesService).create({ name: 'S1', lifetimeSeconds: LIFETIME } as CreateSiteDto);
    siteId = (await t.rows(Site, { name: 'S1' }))[0].id;
  });
  afterAll(() => t?.close());

  it('mints the first current token when the site is created, sealed to its site and jti, in the ledger, verifying', async () => {
    const { row, token } = await current();
    expect([Number(row.issuedAt), Number(row.expiresAt)]).toEqual([t.clock.now(), t.clock.now() + LIFETIME * 1000]);
    expect(decodeToken(token).payload).toMatchObject({ jti: row.jti, exp: Number(row.expiresAt) / 1000 });
    expect(row.sealedToken.includes(token.split('.')[2])).toBe(false);
    expect(() => t.sealer.open(row.sealedToken, currentTokenAd(row.siteId, 'another-jti'))).toThrow();
    expect((await t.rows(IssuedToken, { jti: row.jti })).map((r) => r.siteName)).toEqual(['S1']);
    expect(await t.get(TokenVerifierService).verify(token)).toMatchObject({ valid: true });
    expect(await renewals()).toEqual([expect.objectContaining({ jti: row.jti, reason: 'missing' })]);
  });

  it('renews only once less than half the lifetime is left', async () => {
    const before = (await current()).row;
    t.clock.advance(LIFETIME / 2);
    expect(await renewal.renewDue()).toEqual([]);
    expect((await current()).row.jti).toBe(before.jti);

    t.clock.advance(1);
    expect(await renewal.renewDue()).toEqual(['S1']);
    const { row, token } = await current();
    expect(row.jti).not.toBe(before.jti);
    expect([Number(row.issuedAt), Number(row.expiresAt)]).toEqual([t.clock.now(), t.clock.now() + LIFETIME * 1000]);
    expect(decodeToken(token).payload).toMatchObject({ jti: row.jti, iat: t.clock.nowSeconds() });
    expect((await renewals()).at(-1)).toMatchObject({ jti: row.jti, reason: 'lifetime' });
    // Fresh again: nothing to do.
    expect(await renewal.renewDue()).toEqual([]);
    expect((await current()).row.jti).toBe(row.jti);
  });

  it('renews at once when the key rotates, signed by the new active version', async () => {
    const before = (await current()).row;
    await t.get(RotationService).rotate('S1', { graceSeconds: 0 });
    // The rotation's keys.changed event renewed it before rotate() returned.
    const { row, token } = await current();
    expect(row.jti).not.toBe(before.jti);
    expect(row.keyId).not.toBe(before.keyId);
    expect((await renewals()).at(-1)).toMatchObject({ jti: row.jti, reason: 'key-rotated' });
    expect(await t.get(TokenVerifierService).verify(token)).toMatchObject({ valid: true, keyVersion: 2 });
    expect(await renewal.renewDue()).toEqual([]);
  });
});
