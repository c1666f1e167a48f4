import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { idTokenSignedBy, parseIdToken } from '../crypto/idtoken.js';
import { Db } from '../database/db.js';
import { isUsable } from '../sites/key-usability.js';
import type { KeyState, SiteKeyRecord } from '../sites/sites.types.js';
import { sitesStore } from '../sites/sites.store.js';
import { SiteKeysService } from '../sites/site-keys.service.js';
import { IssuedToken } from './issued-token.entity.js';
import { TokensMetrics } from './tokens.metrics.js';
import { TokensService } from './tokens.service.js';

export const VERIFY_REASONS = ['MALFORMED', 'UNKNOWN_KID', 'BAD_SIGNATURE', 'EXPIRED', 'NOT_YET_VALID', 'KEY_RETIRED', 'REVOKED', 'WRONG_ISSUER'] as const;
export type VerifyReason = (typeof VERIFY_REASONS)[number];

export type VerifyResult = { valid: true; site: string; keyVersion: number; claims: Record<string, unknown> } | { valid: false; reason: VerifyReason };

const STATE_ORDER: Record<KeyState, number> = { active: 0, grace: 1, retired: 2 };

/**
 * Verifies a token the way a collector holding glidekey's keys would (HMAC over
 * `<header>.<payload>`, now <= exp, no leeway), and says why when it would not accept it.
 */
@Injectable()
export class TokenVerifierService {
  constructor(
    private readonly db: Db,
    private readonly keys: SiteKeysService,
    private readonly clock: Clock,
    private readonly metrics: TokensMetrics,
    private readonly tokens: TokensService,
  ) {}

  async verify(token: string): Promise<VerifyResult> {
    const result = await this.check(token);
    this.metrics.verifications.inc({ result: result.valid ? 'valid' : result.reason });
    return result;
  }

  private async check(token: string): Promise<VerifyResult> {
    const fail = (reason: VerifyReason): VerifyResult => ({ valid: false, reason });
    const parsed = parseIdToken(token);
    if (!parsed) return fail('MALFORMED');
    const candidates = await this.db.read((m) => sitesStore.byKid(m, parsed.header.kid));
    if (!candidates.length) return fail('UNKNOWN_KID');
    // Only HS256 is ever issued; any other alg (none, HS384, RS256...) cannot carry one of our signatures.
    if (parsed.header.alg !== 'HS256') return fail('BAD_SIGNATURE');
    candidates.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.version - a.version);
    let match: SiteKeyRecord | undefined;
    for (const key of candidates) {
      if (await idTokenSignedBy(token, await this.keys.signingKey(key))) {
        match = key;
        break;
      }
    }
    if (!match) return fail('BAD_SIGNATURE');
    const nowMs = this.clock.now();
    if (!isUsable(match, nowMs)) return fail('KEY_RETIRED');
    const { claims } = parsed;
    const [site, ledger] = await this.db.read(
      async (m) =>
        [
          await sitesStore.byId(m, match.siteId),
          typeof claims.jti === 'string' && /^[0-9a-f]{32}$/.test(claims.jti) ? await m.findOneBy(IssuedToken, { jti: claims.jti }) : null,
        ] as const,
    );
    if (!site) return fail('UNKNOWN_KID');
    if (claims.iss !== site.issuer) return fail('WRONG_ISSUER');
    if (ledger?.revokedAt != null) return fail('REVOKED');
    if (typeof claims.sub === 'string' && typeof claims.iat === 'number' && (await this.tokens.subjectRevoked(claims.sub, claims.iat))) return fail('REVOKED');
    const now = Math.floor(nowMs / 1000);
    if (typeof claims.nbf === 'number' && now < claims.nbf) return fail('NOT_YET_VALID');
    if (typeof claims.exp === 'number' && now > claims.exp) return fail('EXPIRED');
    return { valid: true, site: site.name, keyVersion: match.version, claims };
  }
}
