import { createHmac, KeyObject, webcrypto } from 'node:crypto';
import { compactVerify } from 'jose';
import { isIntegerLiteral, topLevelMembers } from './json-members.js';

export type SigningKey = webcrypto.CryptoKey;

/** The claims glidekey puts in an IDTOKEN, in the order GlideinWMS's token_util emits them. */
export interface IdTokenClaims {
  sub: string;
  iat: number;
  nbf: number;
  jti: string;
  iss: string;
  exp: number;
  scope: string;
}

/** The exact header bytes HTCondor and GlideinWMS produce: alg, kid, typ in this order. */
export const idTokenHeader = (kid: string) => ({ alg: 'HS256' as const, kid, typ: 'JWT' });

/** The exact payload JSON: key order and integer dates match GlideinWMS byte for byte. */
export function idTokenPayload(c: IdTokenClaims): string {
  for (const k of ['iat', 'nbf', 'exp'] as const) {
    if (!Number.isSafeInteger(c[k])) throw new TypeError(`${k} must be an integer`);
  }
  return JSON.stringify({ sub: c.sub, iat: c.iat, nbf: c.nbf, jti: c.jti, iss: c.iss, exp: c.exp, scope: c.scope });
}

/** Imports a derived 32-byte key as a non-extractable HMAC-SHA256 CryptoKey. */
export function importSigningKey(key: Uint8Array): Promise<SigningKey> {
  return webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** The node:crypto handle of each CryptoKey that has signed (the same key material, never exported). */
const hmacKeys = new WeakMap<SigningKey, KeyObject>();

function hmacKeyOf(key: SigningKey): KeyObject {
  let k = hmacKeys.get(key);
  if (!k) {
    if (key.algorithm.name !== 'HMAC' || (key.algorithm as webcrypto.HmacKeyAlgorithm).hash.name !== 'SHA-256' || !key.usages.includes('sign')) {
      throw new TypeError('an IDTOKEN is signed with an HMAC-SHA256 signing key');
    }
    k = KeyObject.from(key);
    hmacKeys.set(key, k);
  }
  return k;
}

/**
 * Signs an HTCondor IDTOKEN (compact JWS, HS256): base64url(header) . base64url(payload) .
 * base64url(HMAC-SHA256 of the two), the bytes jose's CompactSign makes (test/crypto/idtoken-vectors.spec.ts holds
 * it to GlideinWMS's), with one synchronous node:crypto HMAC instead of WebCrypto's job and
 * jose's header checks: a third of the HTTP mint's CPU went there.
 */
export function signIdToken(kid: string, claims: IdTokenClaims, key: SigningKey): Promise<string> {
  try {
    const signingInput = `${Buffer.from(JSON.stringify(idTokenHeader(kid))).toString('base64url')}.${Buffer.from(idTokenPayload(claims)).toString('base64url')}`;
    return Promise.resolve(`${signingInput}.${createHmac('sha256', hmacKeyOf(key)).update(signingInput).digest('base64url')}`);
  } catch (err) {
    return Promise.reject(err);
  }
}

export interface ParsedIdToken {
  header: { alg: string; kid: string } & Record<string, unknown>;
  claims: Record<string, unknown>;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function decodeSegment(s: string): { json: Record<string, unknown>; text: string } | undefined {
  if (!B64URL.test(s)) return undefined;
  try {
    const text = Buffer.from(s, 'base64url').toString('utf8');
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? { json: v as Record<string, unknown>, text } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses a compact token without trusting it: three base64url segments, JSON object header and
 * payload, a non-empty kid, and integer dates where present (HTCondor's parser rejects 1.7e9).
 */
export function parseIdToken(token: string): ParsedIdToken | undefined {
  if (token.length > 16_384) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[2] || !B64URL.test(parts[2])) return undefined;
  const header = decodeSegment(parts[0])?.json;
  const payload = decodeSegment(parts[1]);
  if (!header || !payload) return undefined;
  const claims = payload.json;
  // JSON.parse reads 1.7e9 and 1700000000.0 as integers; HTCondor's parser rejects them, so the
  // top-level members' own text is checked (and a payload naming a member twice is refused).
  const members = topLevelMembers(payload.text);
  if (!members) return undefined;
  if (typeof header.alg !== 'string' || typeof header.kid !== 'string' || header.kid === '') return undefined;
  for (const k of ['iat', 'nbf', 'exp']) {
    if (k in claims && (!Number.isSafeInteger(claims[k]) || !isIntegerLiteral(members.get(k)))) return undefined;
  }
  for (const k of ['iss', 'sub', 'jti', 'scope']) {
    if (k in claims && typeof claims[k] !== 'string') return undefined;
  }
  return { header: header as ParsedIdToken['header'], claims };
}

/** True when the token's HS256 signature was made with this key; only HS256 is accepted. */
export async function idTokenSignedBy(token: string, key: SigningKey): Promise<boolean> {
  try {
    await compactVerify(token, key, { algorithms: ['HS256'] });
    return true;
  } catch {
    return false;
  }
}
