import { iso } from '../common/time.js';
import type { LedgerState } from './dto/list-tokens.query.dto.js';
import type { IssuedToken } from './issued-token.entity.js';

/** A ledger row as the API shows it. There is no token here: it was never stored. */
export const ledgerResponse = (t: IssuedToken, state: LedgerState) => ({
  jti: t.jti,
  site: t.siteName,
  keyVersion: t.keyVersion,
  kid: t.kid,
  subject: t.subject,
  issuer: t.issuer,
  scopes: t.scopes.split(' '),
  issuedAt: iso(t.issuedAt),
  expiresAt: iso(t.expiresAt),
  revokedAt: iso(t.revokedAt),
  mintedBy: t.mintedBy,
  state,
});
