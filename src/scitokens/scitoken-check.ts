import { compactVerify, createLocalJWKSet, errors, JSONWebKeySet } from 'jose';
import { DomainError } from '../common/errors.js';
import { isIntegerLiteral, topLevelMembers } from '../crypto/json-members.js';

export const SCITOKEN_ALGS = ['RS256', 'ES256'] as const;
export type SciTokenProfile = 'wlcg' | 'scitokens2';

export interface CheckedSciToken {
  alg: string;
  kid: string | null;
  issuer: string;
  subject: string | null;
  audience: string[];
  scope: string | null;
  jti: string | null;
  profile: SciTokenProfile;
  issuedAt: number | null;
  notBefore: number | null;
  expiresAt: number;
}

export interface TrustedIssuer {
  issuer: string;
  jwks: JSONWebKeySet;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
/** Clock skew allowed for nbf and iat against the issuer's clock. */
const LEEWAY = 60;

function segment(s: string): Record<string, unknown> {
  if (!B64URL.test(s)) throw new DomainError('SCITOKEN_MALFORMED', 'token is not a compact JWS (base64url segments)', 'token');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw new DomainError('SCITOKEN_MALFORMED', 'token header or payload is not JSON', 'token');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DomainError('SCITOKEN_MALFORMED', 'token header or payload is not a JSON object', 'token');
  return v as Record<string, unknown>;
}

/** An integer claim, written as a plain integer in the payload's own text (1.8e9 reads as one in JSON.parse, not in scitokens-cpp). */
const optionalInt = (c: Record<string, unknown>, k: string, members: Map<string, string>) => {
  if (c[k] === undefined) return null;
  if (!Number.isSafeInteger(c[k]) || !isIntegerLiteral(members.get(k))) throw new DomainError('SCITOKEN_MALFORMED', `claim ${k} must be an integer`, 'token');
  return c[k] as number;
};
const optionalString = (c: Record<string, unknown>, k: string) => {
  if (c[k] === undefined) return null;
  if (typeof c[k] !== 'string') throw new DomainError('SCITOKEN_MALFORMED', `claim ${k} must be a string`, 'token');
  return c[k] as string;
};

/**
 * Checks a SciToken (WLCG or SciTokens 2.0 profile) as a resource server would: a compact JWS with
 * alg RS256 or ES256 only (never none or HS*, whatever the header says), signed by a key of the
 * trusted issuer its `iss` names, with `exp` present and in the future and sane `nbf`/`iat`.
 * With `now` undefined the times are not checked (re-checking a stored token's signature).
 */
export async function checkSciToken(token: string, issuers: TrustedIssuer[], now: number | undefined): Promise<CheckedSciToken> {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[2]) throw new DomainError('SCITOKEN_MALFORMED', 'token is not a compact JWS (three segments)', 'token');
  const header = segment(parts[0]);
  const unverified = segment(parts[1]);
  const alg = header.alg;
  // An unencoded payload (RFC 7797) would let the signed bytes differ from what we read as claims.
  if (header.b64 !== undefined || header.crit !== undefined) throw new DomainError('SCITOKEN_MALFORMED', 'unsupported JWS header (b64, crit)', 'token');
  if (typeof alg !== 'string' || !(SCITOKEN_ALGS as readonly string[]).includes(alg)) {
    throw new DomainError('SCITOKEN_BAD_ALG', `alg must be one of ${SCITOKEN_ALGS.join(', ')}`, 'token');
  }
  const iss = optionalString(unverified, 'iss');
  const trusted = iss === null ? undefined : issuers.find((i) => i.issuer === iss);
  if (!trusted) throw new DomainError('SCITOKEN_UNKNOWN_ISSUER', 'the token names no trusted issuer (PUT /scitoken-issuers/{id} first)', 'token');
  let verified: Uint8Array;
  try {
    verified = (await compactVerify(token, createLocalJWKSet(trusted.jwks), { algorithms: [...SCITOKEN_ALGS] })).payload;
  } catch (err) {
    if (err instanceof errors.JOSEError) throw new DomainError('SCITOKEN_BAD_SIGNATURE', "the signature does not verify with the issuer's keys", 'token');
    throw err;
  }
  // From here on, only what the signature covers.
  const claims = segment(Buffer.from(verified).toString('base64url'));
  const members = topLevelMembers(Buffer.from(verified).toString('utf8'));
  if (!members) throw new DomainError('SCITOKEN_MALFORMED', 'the token payload names a claim twice', 'token');
  if (claims.iss !== iss) throw new DomainError('SCITOKEN_MALFORMED', 'iss changed under the signature', 'token');
  const expiresAt = optionalInt(claims, 'exp', members);
  const issuedAt = optionalInt(claims, 'iat', members);
  const notBefore = optionalInt(claims, 'nbf', members);
  if (expiresAt === null) throw new DomainError('SCITOKEN_NO_EXPIRY', 'the token has no exp claim', 'token');
  if ((issuedAt !== null && issuedAt > expiresAt) || (notBefore !== null && notBefore > expiresAt)) {
    throw new DomainError('SCITOKEN_MALFORMED', 'iat or nbf is later than exp', 'token');
  }
  if (now !== undefined) {
    const t = Math.floor(now / 1000);
    if (expiresAt <= t) throw new DomainError('SCITOKEN_EXPIRED', 'the token has expired', 'token');
    if ((notBefore !== null && notBefore > t + LEEWAY) || (issuedAt !== null && issuedAt > t + LEEWAY)) {
      throw new DomainError('SCITOKEN_NOT_YET_VALID', 'the token is not valid yet (nbf or iat in the future)', 'token');
    }
  }
  let profile: SciTokenProfile;
  if (claims['wlcg.ver'] === '1.0') profile = 'wlcg';
  else if (claims.ver === 'scitoken:2.0') profile = 'scitokens2';
  else throw new DomainError('SCITOKEN_UNKNOWN_PROFILE', 'the token is neither a WLCG (wlcg.ver 1.0) nor a SciTokens 2.0 (ver scitoken:2.0) token', 'token');
  const aud = claims.aud;
  const audience = aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
  if (!audience.every((a) => typeof a === 'string')) throw new DomainError('SCITOKEN_MALFORMED', 'claim aud must be a string or a list of strings', 'token');
  return {
    alg,
    kid: typeof header.kid === 'string' ? header.kid : null,
    issuer: iss!,
    subject: optionalString(claims, 'sub'),
    audience: audience as string[],
    scope: optionalString(claims, 'scope'),
    jti: optionalString(claims, 'jti'),
    profile,
    issuedAt,
    notBefore,
    expiresAt,
  };
}

/** Checks a JWKS given for an issuer: public RSA or EC keys only, each importable. */
export function checkJwks(jwks: unknown): JSONWebKeySet {
  const bad = (why: string) => new DomainError('INVALID_JWKS', `jwks: ${why}`, 'jwks');
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as JSONWebKeySet).keys)) throw bad('must be an object with a keys array');
  const keys = (jwks as JSONWebKeySet).keys;
  if (!keys.length || keys.length > 32) throw bad('must hold 1 to 32 keys');
  for (const k of keys) {
    if (typeof k !== 'object' || k === null) throw bad('every key must be an object');
    if (k.kty !== 'RSA' && k.kty !== 'EC') throw bad('keys must be RSA or EC');
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in k)) throw bad('keys must be public (a private member was given)');
    if (k.alg !== undefined && !(SCITOKEN_ALGS as readonly string[]).includes(k.alg)) throw bad(`key alg must be one of ${SCITOKEN_ALGS.join(', ')}`);
    // A huge public exponent or modulus makes every verification slow: accept what issuers use.
    if (k.kty === 'RSA' && (k.e !== 'AQAB' || typeof k.n !== 'string' || k.n.length > 683)) throw bad('RSA keys must have e = 65537 and at most 4096 bits');
  }
  try {
    createLocalJWKSet({ keys });
  } catch {
    throw bad('not a valid JWKS');
  }
  return { keys };
}
