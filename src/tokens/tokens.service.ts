import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IsNull, MoreThan, MoreThanOrEqual } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { actorName } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { requestContext } from '../common/request-context.js';
import { IdTokenClaims, signIdToken } from '../crypto/idtoken.js';
import { Random } from '../crypto/random.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { closure, Level, parseLevels, scopeClaim } from '../sites/scopes.js';
import { SiteKey } from '../sites/site-key.entity.js';
import { SiteKeysService } from '../sites/site-keys.service.js';
import { SitesService } from '../sites/sites.service.js';
import { revocationExpr } from './classad.js';
import { LedgerState, ListTokensQueryDto } from './dto/list-tokens.query.dto.js';
import { MintTokenDto } from './dto/mint-token.dto.js';
import { IssuedToken } from './issued-token.entity.js';
import { LedgerWriter } from './ledger-writer.js';
import { RevokeSubjectDto } from './dto/revoke-subject.dto.js';
import { SubjectRevocation } from './subject-revocation.entity.js';
import { KeyChanges } from '../sites/key-changes.js';
import { ledgerResponse } from './token.response.js';

/** A subject revocation kept until an admin says otherwise (year 9999). */
const FOREVER = 253_402_300_799_000;

@Injectable()
export class TokensService {
  constructor(
    private readonly db: Db,
    private readonly sites: SitesService,
    private readonly keys: SiteKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly metrics: MetricsService,
    private readonly ledger: LedgerWriter,
    private readonly settings: Settings,
    private readonly changes: KeyChanges,
  ) {}

  /** Mints an IDTOKEN for a site within its policy and records it in the ledger. */
  async mint(siteName: string, dto: MintTokenDto) {
    const { keyId, ...view } = await this.mintWithKey(siteName, dto);
    void keyId;
    return view;
  }

  /** mint(), also naming the key row that signed (for the renewer). */
  async mintWithKey(siteName: string, dto: MintTokenDto) {
    for (let attempt = 0; ; attempt++) {
      const { site, key } = await this.sites.forMint(siteName, attempt > 0);
      const allowed = site.scopes.split(' ') as Level[];
      const levels = dto.scopes ? parseLevels(dto.scopes) : allowed;
      const within = closure(allowed);
      if (![...closure(levels)].every((l) => within.has(l))) {
        throw new DomainError('SCOPE_TOO_WIDE', `scopes exceed site ${site.name}'s policy (${allowed.join(' ')})`, 'scopes');
      }
      // The service-wide ceiling applies too: lowering it caps sites created under a higher one.
      const ceiling = Math.min(site.maxLifetimeSeconds, this.settings.config.tokens.maxLifetimeSeconds);
      const lifetime = dto.lifetimeSeconds ?? Math.min(site.lifetimeSeconds, ceiling);
      if (lifetime > ceiling) {
        throw new DomainError('LIFETIME_EXCEEDS_POLICY', `lifetimeSeconds must not exceed ${ceiling} for site ${site.name}`, 'lifetimeSeconds');
      }
      const iat = this.clock.nowSeconds();
      const claims: IdTokenClaims = {
        sub: dto.subject ?? site.identity,
        iat,
        nbf: iat,
        jti: this.random.hex(16),
        iss: site.issuer,
        exp: iat + lifetime,
        scope: scopeClaim(levels),
      };
      const token = await signIdToken(key.kid, claims, await this.keys.signingKey(key));
      // The key may be rotated away before the row lands: the writer then refuses it and we mint again.
      const recorded = await this.ledger.record(
        Object.assign(new IssuedToken(), {
          jti: claims.jti,
          siteId: site.id,
          siteName: site.name,
          keyId: key.id,
          keyVersion: key.version,
          kid: key.kid,
          subject: claims.sub,
          issuer: claims.iss,
          scopes: levels.join(' '),
          issuedAt: iat * 1000,
          expiresAt: claims.exp * 1000,
          revokedAt: null,
          mintedBy: actorName(requestContext.get()?.principal),
        }),
        this.audit.line({
          action: 'token.mint',
          target: `site:${site.name}`,
          detail: { jti: claims.jti, keyVersion: key.version, subject: claims.sub, scopes: levels, lifetimeSeconds: lifetime },
        }),
      );
      if (!recorded) {
        if (attempt < 3) continue;
        throw new Error(`site ${site.name}'s key kept changing while minting`);
      }
      this.metrics.tokensMinted.inc({ site: site.name });
      return {
        token,
        jti: claims.jti,
        kid: key.kid,
        keyVersion: key.version,
        issuer: claims.iss,
        subject: claims.sub,
        scopes: levels,
        issuedAt: claims.iat,
        expiresAt: claims.exp,
        keyId: key.id,
      };
    }
  }

  /** The ledger, newest first. */
  list(q: ListTokensQueryDto) {
    const limit = q.limit ?? 100;
    const now = this.clock.now();
    return this.db.read(async (m) => {
      const qb = m
        .createQueryBuilder(IssuedToken, 't')
        .leftJoin(SiteKey, 'k', 'k.id = t.key_id')
        .addSelect('k.state', 'key_state')
        .orderBy('t.issued_at', 'DESC')
        .addOrderBy('t.jti', 'DESC')
        .limit(limit + 1);
      if (q.site) qb.andWhere('t.site_name = :site', { site: q.site });
      if (q.cursor) {
        const [at, jti] = q.cursor.split(':');
        // The leading `issued_at <= :at` is what lets both engines start the index walk at the cursor
        // instead of at the newest row (the OR alone made every deeper page scan all the newer ones).
        qb.andWhere('t.issued_at <= :at AND (t.issued_at < :at OR t.jti < :jti)', { at: Number(at), jti });
      }
      const live = "k.state IN ('active', 'grace')";
      if (q.state === 'revoked') qb.andWhere('t.revoked_at IS NOT NULL');
      if (q.state === 'expired') qb.andWhere('t.revoked_at IS NULL AND t.expires_at <= :now', { now });
      if (q.state === 'retired') qb.andWhere(`t.revoked_at IS NULL AND t.expires_at > :now AND (k.id IS NULL OR NOT (${live}))`, { now });
      if (q.state === 'active') qb.andWhere(`t.revoked_at IS NULL AND t.expires_at > :now AND ${live}`, { now });
      const { entities, raw } = await qb.getRawAndEntities<{ key_state: string | null }>();
      const rows = entities.map((t, i) => ledgerResponse(t, this.stateOf(t, raw[i]?.key_state ?? null, now)));
      const page = rows.slice(0, limit);
      const last = entities[limit - 1];
      return { tokens: page, next: rows.length > limit ? `${last.issuedAt}:${last.jti}` : null };
    });
  }

  async revoke(jti: string) {
    const view = await this.db.tx(async (m) => {
      const t = await m.findOneBy(IssuedToken, { jti });
      if (!t) throw new DomainError('TOKEN_NOT_FOUND', 'no token with this jti in the ledger');
      if (t.revokedAt !== null) throw new DomainError('TOKEN_ALREADY_REVOKED', 'this token is already revoked');
      t.revokedAt = this.clock.now();
      await m.update(IssuedToken, { jti, revokedAt: IsNull() }, { revokedAt: t.revokedAt });
      await this.audit.record(m, { action: 'token.revoke', target: `site:${t.siteName}`, detail: { jti, keyVersion: t.keyVersion, subject: t.subject } });
      const key = await m.findOneBy(SiteKey, { id: t.keyId });
      return ledgerResponse(t, this.stateOf(t, key?.state ?? null, this.clock.now()));
    });
    await this.changes.changed('revocations');
    return view;
  }

  /**
   * Revokes every token of a subject issued at or before a time (default now), on every site:
   * the ledger rows now, and tokens minted elsewhere through the expression and the verifier.
   */
  async revokeSubject(dto: RevokeSubjectDto) {
    const now = this.clock.now();
    const issuedBefore = dto.issuedBefore ?? Math.floor(now / 1000);
    const rule = Object.assign(new SubjectRevocation(), {
      id: randomUUID(),
      subject: dto.subject,
      issuedBefore,
      expiresAt: dto.keepUntil !== undefined ? dto.keepUntil * 1000 : FOREVER,
      createdAt: now,
      createdBy: actorName(requestContext.get()?.principal),
    });
    const revoked = await this.db.tx(async (m) => {
      await m.insert(SubjectRevocation, rule);
      const res = await m
        .createQueryBuilder()
        .update(IssuedToken)
        .set({ revokedAt: now })
        .where('subject = :subject AND issued_at <= :at AND revoked_at IS NULL', { subject: dto.subject, at: issuedBefore * 1000 })
        .execute();
      await this.audit.record(m, { action: 'token.revoke-subject', target: `subject:${dto.subject.slice(0, 200)}`, detail: { issuedBefore, ledgerTokens: res.affected ?? 0 } });
      return res.affected ?? 0;
    });
    await this.changes.changed('revocations');
    return { subject: rule.subject, issuedBefore, keepUntil: rule.expiresAt === FOREVER ? null : new Date(rule.expiresAt).toISOString(), ledgerTokensRevoked: revoked };
  }

  /** The subject revocations a token matches (for the verifier). */
  subjectRevoked(subject: string, iat: number): Promise<boolean> {
    return this.db.read((m) => m.existsBy(SubjectRevocation, { subject, issuedBefore: MoreThanOrEqual(iat), expiresAt: MoreThan(this.clock.now()) }));
  }

  /** SEC_TOKEN_REVOCATION_EXPR covering every revoked token that has not yet expired, and every live subject revocation. */
  async revocationExpression(): Promise<string> {
    const now = this.clock.now();
    const [revoked, subjects] = await this.db.read(async (m) => [
      await m.find(IssuedToken, { select: { jti: true }, where: { revokedAt: MoreThan(0), expiresAt: MoreThan(now) }, order: { jti: 'ASC' } }),
      await m.find(SubjectRevocation, { where: { expiresAt: MoreThan(now) }, order: { createdAt: 'ASC' } }),
    ] as const);
    return revocationExpr(revoked, subjects);
  }

  private stateOf(t: IssuedToken, keyState: string | null, now: number): LedgerState {
    if (t.revokedAt !== null) return 'revoked';
    if (t.expiresAt <= now) return 'expired';
    return keyState === 'active' || keyState === 'grace' ? 'active' : 'retired';
  }
}
