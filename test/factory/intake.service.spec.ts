import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../src/auth/principal.js';
import { DomainError } from '../../src/common/errors.js';
import { CachedCredential, cachedCredentialAd } from '../../src/factory/cached-credential.entity.js';
import { CredentialIntakeService } from '../../src/factory/credential-intake.service.js';
import { EntriesService } from '../../src/factory/entries.service.js';
import { FactoryModule } from '../../src/factory/factory.module.js';
import { SeenEnvelope } from '../../src/factory/seen-envelope.entity.js';
import { CredentialsBody, sealEnvelope } from '../../src/protocol/envelope.js';
import { IdentityService } from '../../src/identity/identity.service.js';
import { ENGINES } from '../support/app.js';
import { frontendAtFactory } from '../support/fixtures.js';
import { serviceTier, ServiceTier } from '../support/service-tier.js';

const FE = 'fe.example.org';

/** The factory's intake of sealed envelopes, called as its controller calls it, without HTTP. */
describe.each(ENGINES)('credential intake service on %s', (engine) => {
  let t: ServiceTier;
  let intake: CredentialIntakeService;
  let fe: { publicKey: Uint8Array; privateKey: Uint8Array };
  let factoryKey: Uint8Array;
  let feCaller: Principal;
  let otherCaller: Principal;

  const body = (version: number, over: Partial<CredentialsBody> = {}): CredentialsBody => ({
    v: 1,
    frontend: FE,
    id: randomUUID(),
    createdAt: t.clock.now(),
    credentials: [{ entry: 'CE_1', type: 'idtoken', version, expiresAt: t.clock.nowSeconds() + 3600, value: `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.sig` }],
    ...over,
  });
  /** What intake keeps: the cache rows and the envelope ids seen. */
  const state = async () => ({
    cache: (await t.rows(CachedCredential)).map((r) => [r.frontend, r.entry, r.type, r.version, r.fingerprint, r.sealedValue]),
    seen: (await t.rows(SeenEnvelope)).map((s) => s.id).sort(),
  });
  /** The refusal's code, after showing it changed nothing. */
  const refused = async (caller: Principal, env: unknown): Promise<string> => {
    const before = await state();
    const err = await intake.receive(caller, env).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(await state()).toEqual(before);
    return (err as DomainError).code;
  };

  beforeAll(async () => {
    await sodium.ready;
    t = await serviceTier({ engine, roles: ['factory'], imports: [FactoryModule] });
    intake = t.get(CredentialIntakeService);
    ({ keys: fe, caller: feCaller } = await frontendAtFactory(t, FE));
    ({ caller: otherCaller } = await frontendAtFactory(t, 'other.example.org'));
    await t.get(EntriesService).put('CE_1', { site: 'S1', gatekeeper: 'ce1.example.org', trustDomain: 'OSG', authMethod: 'scitoken' });
    factoryKey = Buffer.from((await t.get(IdentityService).publicIdentity('factory')).publicKey, 'base64');
  });
  afterAll(() => t?.close());

  it('takes a sealed envelope from a registered frontend: the credential cached sealed to its row, the envelope id kept, audited', async () => {
    const b = body(5);
    const res = await intake.receive(feCaller, await sealEnvelope(b, fe, factoryKey));
    expect(res).toEqual({ id: b.id, results: [{ entry: 'CE_1', type: 'idtoken', version: 5, result: 'stored' }] });
    const [row] = await t.rows(CachedCredential, { frontend: FE, entry: 'CE_1', type: 'idtoken' });
    expect([row.version, Number(row.expiresAt), Number(row.receivedAt), row.envelopeId]).toEqual([5, b.credentials[0].expiresAt * 1000, t.clock.now(), b.id]);
    const value = b.credentials[0].value;
    expect(Buffer.from(t.sealer.open(row.sealedValue!, cachedCredentialAd(row))).toString()).toBe(value);
    expect(row.sealedValue!.includes(value.split('.')[1])).toBe(false);
    expect(row.fingerprint).toBe(t.sealer.fingerprint('idtoken', Buffer.from(value)));
    expect((await t.rows(SeenEnvelope, { id: b.id })).map((s) => s.frontend)).toEqual([FE]);
    const audit = (await t.audit('factory.credentials.receive')).at(-1)!;
    expect([audit.target, JSON.parse(audit.detail!)]).toEqual([`frontend:${FE}`, expect.objectContaining({ envelope: b.id, stored: 1, refused: 0 })]);
  });

  it('refuses the same envelope a second time, changing nothing', async () => {
    const env = await sealEnvelope(body(6), fe, factoryKey);
    expect((await intake.receive(feCaller, env)).results[0].result).toBe('stored');
    expect(await refused(feCaller, env)).toBe('ENVELOPE_REPLAYED');
    // Still refused once the clock has moved on within the window.
    t.clock.advance(60);
    expect(await refused(feCaller, env)).toBe('ENVELOPE_REPLAYED');
  });

  it('refuses an envelope sealed by the wrong key, sealed to another factory, or presented by another frontend', async () => {
    const stranger = sodium.crypto_box_keypair();
    expect(await refused(feCaller, await sealEnvelope(body(9), stranger, factoryKey))).toBe('ENVELOPE_UNKNOWN_SENDER');
    expect(await refused(feCaller, await sealEnvelope(body(9), fe, sodium.crypto_box_keypair().publicKey))).toBe('ENVELOPE_BAD_MAC');
    expect(await refused(otherCaller, await sealEnvelope(body(9), fe, factoryKey))).toBe('ENVELOPE_SENDER_MISMATCH');
  });

  it('refuses an envelope older than the acceptance window by the clock', async () => {
    const env = await sealEnvelope(body(10), fe, factoryKey);
    t.clock.advance(t.settings.config.factory.envelopeWindowSeconds + 1);
    expect(await refused(feCaller, env)).toBe('ENVELOPE_STALE');
  });
});
