import sodium from 'libsodium-wrappers';
import { z } from 'zod';
import { DomainError } from '../common/errors.js';
import { GWMS_GROUP, PLAIN_NAME } from '../common/names.js';
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
  createdAt: z.number().int().min(0).max(MAX_UNIX_SECONDS * 1000),
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

/** What travels: the sender's public key (to look it up), a nonce, and the authenticated ciphertext. */
export const envelopeSchema = z
  .object({
    v: z.literal(1),
    from: z.base64().length(44),
    nonce: z.base64().length(32),
    box: z.base64().max(12_000_000),
  })
  .strict();

export type Envelope = z.infer<typeof envelopeSchema>;

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/**
 * Seals a body from the sender's X25519 key to the recipient's (libsodium crypto_box:
 * X25519 + XSalsa20-Poly1305): only the recipient can read it, and it proves the sender.
 */
export async function sealEnvelope(body: EnvelopeBody, sender: { publicKey: Uint8Array; privateKey: Uint8Array }, recipientPublicKey: Uint8Array): Promise<Envelope> {
  await sodium.ready;
  const checked = envelopeBodySchema.parse(body);
  const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
  const box = sodium.crypto_box_easy(JSON.stringify(checked), nonce, recipientPublicKey, sender.privateKey);
  return { v: 1, from: b64(sender.publicKey), nonce: b64(nonce), box: b64(box) };
}

/** The sender's public key an envelope claims (to find the registered sender); the MAC proves it later. */
export function envelopeSender(raw: unknown): Envelope {
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) throw new DomainError('ENVELOPE_MALFORMED', 'not a glidekey envelope (v, from, nonce, box)');
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
