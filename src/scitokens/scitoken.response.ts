import { iso } from '../common/time.js';
import type { SciToken } from './scitoken.entity.js';

export const SCITOKEN_STATES = ['missing', 'valid', 'expiring', 'expired', 'revoked', 'invalid'] as const;
export type SciTokenState = (typeof SCITOKEN_STATES)[number];

const isoSeconds = (s: number | null) => iso(s === null ? null : s * 1000);

/** A SciToken's metadata and state, never the token. */
export function sciTokenResponse(t: SciToken, state: SciTokenState, reason: string | null, now: number) {
  return {
    name: t.name,
    trustDomain: t.trustDomain,
    securityClass: t.securityClass,
    sourcePath: t.sourcePath,
    allEntries: t.allEntries,
    state,
    reason,
    issuer: t.issuer,
    subject: t.subject,
    audience: t.audience ? (JSON.parse(t.audience) as string[]) : [],
    scope: t.scope,
    profile: t.profile,
    alg: t.alg,
    kid: t.kid,
    jti: t.jti,
    fingerprint: t.fingerprint,
    issuedAt: isoSeconds(t.issuedAt),
    notBefore: isoSeconds(t.notBefore),
    expiresAt: isoSeconds(t.expiresAt),
    secondsToExpiry: t.expiresAt === null || state === 'revoked' || state === 'missing' ? null : Math.max(0, t.expiresAt - Math.floor(now / 1000)),
    storedAt: iso(t.storedAt),
    revokedAt: iso(t.revokedAt),
    refreshError: t.refreshError ? { code: t.refreshError, at: iso(t.refreshErrorAt) } : null,
  };
}
