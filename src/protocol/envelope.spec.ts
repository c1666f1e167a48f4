import { randomUUID } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { DomainError } from '../common/errors.js';
import { checkFreshness, checkKeyProofTime, CredentialsBody, Envelope, envelopeSender, openEnvelope, sealEnvelope, verifyKeyProof } from './envelope.js';

const code = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err instanceof DomainError ? err.code : `not a DomainError: ${String(err)}`;
  }
  return 'no error';
};

describe('credential envelopes', () => {
  interface KeyPair {
    publicKey: Uint8Array;
    privateKey: Uint8Array;
  }
  let frontend: KeyPair;
  let factory: KeyPair;
  let stranger: KeyPair;
  const body = (over: Partial<CredentialsBody> = {}): CredentialsBody => ({
    v: 1,
    frontend: 'fe.example.org',
    id: randomUUID(),
    createdAt: 1_700_000_000_000,
    credentials: [{ entry: 'CMS_T2_US_Nebraska', type: 'idtoken', version: 3, expiresAt: 1_700_086_400, value: 'eyJhbGciOiJIUzI1NiJ9.e30.sig' }],
    ...over,
  });
  /** Seals any plaintext, valid or not, as a (malicious) registered frontend could. */
  const sealRaw = (plain: string) => {
    const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
    const box = sodium.crypto_box_easy(plain, nonce, factory.publicKey, frontend.privateKey);
    return {
      v: 1 as const,
      from: Buffer.from(frontend.publicKey).toString('base64'),
      nonce: Buffer.from(nonce).toString('base64'),
      box: Buffer.from(box).toString('base64'),
    };
  };

  beforeAll(async () => {
    await sodium.ready;
    [frontend, factory, stranger] = [sodium.crypto_box_keypair(), sodium.crypto_box_keypair(), sodium.crypto_box_keypair()];
  });

  it('round-trips from the frontend to the factory, and hides the credential', async () => {
    const sent = body();
    const env = await sealEnvelope(sent, frontend, factory.publicKey);
    expect(JSON.stringify(env)).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(envelopeSender(JSON.parse(JSON.stringify(env))).from).toBe(Buffer.from(frontend.publicKey).toString('base64'));
    expect(await openEnvelope(env, frontend.publicKey, factory.privateKey)).toEqual(sent);
  });

  it('refuses a flipped byte anywhere in the ciphertext or nonce, and a wrong sender or recipient, as ENVELOPE_BAD_MAC', async () => {
    const env = await sealEnvelope(body(), frontend, factory.publicKey);
    const box = Buffer.from(env.box, 'base64');
    for (const i of [0, 15, 16, box.length - 1]) {
      const bad = Buffer.from(box);
      bad[i] ^= 1;
      expect(await code(openEnvelope({ ...env, box: bad.toString('base64') }, frontend.publicKey, factory.privateKey))).toBe('ENVELOPE_BAD_MAC');
    }
    const nonce = Buffer.from(env.nonce, 'base64');
    nonce[0] ^= 1;
    expect(await code(openEnvelope({ ...env, nonce: nonce.toString('base64') }, frontend.publicKey, factory.privateKey))).toBe('ENVELOPE_BAD_MAC');
    expect(await code(openEnvelope(env, stranger.publicKey, factory.privateKey))).toBe('ENVELOPE_BAD_MAC');
    expect(await code(openEnvelope(env, frontend.publicKey, stranger.privateKey))).toBe('ENVELOPE_BAD_MAC');
    expect(await code(openEnvelope({ ...env, box: box.subarray(0, 10).toString('base64') }, frontend.publicKey, factory.privateKey))).toBe('ENVELOPE_BAD_MAC');
  });

  it('refuses what is not an envelope as ENVELOPE_MALFORMED', () => {
    for (const raw of [
      null,
      'x',
      [],
      { v: 2, from: 'a', nonce: 'b', box: 'c' },
      { v: 1, from: 'not base64!', nonce: '', box: '' },
      { ...sealRaw('{}'), extra: 1 },
    ]) {
      expect([
        JSON.stringify(raw),
        ((): string => {
          try {
            envelopeSender(raw);
            return 'accepted';
          } catch (e) {
            return (e as DomainError).code;
          }
        })(),
      ]).toEqual([JSON.stringify(raw), 'ENVELOPE_MALFORMED']);
    }
  });

  it('refuses an authentic envelope whose plaintext is not JSON, or not exactly the schema', async () => {
    const open = (plain: string) => code(openEnvelope(sealRaw(plain), frontend.publicKey, factory.privateKey));
    expect(await open('not json')).toBe('ENVELOPE_MALFORMED');
    const valid = body();
    const cases: unknown[] = [
      { ...valid, extra: true },
      { ...valid, v: 2 },
      { ...valid, id: 'not-a-uuid' },
      { ...valid, createdAt: 1.5 },
      { ...valid, credentials: [] },
      { ...valid, credentials: [{ ...valid.credentials[0], type: 'grid_proxy' }] },
      { ...valid, credentials: [{ ...valid.credentials[0], entry: '../../etc/passwd' }] },
      { ...valid, credentials: [{ ...valid.credentials[0], version: 0 }] },
      { ...valid, credentials: [{ ...valid.credentials[0], value: 'x'.repeat(16_385) }] },
      { ...valid, credentials: [{ ...valid.credentials[0], sneaky: 'field' }] },
      { ...valid, credentials: Array(2001).fill(valid.credentials[0]) },
    ];
    for (const c of cases) expect(await open(JSON.stringify(c))).toBe('ENVELOPE_SCHEMA');
    // A __proto__ key is an unknown key like any other: refused, and Object.prototype untouched.
    expect(await open(JSON.stringify(valid).replace('{"v":1', '{"__proto__":{"polluted":1},"v":1'))).toBe('ENVELOPE_SCHEMA');
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it('opens a v2 body of withdrawals, and refuses one that is not exactly that shape', async () => {
    const open = (plain: unknown) => openEnvelope(sealRaw(JSON.stringify(plain)), frontend.publicKey, factory.privateKey);
    const { credentials, ...header } = body();
    const w = { entry: 'CMS_T2_US_Nebraska', type: 'idtoken', version: 4, reason: 'SITE_DELETED' };
    expect(await open({ ...header, v: 2, withdrawals: [w] })).toEqual({ ...header, v: 2, withdrawals: [w] });
    const cases: unknown[] = [
      { ...header, v: 2, withdrawals: [w], credentials },
      { ...header, v: 2, withdrawals: [] },
      { ...header, v: 2 },
      { ...header, v: 3, withdrawals: [w] },
      { ...header, v: 2, withdrawals: [{ ...w, reason: 'BECAUSE' }] },
      { ...header, v: 2, withdrawals: [{ ...w, value: 'eyJ' }] },
      { ...header, v: 2, withdrawals: [{ ...w, entry: '../x' }] },
      { ...header, v: 2, withdrawals: [{ ...w, version: 0 }] },
      { ...header, v: 2, withdrawals: Array(2001).fill(w) },
    ];
    for (const c of cases) expect(await code(open(c))).toBe('ENVELOPE_SCHEMA');
  });

  it('will not seal a body that breaks the schema', async () => {
    await expect(sealEnvelope({ ...body(), frontend: 'a b' }, frontend, factory.publicKey)).rejects.toThrow();
  });

  it('refuses an envelope outside the freshness window, either way', () => {
    const b = body({ createdAt: 1_000_000 });
    expect(code(() => checkFreshness(b, 1_000_000 + 300_000, 300_000))).resolves.toBe('no error');
    return Promise.all([
      expect(code(() => checkFreshness(b, 1_000_000 + 300_001, 300_000))).resolves.toBe('ENVELOPE_STALE'),
      expect(code(() => checkFreshness(b, 1_000_000 - 300_001, 300_000))).resolves.toBe('ENVELOPE_STALE'),
    ]);
  });
  describe('key proofs (an identity rotation)', () => {
    let next: KeyPair;
    type V2 = Extract<Envelope, { v: 2 }>;
    const flip = (b64: string, i: number) => {
      const b = Buffer.from(b64, 'base64');
      b[i] ^= 1;
      return b.toString('base64');
    };
    beforeAll(() => {
      next = sodium.crypto_box_keypair();
    });

    it('seals v: 1 without a previous key, v: 2 with one: the box is from the new key, the proof opens with the previous key and vouches for this envelope', async () => {
      expect((await sealEnvelope(body(), frontend, factory.publicKey)).v).toBe(1);
      const sent = body();
      const env = (await sealEnvelope(sent, next, factory.publicKey, frontend)) as V2;
      expect([env.v, env.from, env.keyProof.previous]).toEqual([
        2,
        Buffer.from(next.publicKey).toString('base64'),
        Buffer.from(frontend.publicKey).toString('base64'),
      ]);
      expect(envelopeSender(JSON.parse(JSON.stringify(env)))).toEqual(env);
      expect(await verifyKeyProof(env, frontend.publicKey, factory.privateKey)).toBe(sent.createdAt);
      const opened = await openEnvelope(env, next.publicKey, factory.privateKey);
      expect(opened).toEqual(sent);
      expect(await code(() => checkKeyProofTime(opened, sent.createdAt))).toBe('no error');
      // The box does not open with the previous key: only the proof is the previous key's.
      expect(await code(openEnvelope(env, frontend.publicKey, factory.privateKey))).toBe('ENVELOPE_BAD_MAC');
    });

    it('refuses a proof that is tampered, truncated, from another key, for another recipient, or for another envelope, as ENVELOPE_BAD_KEY_PROOF', async () => {
      const env = (await sealEnvelope(body(), next, factory.publicKey, frontend)) as V2;
      const verify = (e: V2, pinned = frontend.publicKey, recipient = factory.privateKey) => code(verifyKeyProof(e, pinned, recipient));
      const proofLength = Buffer.from(env.keyProof.box, 'base64').length;
      for (const i of [0, 16, proofLength - 1])
        expect(await verify({ ...env, keyProof: { ...env.keyProof, box: flip(env.keyProof.box, i) } })).toBe('ENVELOPE_BAD_KEY_PROOF');
      expect(await verify({ ...env, keyProof: { ...env.keyProof, nonce: flip(env.keyProof.nonce, 3) } })).toBe('ENVELOPE_BAD_KEY_PROOF');
      expect(await verify({ ...env, keyProof: { ...env.keyProof, box: Buffer.from(env.keyProof.box, 'base64').subarray(0, 20).toString('base64') } })).toBe(
        'ENVELOPE_BAD_KEY_PROOF',
      );
      // Made with a stranger's key while claiming the pinned one as previous.
      const forged = (await sealEnvelope(body(), next, factory.publicKey, stranger)) as V2;
      expect(await verify({ ...forged, keyProof: { ...forged.keyProof, previous: env.keyProof.previous } })).toBe('ENVELOPE_BAD_KEY_PROOF');
      expect(await verify(env, stranger.publicKey)).toBe('ENVELOPE_BAD_KEY_PROOF');
      expect(await verify(env, frontend.publicKey, stranger.privateKey)).toBe('ENVELOPE_BAD_KEY_PROOF');
      // Moved onto another envelope: another nonce, or another announced key.
      const other = (await sealEnvelope(body(), next, factory.publicKey, frontend)) as V2;
      expect(await verify({ ...other, keyProof: env.keyProof })).toBe('ENVELOPE_BAD_KEY_PROOF');
      expect(await verify({ ...env, nonce: other.nonce })).toBe('ENVELOPE_BAD_KEY_PROOF');
      expect(await verify({ ...env, from: Buffer.from(stranger.publicKey).toString('base64') })).toBe('ENVELOPE_BAD_KEY_PROOF');
    });

    it("binds the proof to the body's creation time: a body with another createdAt is ENVELOPE_BAD_KEY_PROOF", async () => {
      const sent = body();
      const env = (await sealEnvelope(sent, next, factory.publicKey, frontend)) as V2;
      const proven = await verifyKeyProof(env, frontend.publicKey, factory.privateKey);
      expect(await code(() => checkKeyProofTime({ ...sent, createdAt: sent.createdAt + 1 }, proven))).toBe('ENVELOPE_BAD_KEY_PROOF');
      expect(await code(() => checkKeyProofTime(sent, proven))).toBe('no error');
    });

    it('refuses a v: 2 envelope without its proof, with extra fields, or a v: 1 envelope with a proof, as ENVELOPE_MALFORMED', async () => {
      const env = (await sealEnvelope(body(), next, factory.publicKey, frontend)) as V2;
      const { keyProof, ...bare } = env;
      const cases: unknown[] = [
        bare,
        { ...env, v: 1 },
        { ...env, extra: 1 },
        { ...env, keyProof: { ...keyProof, extra: 1 } },
        { ...env, keyProof: { ...keyProof, previous: 'short' } },
        { ...env, keyProof: { ...keyProof, box: 'A'.repeat(400) } },
      ];
      for (const raw of cases) expect(await code(() => envelopeSender(raw))).toBe('ENVELOPE_MALFORMED');
    });
  });
});
