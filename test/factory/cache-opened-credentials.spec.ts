import { SealError, Sealer } from '../../src/crypto/sealer.js';
import { cachedCredentialAd } from '../../src/factory/cached-credential.entity.js';
import { CacheService } from '../../src/factory/cache.service.js';
import { EventBus } from '../../src/events/event-bus.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { factorySetup, seedCache } from '../support/glidein.js';

/**
 * CacheService.current opens each cached row once and remembers the value for that exact sealed
 * text: whatever changes in the row (a new version, a re-seal, a ciphertext moved from elsewhere,
 * the row's removal) must show at the next read, never the value remembered from before.
 */
describe.each(ENGINES)("the factory cache's opened credentials on %s", (engine) => {
  let t: TestApp;
  let cache: CacheService;
  let frontend: string;
  const expiresAt = Date.now() + 3_600_000;
  const q = (sql: string) => (engine === 'postgres' ? sql.replace(/\?/g, (_, i: number) => `$${sql.slice(0, i).split('?').length}`) : sql);
  const setSealed = (entry: string, sealed: string) =>
    t.db.tx((m) =>
      m.query(q(`UPDATE cached_credentials SET sealed_value = ? WHERE frontend = ? AND entry = ? AND type = 'idtoken'`), [sealed, frontend, entry]),
    );

  beforeAll(async () => {
    t = await startTestApp({ engine, env: { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    ({ frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' }));
    cache = t.app.get(CacheService);
  });
  afterAll(() => t?.close());

  it("serves a new version, a re-sealed row and a removal at once, and refuses a ciphertext that is not the row's", async () => {
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: 'first-value', expiresAt, version: 1 });
    expect((await cache.current(frontend, 'E1')).idtoken).toEqual({ value: 'first-value', version: 1, expiresAt });
    expect((await cache.current(frontend, 'E1')).idtoken?.value).toBe('first-value');

    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: 'second-value', expiresAt, version: 2 });
    expect((await cache.current(frontend, 'E1')).idtoken).toEqual({ value: 'second-value', version: 2, expiresAt });

    // Re-sealed in place (a new nonce): same row, same version, new text; opened again.
    const sealer = t.app.get(Sealer);
    const ad = cachedCredentialAd({ frontend, entry: 'E1', type: 'idtoken', version: 2 });
    await setSealed('E1', sealer.seal(Buffer.from('resealed-value'), ad));
    expect((await cache.current(frontend, 'E1')).idtoken?.value).toBe('resealed-value');

    // A ciphertext sealed for another row (version 1's associated data) fails, although this row opened before.
    await setSealed('E1', sealer.seal(Buffer.from('moved-value'), cachedCredentialAd({ frontend, entry: 'E1', type: 'idtoken', version: 1 })));
    await expect(cache.current(frontend, 'E1')).rejects.toBeInstanceOf(SealError);
    // And a damaged one.
    await setSealed('E1', sealer.seal(Buffer.from('resealed-value'), ad).slice(0, -4) + 'AAA=');
    await expect(cache.current(frontend, 'E1')).rejects.toBeInstanceOf(SealError);

    await setSealed('E1', sealer.seal(Buffer.from('back-value'), ad));
    expect((await cache.current(frontend, 'E1')).idtoken?.value).toBe('back-value');
    await t.db.tx((m) => m.query(q(`DELETE FROM cached_credentials WHERE frontend = ? AND entry = ?`), [frontend, 'E1']));
    expect(await cache.current(frontend, 'E1')).toEqual({});
  });

  // The remembered plaintext is held no longer than glidekey stands by the row: a committed change of
  // the row (here the event a withdrawal or an entry's deletion publishes) forgets it, and an expired
  // credential is never remembered.
  const remembered = () => (cache as unknown as { opened: Map<string, { value: string }> }).opened;
  const rememberedValues = () => [...remembered().values()].map((v) => v.value);

  it('forgets an opened value when its row is withdrawn or deleted, and never keeps an expired one', async () => {
    await seedCache(t, { frontend, entry: 'E2', type: 'idtoken', value: 'kept-value', expiresAt, version: 1 });
    expect((await cache.current(frontend, 'E2')).idtoken?.value).toBe('kept-value');
    expect(rememberedValues()).toContain('kept-value');
    const events = t.app.get(EventBus);
    await t.db.tx(async (m) => events.publish(m, 'cache.changed', { stored: [], removed: [{ frontend, entry: 'E2', type: 'idtoken' }] }));
    expect(rememberedValues()).not.toContain('kept-value');

    await seedCache(t, { frontend, entry: 'E3', type: 'idtoken', value: 'expired-value', expiresAt: t.clock.now() - 1000, version: 1 });
    expect((await cache.current(frontend, 'E3')).idtoken?.value).toBe('expired-value');
    expect(rememberedValues()).not.toContain('expired-value');
  });
});
