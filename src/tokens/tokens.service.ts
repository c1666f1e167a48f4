import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager, IsNull, MoreThan, MoreThanOrEqual } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { actorName } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { requestContext } from '../common/request-context.js';
import { IdTokenClaims, SigningKey, signIdToken } from '../crypto/idtoken.js';
import { Random } from '../crypto/random.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { isLiveState, KEY_STATE, LIVE_KEY_STATES_SQL } from '../sites/key-usability.js';
import { closure, Level, parseLevels, scopeClaim } from '../sites/scopes.js';
import { sitesStore } from '../sites/sites.store.js';
import { SiteKeysService } from '../sites/site-keys.service.js';
import { SitesService } from '../sites/sites.service.js';
import { SiteHooks } from '../sites/site-hooks.js';
import type { SiteKeyRecord, SiteRecord } from '../sites/sites.types.js';
import { mergeSubjects, representable, revocationExpr, UnrepresentableString } from './classad.js';
import { checkRevocationFile, REVOCATION_KNOB, RevocationCheckFailed, RevocationSet } from './revocation-check.js';
import { TokensMetrics } from './tokens.metrics.js';
import { LedgerState, ListTokensQueryDto } from './dto/list-tokens.query.dto.js';
import { MintTokenDto } from './dto/mint-token.dto.js';
import { IssuedToken } from './issued-token.entity.js';
import { LedgerWriter } from './ledger-writer.js';
import { RevokeSubjectDto } from './dto/revoke-subject.dto.js';
import { SubjectRevocation } from './subject-revocation.entity.js';
import { EventBus } from '../events/event-bus.js';
import { ledgerResponse, mintView } from './token.response.js';

/** A subject revocation kept until an admin says otherwise (year 9999). */
const FOREVER = 253_402_300_799_000;

@Injectable()
export class TokensService implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly sites: SitesService,
    private readonly keys: SiteKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly metrics: TokensMetrics,
    private readonly ledger: LedgerWriter,
    private readonly settings: Settings,
    private readonly events: EventBus,
    private readonly siteHooks: SiteHooks,
  ) {}

  onModuleInit(): void {
    // A site's view counts its live tokens: the ledger is this capability's.
    this.siteHooks.tokenCounts = (m, now, siteId) => this.activeTokenCounts(m, now, siteId);
  }

  /** Unrevoked, unexpired tokens signed by a key version not retired, by site id (one site's, with `siteId`). */
  private async activeTokenCounts(m: EntityManager, now: number, siteId?: string): Promise<Map<string, number>> {
    const qb = sitesStore
      .joinKeys(m.createQueryBuilder().select('t.site_id', 'siteId').addSelect('COUNT(*)', 'n').from(IssuedToken, 't'), 'k', 'k.id = t.key_id', true)
      .where('t.revoked_at IS NULL')
      .andWhere('t.expires_at > :now', { now })
      .andWhere(`k.state <> '${KEY_STATE.retired}'`)
      .groupBy('t.site_id');
    if (siteId) qb.andWhere('t.site_id = :siteId', { siteId });
    const rows = await qb.getRawMany<{ siteId: string; n: string | number }>();
    return new Map(rows.map((r) => [r.siteId, Number(r.n)]));
  }

  /** Mints an IDTOKEN for a site within its policy and records it in the ledger. */
  async mint(siteName: string, dto: MintTokenDto) {
    const { keyId, ...view } = await this.mintWithKey(siteName, dto);
    void keyId;
    return view;
  }

  /** mint(), also naming the key row that signed (for the renewer). */
  async mintWithKey(siteName: string, dto: MintTokenDto) {
    const { site, key } = await this.sites.forMint(siteName, false);
    const { token, row, audit, view } = await this.prepare(site, key, await this.keys.signingKey(key), dto);
    // The key may be rotated away before the row lands: the writer then refuses it, and we mint again in one transaction.
    if (await this.ledger.record(row, audit)) {
      this.metrics.tokensMinted.inc({ site: site.name });
      return { token, ...view };
    }
    for (let attempt = 0; ; attempt++) {
      const minted = await this.mintHoldingKey(siteName, dto);
      if (minted) return minted;
      if (attempt >= 2) throw new Error(`site ${siteName}'s key kept changing while minting`);
    }
  }

  /**
   * A mint that lost the race with a rotation: the site and its active key are read in the
   * transaction that writes the ledger row (FOR SHARE on PostgreSQL: a rotation or deletion waits
   * for its commit), so a rotation cannot retire the key in between, however fast rotations follow
   * each other. Null when a rotation committed just before this transaction read the key (PostgreSQL).
   */
  private async mintHoldingKey(siteName: string, dto: MintTokenDto) {
    const minted = await this.db.tx(async (m) => {
      const site = await sitesStore.byName(m, siteName);
      if (!site) throw new DomainError('SITE_NOT_FOUND', 'no such site');
      const key = await sitesStore.activeKey(m, site.id, true);
      if (!key) return null;
      const { token, row, audit, view } = await this.prepare(site, key, await this.keys.signingKey(key), dto);
      await this.ledger.recordIn(m, row, audit);
      return { token, ...view, site: site.name };
    });
    if (!minted) return null;
    const { site, ...out } = minted;
    this.metrics.tokensMinted.inc({ site });
    return out;
  }

  /**
   * Mints with the key version `key` that the caller's transaction `m` has just created (a
   * rotation's new key, whose raw bytes it still holds: no unsealing), under the policy of `site`
   * as that transaction read it; the ledger row and the token.mint audit line land in `m`. The
   * caller counts the mint (minted()) once `m` has committed.
   */
  async mintInTransaction(m: EntityManager, site: SiteRecord, key: SiteKeyRecord, raw: Uint8Array, dto: MintTokenDto = {}) {
    const { token, row, audit, view } = await this.prepare(site, key, await this.keys.signingKeyFromRaw(key, raw), dto);
    await this.ledger.recordIn(m, row, audit);
    return { token, ...view };
  }

  /** Counts a mint whose transaction has committed (mintInTransaction's caller). */
  minted(siteName: string): void {
    this.metrics.tokensMinted.inc({ site: siteName });
  }

  /** Checks the request against the site's policy, signs, and builds the ledger row and audit line. */
  private async prepare(site: SiteRecord, key: SiteKeyRecord, signing: SigningKey, dto: MintTokenDto) {
    const allowed = site.scopes.split(' ') as Level[];
    const levels = dto.scopes ? parseLevels(dto.scopes) : allowed;
    // Without requested scopes the token carries the site's own: within its policy by definition.
    const within = levels === allowed ? undefined : closure(allowed);
    if (within && ![...closure(levels)].every((l) => within.has(l))) {
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
    const token = await signIdToken(key.kid, claims, signing);
    const row = Object.assign(new IssuedToken(), {
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
    });
    const audit = this.audit.line({
      action: 'token.mint',
      target: `site:${site.name}`,
      detail: { jti: claims.jti, keyVersion: key.version, subject: claims.sub, scopes: levels, lifetimeSeconds: lifetime },
    });
    return { token, row, audit, view: mintView(claims, key, levels) };
  }

  /** The ledger, newest first. */
  list(q: ListTokensQueryDto) {
    const limit = q.limit ?? 100;
    const now = this.clock.now();
    return this.db.read(async (m) => {
      const qb = sitesStore
        .joinKeys(m.createQueryBuilder(IssuedToken, 't'), 'k', 'k.id = t.key_id')
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
      const live = `k.state IN (${LIVE_KEY_STATES_SQL})`;
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
      await this.checkJtiCeiling(m, t);
      await m.update(IssuedToken, { jti, revokedAt: IsNull() }, { revokedAt: t.revokedAt });
      await this.audit.record(m, { action: 'token.revoke', target: `site:${t.siteName}`, detail: { jti, keyVersion: t.keyVersion, subject: t.subject } });
      this.events.publish(m, 'revocations.changed', { jtis: [jti], subjects: [] });
      const key = await sitesStore.keyById(m, t.keyId);
      return ledgerResponse(t, this.stateOf(t, key?.state ?? null, this.clock.now()));
    });
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
      id: this.random.uuid(),
      subject: dto.subject,
      issuedBefore,
      expiresAt: dto.keepUntil !== undefined ? dto.keepUntil * 1000 : FOREVER,
      createdAt: now,
      createdBy: actorName(requestContext.get()?.principal),
    });
    if (!representable(dto.subject))
      throw new DomainError(
        'SUBJECT_NOT_REPRESENTABLE',
        'subject holds a NUL character or an unpaired surrogate, which no HTCondor revocation expression can match',
        'subject',
      );
    const revoked = await this.db.tx(async (m) => {
      await this.checkSubjectCeiling(m, dto.subject);
      await m.insert(SubjectRevocation, rule);
      const res = await m
        .createQueryBuilder()
        .update(IssuedToken)
        .set({ revokedAt: now })
        .where('subject = :subject AND issued_at <= :at AND revoked_at IS NULL', { subject: dto.subject, at: issuedBefore * 1000 })
        .execute();
      await this.audit.record(m, {
        action: 'token.revoke-subject',
        target: `subject:${dto.subject.slice(0, 200)}`,
        detail: { issuedBefore, ledgerTokens: res.affected ?? 0 },
      });
      this.events.publish(m, 'revocations.changed', { jtis: [], subjects: [dto.subject] });
      return res.affected ?? 0;
    });
    return {
      subject: rule.subject,
      issuedBefore,
      keepUntil: rule.expiresAt === FOREVER ? null : new Date(rule.expiresAt).toISOString(),
      ledgerTokensRevoked: revoked,
    };
  }

  /** The subject revocations a token matches (for the verifier). */
  subjectRevoked(subject: string, iat: number): Promise<boolean> {
    return this.db.read((m) => m.existsBy(SubjectRevocation, { subject, issuedBefore: MoreThanOrEqual(iat), expiresAt: MoreThan(this.clock.now()) }));
  }

  /**
   * What the revocation expression must revoke now: every live subject rule, and the jtis of
   * revoked, unexpired ledger tokens that no subject rule already covers.
   */
  async revocationSet(): Promise<RevocationSet> {
    const now = this.clock.now();
    const [revoked, rules] = await this.db.read(
      async (m) =>
        [
          // Raw rows, read from the partial index issued_tokens_revoked_expires alone: up to
          // revocation.maxJtis (100,000) of them, which as entities cost more than the query.
          await m
            .createQueryBuilder(IssuedToken, 't')
            .select('t.jti', 'jti')
            .addSelect('t.subject', 'subject')
            .addSelect('t.issued_at', 'issued_at')
            .where('t.revoked_at > 0 AND t.expires_at > :now', { now })
            .getRawMany<{ jti: string; subject: string; issued_at: string | number }>(),
          await m.find(SubjectRevocation, { select: { subject: true, issuedBefore: true }, where: { expiresAt: MoreThan(now) } }),
        ] as const,
    );
    const cutoff = new Map(mergeSubjects(rules).map((r) => [r.subject, r.issuedBefore]));
    const jtis = revoked.filter((t) => !((cutoff.get(t.subject) ?? -Infinity) * 1000 >= Number(t.issued_at))).map((t) => t.jti);
    return { jtis, subjects: rules.map((r) => ({ subject: r.subject, issuedBefore: r.issuedBefore })) };
  }

  /**
   * The SEC_TOKEN_REVOCATION_EXPR value for revocationSet(), read back through the model of the
   * collector's config reader and old-syntax parser before anyone gets it (throws
   * RevocationCheckFailed or a REVOCATION_LIMIT DomainError otherwise).
   */
  async revocationExpression(): Promise<{ expr: string; set: RevocationSet; depth: number }> {
    const set = await this.revocationSet();
    const { maxJtis, maxSubjects } = this.settings.config.revocation;
    const subjects = mergeSubjects(set.subjects).length;
    this.metrics.terms.set({ kind: 'jti' }, set.jtis.length);
    this.metrics.terms.set({ kind: 'subject' }, subjects);
    if (set.jtis.length > maxJtis || subjects > maxSubjects) {
      throw new DomainError(
        'REVOCATION_LIMIT',
        `the revocation expression would hold ${set.jtis.length} jtis and ${subjects} subjects (at most ${maxJtis} and ${maxSubjects})`,
      );
    }
    let expr: string;
    try {
      expr = revocationExpr(
        set.jtis.map((jti) => ({ jti })),
        set.subjects,
      );
    } catch (err) {
      if (err instanceof UnrepresentableString) throw new RevocationCheckFailed(`a stored revocation cannot be written: ${err.message}`);
      throw err;
    }
    const depth = checkRevocationFile(`${REVOCATION_KNOB} = ${expr}\n`, set);
    this.metrics.depth.set(depth);
    this.metrics.bytes.set(Buffer.byteLength(expr));
    return { expr, set, depth };
  }

  /** Refuses a jti revocation that would take the expression past revocation.maxJtis (a token a subject rule covers adds nothing). */
  private async checkJtiCeiling(m: EntityManager, t: IssuedToken): Promise<void> {
    const now = this.clock.now();
    const covered = await m
      .createQueryBuilder(SubjectRevocation, 'r')
      .where('r.subject = :subject AND r.issuedBefore * 1000 >= :at AND r.expiresAt > :now', { subject: t.subject, at: t.issuedAt, now })
      .getExists();
    if (covered) return;
    const listed = await m
      .createQueryBuilder(IssuedToken, 't')
      .where('t.revokedAt > 0 AND t.expiresAt > :now', { now })
      .andWhere(
        'NOT EXISTS (SELECT 1 FROM subject_revocations r WHERE r.subject = t.subject AND r.issued_before * 1000 >= t.issued_at AND r.expires_at > :now)',
        { now },
      )
      .getCount();
    const max = this.settings.config.revocation.maxJtis;
    if (listed >= max) {
      this.metrics.limitRefusals.inc({ kind: 'jti' });
      throw new DomainError(
        'REVOCATION_LIMIT',
        `the revocation expression already lists ${listed} jtis (revocation.maxJtis is ${max}); revoke by subject or rotate the site's key instead`,
      );
    }
  }

  /** Refuses a new revoked subject past revocation.maxSubjects (a new cutoff for a subject already revoked adds nothing). */
  private async checkSubjectCeiling(m: EntityManager, subject: string): Promise<void> {
    const now = this.clock.now();
    if (await m.existsBy(SubjectRevocation, { subject, expiresAt: MoreThan(now) })) return;
    const row = await m
      .createQueryBuilder(SubjectRevocation, 'r')
      .select('COUNT(DISTINCT r.subject)', 'n')
      .where('r.expiresAt > :now', { now })
      .getRawOne<{ n: string | number }>();
    const listed = Number(row?.n ?? 0);
    const max = this.settings.config.revocation.maxSubjects;
    if (listed >= max) {
      this.metrics.limitRefusals.inc({ kind: 'subject' });
      throw new DomainError('REVOCATION_LIMIT', `${listed} subjects are already revoked (revocation.maxSubjects is ${max}); rotate the site's key instead`);
    }
  }

  private stateOf(t: IssuedToken, keyState: string | null, now: number): LedgerState {
    if (t.revokedAt !== null) return 'revoked';
    if (t.expiresAt <= now) return 'expired';
    return isLiveState(keyState) ? 'active' : 'retired';
  }
}
