import { CachedCredential } from '../../src/factory/cached-credential.entity.js';
import { DelivererService } from '../../src/forwarding/deliverer.service.js';
import { Delivery, deliveryAd } from '../../src/forwarding/delivery.entity.js';
import { EntriesSyncService } from '../../src/forwarding/entries-sync.service.js';
import { FactoriesService } from '../../src/forwarding/factories.service.js';
import { IdentityService } from '../../src/identity/identity.service.js';
import { CurrentToken } from '../../src/current-token/current-token.entity.js';
import { RenewalService } from '../../src/current-token/renewal.service.js';
import { RotationModule } from '../../src/rotation/rotation.module.js';
import { RotationService } from '../../src/rotation/rotation.service.js';
import type { CreateSiteDto } from '../../src/sites/dto/create-site.dto.js';
import { SitesService } from '../../src/sites/sites.service.js';
import { ENGINES, FakeClock, startTestApp, TestApp } from '../support/app.js';
import { client, freePort } from '../support/service.js';
import { serviceTier, ServiceTier } from '../support/service-tier.js';

const BASE = 2;
const MAX = 60;

/**
 * The frontend's outbox on the service tier: rows queued in the renewal's transaction, sent by
 * DelivererService.drain (called here, no scheduler), retried with exponential backoff by the fake
 * clock, superseded by a newer credential, and delivered. The factory it sends to is the real
 * factory role, in this process, over loopback HTTP (FactoryClient speaks HTTP); only its port is
 * switched to a closed one to make sends fail.
 */
describe.each(ENGINES)('outbox and deliverer services on %s', (engine) => {
  let t: ServiceTier;
  let fa: TestApp;
  let deliverer: DelivererService;
  let factories: FactoriesService;
  let closedUrl: string;
  const clock = new FakeClock(Date.parse('2026-11-02T10:30:00Z'));
  const rows = async () => (await t.rows(Delivery, { factory: 'fa', entry: 'E1' })).sort((a, b) => a.version - b.version);
  const currentJti = async () => (await t.rows(CurrentToken))[0].jti;

  beforeAll(async () => {
    t = await serviceTier({
      engine,
      roles: ['frontend'],
      imports: [RotationModule],
      clock,
      env: { GLIDEKEY_FORWARDING_RETRY_BASE_SECONDS: String(BASE), GLIDEKEY_FORWARDING_RETRY_MAX_SECONDS: String(MAX) },
    });
    fa = await startTestApp({ clock, env: { GLIDEKEY_ROLES: 'factory', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    deliverer = t.get(DelivererService);
    factories = t.get(FactoriesService);
    closedUrl = `http://127.0.0.1:${await freePort()}`;
    // The factory registers this frontend; the frontend registers the factory and reads its entries.
    const faApi = client(fa.api, fa.adminKey);
    const identity = await t.get(IdentityService).publicIdentity('frontend');
    const reg = await faApi.post('/factory/frontends', { name: t.settings.config.frontend.name, publicKey: identity.publicKey });
    expect(reg.status).toBe(201);
    expect(
      (
        await faApi.put('/factory/entries/E1', {
          site: 'S1',
          gatekeeper: 'ce1.example.org',
          trustDomain: 'OSG',
          authMethod: 'grid_proxy',
          condorVersion: '23.0.3',
        })
      ).status,
    ).toBe(201);
    await factories.register({ name: 'fa', url: fa.url, apiKey: reg.json.apiKey, publicKey: (await faApi.get('/factory/identity')).json.publicKey });
    expect((await t.get(EntriesSyncService).sync('fa')).entries).toBe(1);
    // From here on the factory cannot be reached.
    await factories.update('fa', { url: closedUrl });
  });
  afterAll(async () => {
    await t?.close();
    await fa?.close();
  });

  it('queues the renewed token for the factory entry in the same transaction, sealed to its row', async () => {
    await t.get(SitesService).create({ name: 'S1' } as CreateSiteDto);
    // The renewal that the new site set off queued it before create() returned; a failed send may have followed.
    await deliverer.drain('fa');
    const [row] = await rows();
    expect([row.kind, row.type, row.source, row.sourceRef, row.state]).toEqual(['credential', 'idtoken', 'S1', await currentJti(), 'pending']);
    const current = await t.get(RenewalService).current((await t.rows(CurrentToken))[0].siteId);
    expect(Buffer.from(t.sealer.open(row.sealedValue!, deliveryAd(row.id))).toString()).toBe(current!.token);
    expect(row.sealedValue!.includes(current!.token.split('.')[2])).toBe(false);
  });

  it('a failed send stays pending with exponential backoff by the clock: not retried before it is due, retried once it is', async () => {
    const [first] = await rows();
    expect([first.attempts, first.lastError]).toEqual([1, 'UNREACHABLE']);
    const wait1 = Number(first.nextAttemptAt) - clock.now();
    expect(wait1).toBeGreaterThanOrEqual(BASE * 500);
    expect(wait1).toBeLessThanOrEqual(BASE * 1000);

    clock.ms = Number(first.nextAttemptAt) - 1;
    await deliverer.drain('fa');
    expect((await rows())[0]).toMatchObject({ attempts: 1, state: 'pending' });

    clock.ms = Number(first.nextAttemptAt);
    await deliverer.drain('fa');
    const [second] = await rows();
    expect([second.attempts, second.state, second.lastError]).toEqual([2, 'pending', 'UNREACHABLE']);
    const wait2 = Number(second.nextAttemptAt) - clock.now();
    expect(wait2).toBeGreaterThanOrEqual(2 * BASE * 500);
    expect(wait2).toBeLessThanOrEqual(2 * BASE * 1000);
  });

  it('a newer credential supersedes the undelivered row, whose sealed value is wiped', async () => {
    const [old] = await rows();
    await t.get(RotationService).rotate('S1', { graceSeconds: 0 });
    const [superseded, fresh] = await rows();
    expect([superseded.id, superseded.state, superseded.sealedValue]).toEqual([old.id, 'superseded', null]);
    expect([fresh.state, fresh.sourceRef, fresh.attempts]).toEqual(['pending', await currentJti(), 0]);
    expect(fresh.version).toBeGreaterThan(old.version);
  });

  it('delivers once the factory is reachable: the row delivered with its value wiped, the factory holding that version', async () => {
    // A changed URL makes the factory's pending rows due at once.
    await factories.update('fa', { url: fa.url });
    await deliverer.drain('fa');
    const [, delivered] = await rows();
    expect([delivered.state, Number(delivered.deliveredAt), delivered.sealedValue, delivered.lastError]).toEqual(['delivered', clock.now(), null, null]);
    const cached = await fa.db.read((m) => m.find(CachedCredential, { where: { entry: 'E1', type: 'idtoken' } }));
    expect(cached.map((c) => Number(c.version))).toEqual([delivered.version]);
    // Nothing left to send.
    expect(await deliverer.drain('fa')).toMatchObject({ delivered: 0, failed: 0 });
  });
});
