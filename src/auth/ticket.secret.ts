const FORMAT = /^gkt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * A glidein bootstrap ticket as handed out: `gkt_<16 hex id>_<256-bit secret, base64url>`. The id
 * lets the audit log and the database name a ticket without its secret; only SHA-256 of the secret
 * is stored (hashSecret in api-key.secret.ts).
 */
export const formatTicket = (id: string, secret: string) => `gkt_${id}_${secret}`;

export function parseTicket(bearer: string): { id: string; secret: string } | undefined {
  const m = FORMAT.exec(bearer);
  return m ? { id: m[1], secret: m[2] } : undefined;
}

/** True for anything shaped like a ticket, whole or nearly: never to be stored or echoed. */
export const looksLikeTicket = (s: string) => /gkt_[0-9a-f]{16}_/.test(s);

/**
 * The one refusal every bad ticket gets (unknown, used, expired, malformed, missing): a failure
 * must not tell a prober whether a ticket ever existed.
 */
export const TICKET_REFUSED = 'the ticket is not valid: unknown, already used, or expired';
