import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import { CredentialsBody, Envelope, EnvelopeCredential, sealEnvelope } from '../../src/protocol/envelope.js';
import { publicKeyFingerprint } from '../../src/identity/identity.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client } from '../support/service.js';

interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}
type V2 = Extract<Envelope, { v: 2 }>;

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const fp = (k: KeyPair) => publicKeyFingerprint(k.publicKey);

/**
 * The factory's side of a frontend identity rotation, with real crypto and real migrations: it
 * follows a frontend to a new key only on a key proof from the pinned key made for that very
 * envelope, re-pins in the intake's transaction, and never goes back to a key it followed away from.
 */
describe.each(ENGINES)('a factory following a frontend to a new identity key, on %s', (engine) => {
  let t: TestApp;
  let k1: KeyPair;
  let k2: KeyPair;
  let stranger: KeyPair;
  let factoryKey: Uint8Array;
  let feKey: string;
  let otherKey: string;
  /** An envelope under the old key that the factory took before the follow, and one it never saw. */
  let takenUnderK1: Envelope;
  let unsentUnderK1: Envelope;
  let version = 5;
  const FE = 'fe.example.org';

  const cred = (over: Partial<EnvelopeCredential> = {}): EnvelopeCredential => ({
    entry: 'CE_1',
    type: 'idtoken',
    version: ++version,
    expiresAt: Math.floor(t.clock.now() / 1000) + 3600,
    value: `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.sig`,
    ...over,
  });
  const body = (over: Partial<CredentialsBody> = {}): CredentialsBody => ({
    v: 1,
    frontend: FE,
    id: randomUUID(),
    createdAt: t.clock.now(),
    credentials: [cred()],
    ...over,
  });
  const send = (env: unknown, key = feKey) => client(t.api, key).post('/factory/credentials', env);
  const q = (sql: string) => t.db.dataSource.query(sql);
  /** Everything a follow or an intake changes. */
  const snapshot = async () => ({
    cache: await q('SELECT frontend, entry, type, version, fingerprint FROM cached_credentials ORDER BY entry, type'),
    pinned: await q('SELECT name, public_key FROM registered_frontends ORDER BY name'),
    retired: await q('SELECT frontend, public_key, successor_key FROM retired_frontend_keys ORDER BY public_key'),
    follows: (await client(t.api, t.adminKey).get('/audit?action=factory.frontend.key-follow&limit=100')).json.entries.length,
  });
  const pinnedKey = async () => (await q(`SELECT public_key FROM registered_frontends WHERE name = '${FE}'`))[0].public_key as string;

  /** Refused with this status and code, and nothing changed. */
  async function refused(env: unknown, status: number, errorCode: string, key = feKey) {
    const before = await snapshot();
    const res = await send(env, key);
    expect([res.status, res.json?.error?.code]).toEqual([status, errorCode]);
    expect(await snapshot()).toEqual(before);
  }

  /** A v2 envelope built by hand, so its body and its proof can disagree (what sealEnvelope never does). */
  function handmade(bodyCreatedAt: number, provenCreatedAt: number): V2 {
    const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
    const box = sodium.crypto_box_easy(JSON.stringify(body({ createdAt: bodyCreatedAt })), nonce, factoryKey, k2.privateKey);
    const at = Buffer.alloc(8);
    at.writeBigUInt64BE(BigInt(provenCreatedAt));
    const message = Buffer.concat([Buffer.from('glidekey key-follow v1\0'), k2.publicKey, nonce, at]);
    const proofNonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
    const proof = sodium.crypto_box_easy(message, proofNonce, factoryKey, k1.privateKey);
    return {
      v: 2,
      from: b64(k2.publicKey),
      nonce: b64(nonce),
      box: b64(box),
      keyProof: { previous: b64(k1.publicKey), nonce: b64(proofNonce), box: b64(proof) },
    };
  }

  beforeAll(async () => {
    await sodium.ready;
    [k1, k2, stranger] = [sodium.crypto_box_keypair(), sodium.crypto_box_keypair(), sodium.crypto_box_keypair()];
    t = await startTestApp({ engine, env: { GLIDEKEY_ROLES: 'factory', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    const admin = client(t.api, t.adminKey);
    feKey = (await admin.post('/factory/frontends', { name: FE, publicKey: b64(k1.publicKey) })).json.apiKey;
    otherKey = (await admin.post('/factory/frontends', { name: 'other.example.org', publicKey: b64(stranger.publicKey) })).json.apiKey;
    factoryKey = Buffer.from((await admin.get('/factory/identity')).json.publicKey, 'base64');
    expect((await admin.put('/factory/entries/CE_1', { site: 'S1', gatekeeper: 'ce1.example.org', trustDomain: 'OSG', authMethod: 'scitoken' })).status).toBe(
      201,
    );
    takenUnderK1 = await sealEnvelope(body(), k1, factoryKey);
    expect((await send(takenUnderK1)).status).toBe(200);
    unsentUnderK1 = await sealEnvelope(body(), k1, factoryKey);
  });
  afterAll(() => t.close());

  describe('before the follow', () => {
    it('a tampered proof, or one moved from another envelope: 400 ENVELOPE_BAD_KEY_PROOF, the old key stays pinned', async () => {
      const env = (await sealEnvelope(body(), k2, factoryKey, k1)) as V2;
      const proof = Buffer.from(env.keyProof.box, 'base64');
      proof[proof.length - 1] ^= 1;
      await refused({ ...env, keyProof: { ...env.keyProof, box: proof.toString('base64') } }, 400, 'ENVELOPE_BAD_KEY_PROOF');
      const other = (await sealEnvelope(body(), k2, factoryKey, k1)) as V2;
      await refused({ ...env, keyProof: other.keyProof }, 400, 'ENVELOPE_BAD_KEY_PROOF');
      expect(await pinnedKey()).toBe(b64(k1.publicKey));
    });

    it('a proof made with another key than the pinned one: 400 ENVELOPE_BAD_KEY_PROOF', async () => {
      const forged = (await sealEnvelope(body(), k2, factoryKey, stranger)) as V2;
      await refused({ ...forged, keyProof: { ...forged.keyProof, previous: b64(k1.publicKey) } }, 400, 'ENVELOPE_BAD_KEY_PROOF');
      // Naming a previous key no frontend holds here: nobody to follow.
      await refused(await sealEnvelope(body(), k2, factoryKey, sodium.crypto_box_keypair()), 403, 'ENVELOPE_UNKNOWN_SENDER');
    });

    it('a proof for another creation time than the body carries: 400 ENVELOPE_BAD_KEY_PROOF', async () => {
      await refused(handmade(t.clock.now(), t.clock.now() - 1), 400, 'ENVELOPE_BAD_KEY_PROOF');
    });

    it("a good proof presented with another frontend's API key, or outside the window, or without a proof: refused, and no follow", async () => {
      await refused(await sealEnvelope(body(), k2, factoryKey, k1), 403, 'ENVELOPE_SENDER_MISMATCH', otherKey);
      await refused(await sealEnvelope(body({ createdAt: t.clock.now() - 3_600_000 }), k2, factoryKey, k1), 400, 'ENVELOPE_STALE');
      await refused(await sealEnvelope(body(), k2, factoryKey), 403, 'ENVELOPE_UNKNOWN_SENDER');
    });
  });

  describe('the follow, and after it', () => {
    let following: V2;

    it('an envelope under the new key with a good proof is taken, and the frontend re-pinned in the same transaction, audited with both fingerprints', async () => {
      const sent = body();
      following = (await sealEnvelope(sent, k2, factoryKey, k1)) as V2;
      const res = await send(following);
      expect([res.status, res.json.results.map((r: { result: string }) => r.result)]).toEqual([200, ['stored']]);
      expect(await pinnedKey()).toBe(b64(k2.publicKey));
      expect(await q('SELECT frontend, public_key, successor_key FROM retired_frontend_keys')).toEqual([
        { frontend: FE, public_key: b64(k1.publicKey), successor_key: b64(k2.publicKey) },
      ]);
      const audit = (await client(t.api, t.adminKey).get('/audit?action=factory.frontend.key-follow&limit=10')).json.entries;
      expect(audit).toEqual([
        expect.objectContaining({ target: `frontend:${FE}`, result: 'success', detail: { fromFingerprint: fp(k1), toFingerprint: fp(k2), envelope: sent.id } }),
      ]);
    });

    it('the same envelope again: 409 ENVELOPE_REPLAYED', async () => {
      await refused(following, 409, 'ENVELOPE_REPLAYED');
    });

    it('envelopes under the old key, taken before or never seen, replayed after the follow: 403 ENVELOPE_KEY_RETIRED', async () => {
      await refused(takenUnderK1, 403, 'ENVELOPE_KEY_RETIRED');
      await refused(unsentUnderK1, 403, 'ENVELOPE_KEY_RETIRED');
      await refused(await sealEnvelope(body(), k1, factoryKey), 403, 'ENVELOPE_KEY_RETIRED');
    });

    it('a rollback: a valid proof from the pinned key announcing the key it replaced is refused, 403 ENVELOPE_KEY_RETIRED', async () => {
      // Even one who holds both private keys cannot move the factory back to a key it followed away from.
      await refused(await sealEnvelope(body(), k1, factoryKey, k2), 403, 'ENVELOPE_KEY_RETIRED');
      expect(await pinnedKey()).toBe(b64(k2.publicKey));
    });

    it('plain envelopes under the new key are taken as before; a proof they still carry changes nothing', async () => {
      const plain = await send(await sealEnvelope(body(), k2, factoryKey));
      expect([plain.status, plain.json.results[0].result]).toEqual([200, 'stored']);
      const late = await send(await sealEnvelope(body(), k2, factoryKey, k1));
      expect([late.status, late.json.results[0].result]).toEqual([200, 'stored']);
      expect((await snapshot()).follows).toBe(1);
    });

    it('a further rotation follows on from the new key, and neither older key comes back', async () => {
      const k3 = sodium.crypto_box_keypair();
      expect((await send(await sealEnvelope(body(), k3, factoryKey, k2))).status).toBe(200);
      expect(await pinnedKey()).toBe(b64(k3.publicKey));
      await refused(await sealEnvelope(body(), k2, factoryKey, k3), 403, 'ENVELOPE_KEY_RETIRED');
      await refused(await sealEnvelope(body(), k1, factoryKey, k3), 403, 'ENVELOPE_KEY_RETIRED');
      // A proof from a retired key for a fresh key: the sender is unknown (nothing pins k1 or k2 now).
      await refused(await sealEnvelope(body(), sodium.crypto_box_keypair(), factoryKey, k1), 403, 'ENVELOPE_UNKNOWN_SENDER');
    });
  });
});
