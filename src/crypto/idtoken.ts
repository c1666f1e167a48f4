import { webcrypto } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
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

const encoder = new TextEncoder();

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

/** Signs an HTCondor IDTOKEN (compact JWS, HS256). */
export function signIdToken(kid: string, claims: IdTokenClaims, key: SigningKey): Promise<string> {
  return new CompactSign(encoder.encode(idTokenPayload(claims))).setProtectedHeader(idTokenHeader(kid)).sign(key);
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
