import sodium from 'libsodium-wrappers';
import { IdentityTransitionService } from '../../src/forwarding/identity-transition.service.js';
import { ENGINES, FakeClock, startTestApp, TestApp } from '../support/app.js';
import { client } from '../support/service.js';

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/**
 * The frontend's side of an identity rotation, in one process with a fake clock: the route, what
 * GET /frontend/identity shows, the refusal of a second rotation during a transition, the keys at
 * rest, and the previous key dropped when the transition times out with a factory that never followed.
 */
describe.each(ENGINES)('rotating the frontend identity, on %s', (engine) => {
  let t: TestApp;
  const clock = new FakeClock();
  const TRANSITION = 3600;
  const admin = () => client(t.api, t.adminKey);
  const identityRow = async () =>
    (
      await t.db.dataSource.query(
        "SELECT public_key, sealed_private_key, previous_public_key, sealed_previous_private_key, rotated_at FROM identities WHERE role = 'frontend'",
      )
    )[0];
  const audit = async (action: string) => (await admin().get(`/audit?action=${action}&limit=10`)).json.entries;

  beforeAll(async () => {
    await sodium.ready;
    t = await startTestApp({
      engine,
      clock,
      env: { GLIDEKEY_ROLES: 'frontend', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600', GLIDEKEY_FORWARDING_IDENTITY_TRANSITION_SECONDS: String(TRANSITION) },
    });
    // A factory that will never answer: it can never follow, so only the time limit ends the transition.
    const factory = sodium.crypto_box_keypair();
    expect(
      (
        await admin().post('/factories', {
          name: 'never',
          url: 'http://127.0.0.1:9',
          apiKey: `gk_${'0'.repeat(16)}_${'A'.repeat(43)}`,
          publicKey: b64(factory.publicKey),
        })
      ).status,
    ).toBe(201);
  });
  afterAll(() => t.close());

  it('makes a new key pair current, keeps the previous one sealed, and shows both on GET /frontend/identity; audited with both fingerprints', async () => {
    const before = (await client(t.api).get('/frontend/identity')).json;
    expect(Object.keys(before).sort()).toEqual(['fingerprint', 'name', 'publicKey']);
    const res = await admin().post('/frontend/identity/rotate');
    expect([res.status, res.json.previousFingerprint, res.json.rotatedAt]).toEqual([200, before.fingerprint, new Date(clock.now()).toISOString()]);
    const after = (await client(t.api).get('/frontend/identity')).json;
    expect(after.publicKey).not.toBe(before.publicKey);
    expect(after).toEqual({
      name: before.name,
      publicKey: after.publicKey,
      fingerprint: res.json.fingerprint,
      previous: { fingerprint: before.fingerprint, since: new Date(clock.now()).toISOString(), until: new Date(clock.now() + TRANSITION * 1000).toISOString() },
    });
    const row = await identityRow();
    expect([row.public_key, row.previous_public_key, Number(row.rotated_at)]).toEqual([after.publicKey, before.publicKey, clock.now()]);
    expect(row.sealed_previous_private_key).toEqual(expect.any(String));
    expect(row.sealed_previous_private_key).not.toBe(row.sealed_private_key);
    expect((await audit('frontend.identity.rotate'))[0]).toMatchObject({
      result: 'success',
      target: 'identity:frontend',
      detail: { fromFingerprint: before.fingerprint, toFingerprint: res.json.fingerprint, factories: 1 },
    });
  });

  it('seals the previous private key bound to its own public key: swapped into the current slot it does not open', async () => {
    const { IdentityService } = await import('../../src/identity/identity.service.js');
    const identity = t.app.get(IdentityService);
    const { current, previous } = await identity.keyPairs('frontend');
    expect(previous).not.toBeNull();
    // The pairs are real X25519 pairs: each private key derives its public key.
    expect(b64(sodium.crypto_scalarmult_base(current.privateKey))).toBe(b64(current.publicKey));
    expect(b64(sodium.crypto_scalarmult_base(previous!.privateKey))).toBe(b64(previous!.publicKey));
    const row = await identityRow();
    await t.db.dataSource.query("UPDATE identities SET sealed_private_key = sealed_previous_private_key WHERE role = 'frontend'");
    await expect(identity.keyPairs('frontend')).rejects.toThrow();
    await t.db.dataSource.query(`UPDATE identities SET sealed_private_key = '${row.sealed_private_key}' WHERE role = 'frontend'`);
    expect(b64((await identity.keyPairs('frontend')).current.publicKey)).toBe(row.public_key);
  });

  it('refuses a second rotation during the transition with 409 IDENTITY_TRANSITION_PENDING, changing nothing', async () => {
    const before = await identityRow();
    const res = await admin().post('/frontend/identity/rotate');
    expect([res.status, res.json.error.code]).toEqual([409, 'IDENTITY_TRANSITION_PENDING']);
    expect(await identityRow()).toEqual(before);
  });

  it('keeps the previous key until forwarding.identityTransitionSeconds have passed, then drops it, naming the factory that never followed', async () => {
    const transition = t.app.get(IdentityTransitionService);
    clock.advance(TRANSITION - 1);
    await transition.settle();
    expect((await identityRow()).previous_public_key).not.toBeNull();
    clock.advance(1);
    await transition.settle();
    const row = await identityRow();
    expect([row.previous_public_key, row.sealed_previous_private_key]).toEqual([null, null]);
    expect((await client(t.api).get('/frontend/identity')).json.previous).toBeUndefined();
    expect((await audit('frontend.identity.previous-drop'))[0]).toMatchObject({
      actor: 'system:forwarding',
      detail: { reason: 'TRANSITION_EXPIRED', notFollowed: ['never'] },
    });
    // The transition is over: the next rotation is allowed.
    expect((await admin().post('/frontend/identity/rotate')).status).toBe(200);
  });

  it('is for frontend admins only: no credential is 401', async () => {
    expect((await client(t.api).post('/frontend/identity/rotate')).status).toBe(401);
  });
});
