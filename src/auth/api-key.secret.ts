import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { paramPipe } from '../common/params.js';

const FORMAT = /^gk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** An API key as handed out: `gk_<16 hex id>_<256-bit secret, base64url>`. */
export const formatApiKey = (id: string, secret: string) => `gk_${id}_${secret}`;

/** True for anything shaped like a glidekey API key, whole or nearly: never to be stored or echoed. */
export const looksLikeApiKey = (s: string) => /gk_[0-9a-f]{16}_/.test(s);

export function parseApiKey(bearer: string): { id: string; secret: string } | undefined {
  const m = FORMAT.exec(bearer);
  return m ? { id: m[1], secret: m[2] } : undefined;
}

/**
 * The {key} path parameter of POST /apikeys/{key}/revoke: a key's id or name, or the key itself (a
 * leaked one), taken as its id; anything else is looked up by at most its first 64 characters.
 */
export const ApiKeyRefPipe = paramPipe((value) => parseApiKey(value)?.id ?? value.slice(0, 64));

/**
 * Secrets are 256 random bits, so a plain SHA-256 is enough: there is nothing to guess. One-shot
 * crypto.hash (UTF-8, hex), a third of createHash's cost: several per glidein fetch and renewal.
 */
export const hashSecret = (secret: string) => hash('sha256', secret, 'hex');
/** hashSecret's digest as bytes (what the constant-time compare takes). */
export const hashSecretBytes = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

/** Constant-time comparison of two hex digests of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The longest bearer an API key route reads; glidein routes read up to MAX_GLIDEIN_BEARER. */
export const MAX_BEARER = 512;
/** A factory-shipped IDTOKEN (the token bootstrap) may be as long as the envelope lets a credential be. */
export const MAX_GLIDEIN_BEARER = 16_384;

/** Reads `Authorization: Bearer <secret>`; anything else (or longer than `max`) is no credential. */
export function bearerOf(header: string | undefined, max = MAX_BEARER): string | undefined {
  if (!header || header.length > max + 'Bearer '.length) return undefined;
  const m = /^Bearer ([!-~]+)$/.exec(header);
  return m?.[1];
}
