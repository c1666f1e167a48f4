import { timingSafeEqual } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { z } from 'zod';
import { DomainError } from '../common/errors.js';
import { PLAIN_NAME } from '../common/names.js';
import { GWMS_GROUP } from '../config/config.schema.js';
import { MAX_UNIX_SECONDS } from '../common/time.js';

/** Entry and frontend names are plain names: they become file names at the factory. */
const NAME = PLAIN_NAME;

export const credentialSchema = z
  .object({
    entry: z.string().regex(NAME),
    type: z.enum(['idtoken', 'scitoken']),
    /** Increases with every new credential for this (entry, type); the factory keeps only newer ones. */
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    /** Unix seconds; bounded so that the factory can store, compare and format it (a Date holds it). */
    expiresAt: z.number().int().min(0).max(MAX_UNIX_SECONDS),
    value: z.string().min(1).max(16_384),
    /**
     * The GlideinWMS frontend groups this credential serves (the factory writes one cache file per
     * group, named after the ClientName `<frontend>.<group>`). Optional: absent means `main`, and
     * the frontend leaves it out then, so these bodies stay byte for byte what older factories take.
     */
    groups: z
      .array(z.string().regex(GWMS_GROUP))
      .min(1)
      .max(64)
      .refine((g) => new Set(g).size === g.length, 'groups must not repeat')
      .optional(),
  })
  .strict();

/** Why a frontend takes a credential back; the factory records it with the tombstone. */
export const WITHDRAWAL_REASONS = ['SITE_DELETED', 'TOKEN_REVOKED', 'KEY_RETIRED', 'SCITOKEN_REVOKED', 'SCITOKEN_DELETED', 'NO_LONGER_MATCHES'] as const;
export type WithdrawalReason = (typeof WITHDRAWAL_REASONS)[number];

export const withdrawalSchema = z
  .object({
    entry: z.string().regex(NAME),
    type: z.enum(['idtoken', 'scitoken']),
    /** From the same sequence as the credentials' versions: it beats every older delivery, and a newer one beats it. */
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    reason: z.enum(WITHDRAWAL_REASONS),
  })
  .strict();

const header = {
  /** The frontend's name (frontend.name: host-like, may hold a colon); the factory checks it is the registered sender's. */
  frontend: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/),
  id: z.uuid(),
  /** Unix milliseconds. */
  createdAt: z
    .number()
    .int()
    .min(0)
    .max(MAX_UNIX_SECONDS * 1000),
};

/**
 * The plaintext of an envelope: JSON of exactly one of these shapes, nothing else is ever
 * deserialised. v1 carries credentials, exactly as before withdrawals existed; v2 carries
 * withdrawals only. A factory that predates withdrawals refuses a v2 envelope whole (its strict v1
 * schema) and keeps taking v1 ones, so the frontend never mixes the two: credentials keep flowing
 * to an old factory while its withdrawals wait, retried, until it is upgraded.
 */
export const envelopeBodySchema = z.discriminatedUnion('v', [
  z.object({ v: z.literal(1), ...header, credentials: z.array(credentialSchema).min(1).max(2000) }).strict(),
  z.object({ v: z.literal(2), ...header, withdrawals: z.array(withdrawalSchema).min(1).max(2000) }).strict(),
]);

export type EnvelopeBody = z.infer<typeof envelopeBodySchema>;
export type EnvelopeCredential = z.infer<typeof credentialSchema>;
export type CredentialsBody = Extract<EnvelopeBody, { v: 1 }>;
export type WithdrawalsBody = Extract<EnvelopeBody, { v: 2 }>;
export type EnvelopeWithdrawal = z.infer<typeof withdrawalSchema>;

const publicKeyB64 = z.base64().length(44);
const nonceB64 = z.base64().length(32);
const boxB64 = z.base64().max(12_000_000);

/**
 * What travels: the sender's public key (to look it up), a nonce, and the authenticated ciphertext.
 * `v: 2` is sent during a frontend identity rotation to a factory that may still pin the previous
 * key: it adds `keyProof`, a box from that previous key to the factory over the new key, this
 * envelope's nonce and its creation time (keyProofMessage). Strict: a factory that predates it
 * refuses it whole, and the frontend sends `v: 1` whenever no proof is needed.
 */
export const envelopeSchema = z.discriminatedUnion('v', [
  z.object({ v: z.literal(1), from: publicKeyB64, nonce: nonceB64, box: boxB64 }).strict(),
  z
    .object({
      v: z.literal(2),
      from: publicKeyB64,
      nonce: nonceB64,
      box: boxB64,
      keyProof: z.object({ previous: publicKeyB64, nonce: nonceB64, box: z.base64().max(256) }).strict(),
    })
    .strict(),
]);

export type Envelope = z.infer<typeof envelopeSchema>;

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

const KEY_PROOF_CONTEXT = Buffer.from('glidekey key-follow v1\0', 'utf8');

/** What a key proof seals: a context label, the new public key, the envelope's nonce, its createdAt (ms, 8 bytes big-endian). */
function keyProofMessage(newPublicKey: Uint8Array, envelopeNonce: Uint8Array, createdAt: number): Uint8Array {
  const at = Buffer.alloc(8);
  at.writeBigUInt64BE(BigInt(createdAt));
  return Buffer.concat([KEY_PROOF_CONTEXT, newPublicKey, envelopeNonce, at]);
}

/**
 * Seals a body from the sender's X25519 key to the recipient's (libsodium crypto_box:
 * X25519 + XSalsa20-Poly1305): only the recipient can read it, and it proves the sender. With
 * `previous`, the envelope (v: 2) also carries a proof, made with the previous private key, that
 * the holder of the previous key vouches for the sender's key, for this envelope only.
 */
export async function sealEnvelope(
  body: EnvelopeBody,
  sender: { publicKey: Uint8Array; privateKey: Uint8Array },
  recipientPublicKey: Uint8Array,
  previous?: { publicKey: Uint8Array; privateKey: Uint8Array },
): Promise<Envelope> {
  await sodium.ready;
  const checked = envelopeBodySchema.parse(body);
  const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
  const box = sodium.crypto_box_easy(JSON.stringify(checked), nonce, recipientPublicKey, sender.privateKey);
  const env = { from: b64(sender.publicKey), nonce: b64(nonce), box: b64(box) };
  if (!previous) return { v: 1, ...env };
  const proofNonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
  const proof = sodium.crypto_box_easy(keyProofMessage(sender.publicKey, nonce, checked.createdAt), proofNonce, recipientPublicKey, previous.privateKey);
  return { v: 2, ...env, keyProof: { previous: b64(previous.publicKey), nonce: b64(proofNonce), box: b64(proof) } };
}

/**
 * Checks a v2 envelope's key proof against the key the recipient pins for the sender: it must open
 * with that key and name exactly this envelope's key and nonce. Returns the creation time it vouches
 * for, which the opened body must carry (so a proof is good for one envelope, never for a replay).
 */
export async function verifyKeyProof(env: Extract<Envelope, { v: 2 }>, pinnedPublicKey: Uint8Array, recipientPrivateKey: Uint8Array): Promise<number> {
  await sodium.ready;
  const bad = () => new DomainError('ENVELOPE_BAD_KEY_PROOF', "the envelope's key proof does not verify with the frontend's pinned key");
  let plain: Uint8Array;
  try {
    plain = sodium.crypto_box_open_easy(
      Buffer.from(env.keyProof.box, 'base64'),
      Buffer.from(env.keyProof.nonce, 'base64'),
      pinnedPublicKey,
      recipientPrivateKey,
    );
  } catch {
    throw bad();
  }
  const expected = keyProofMessage(Buffer.from(env.from, 'base64'), Buffer.from(env.nonce, 'base64'), 0);
  const head = expected.length - 8;
  if (plain.length !== expected.length || !timingSafeEqual(plain.subarray(0, head), expected.subarray(0, head))) throw bad();
  const createdAt = Buffer.from(plain).readBigUInt64BE(head);
  if (createdAt > BigInt(MAX_UNIX_SECONDS * 1000)) throw bad();
  return Number(createdAt);
}

/** A key proof vouches for one envelope: the body's creation time must be the one it names. */
export function checkKeyProofTime(body: EnvelopeBody, provenCreatedAt: number): void {
  if (body.createdAt !== provenCreatedAt) throw new DomainError('ENVELOPE_BAD_KEY_PROOF', "the envelope's key proof was made for another envelope");
}

/** The sender's public key an envelope claims (to find the registered sender); the MAC proves it later. */
export function envelopeSender(raw: unknown): Envelope {
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) throw new DomainError('ENVELOPE_MALFORMED', 'not a glidekey envelope (v, from, nonce, box[, keyProof])');
  return parsed.data;
}

/**
 * Opens an envelope from a known sender: the MAC must verify with the sender's public key and our
 * private key, the plaintext must be JSON, and the JSON must match the schema exactly. No eval, no
 * object deserialisation beyond JSON.parse into a schema.
 */
export async function openEnvelope(env: Envelope, senderPublicKey: Uint8Array, recipientPrivateKey: Uint8Array): Promise<EnvelopeBody> {
  await sodium.ready;
  let plain: Uint8Array;
  try {
    plain = sodium.crypto_box_open_easy(Buffer.from(env.box, 'base64'), Buffer.from(env.nonce, 'base64'), senderPublicKey, recipientPrivateKey);
  } catch {
    throw new DomainError('ENVELOPE_BAD_MAC', 'the envelope does not authenticate (tampered, or not from this sender to us)');
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(plain).toString('utf8'));
  } catch {
    throw new DomainError('ENVELOPE_MALFORMED', 'the envelope does not hold JSON');
  }
  const body = envelopeBodySchema.safeParse(json);
  if (!body.success) throw new DomainError('ENVELOPE_SCHEMA', `the envelope does not match the schema at ${body.error.issues[0]?.path.join('.') || '(root)'}`);
  return body.data;
}

/** Refuses an envelope created too long ago or too far in the future (clock skew allowed both ways). */
export function checkFreshness(body: EnvelopeBody, now: number, windowMs: number): void {
  if (Math.abs(now - body.createdAt) > windowMs) throw new DomainError('ENVELOPE_STALE', 'the envelope is older (or newer) than the acceptance window');
}
