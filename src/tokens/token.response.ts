import { iso } from '../common/time.js';
import type { IdTokenClaims } from '../crypto/idtoken.js';
import type { Level } from '../sites/scopes.js';
import type { SiteKeyRecord } from '../sites/sites.types.js';
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

/**
 * A minted token's facts, the mint response after `token` (the only time the token is returned):
 * `keyId`, last, names the key row for the callers inside glidekey and is dropped from the response.
 */
export const mintView = (claims: IdTokenClaims, key: SiteKeyRecord, levels: Level[]) => ({
  jti: claims.jti,
  kid: key.kid,
  keyVersion: key.version,
  issuer: claims.iss,
  subject: claims.sub,
  scopes: levels,
  issuedAt: claims.iat,
  expiresAt: claims.exp,
  keyId: key.id,
});
