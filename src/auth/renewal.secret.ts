const FORMAT = /^gkr_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * A glidein's renewal credential: `gkr_<16 hex renewal id>_<256-bit secret, base64url>`. The id
 * names the glidein (it stays the same across rotations, so an admin can revoke it); the secret
 * changes at every renewal and only its SHA-256 is stored (hashSecret in api-key.secret.ts).
 */
export const formatRenewal = (id: string, secret: string) => `gkr_${id}_${secret}`;

export function parseRenewal(bearer: string): { id: string; secret: string } | undefined {
  const m = FORMAT.exec(bearer);
  return m ? { id: m[1], secret: m[2] } : undefined;
}

/**
 * The one refusal every bad renewal credential gets (unknown, replaced, malformed, missing, a
 * ticket or an API key): a failure must not tell a prober whether a glidein exists.
 */
export const RENEWAL_REFUSED = 'the renewal credential is not valid: unknown, already used, or replaced';
