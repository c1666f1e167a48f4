import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { PutSciTokenDto } from './dto/put-scitoken.dto.js';
import { expiringWindow } from './expiry.js';
import { IssuersService } from './issuers.service.js';
import { checkSciToken, CheckedSciToken, TrustedIssuer } from './scitoken-check.js';
import { SciToken, sciTokenAd } from './scitoken.entity.js';
import { sciTokenResponse, SciTokenState } from './scitoken.response.js';
import { readSourceFile } from './source-file.js';
import { OutboxService } from '../forwarding/outbox.service.js';
import { OutboxReconciler } from '../forwarding/reconcile.service.js';
import { EventBus } from '../events/event-bus.js';
import { RunsAs } from '../common/request-context.js';

export type SciTokenView = ReturnType<typeof sciTokenResponse>;

/**
 * The VO's SciTokens: checked on the way in, sealed at rest, and reported with a state computed
 * against the current time (and the current trusted issuers) on every read.
 */
@Injectable()
export class SciTokensService {
  private readonly log = new Logger('scitokens');
  private readonly verdicts = new Map<string, string | null>();

  constructor(
    private readonly db: Db,
    private readonly issuers: IssuersService,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly outbox: OutboxService,
    private readonly events: EventBus,
    private readonly reconciler: OutboxReconciler,
  ) {}

  /** Stores (or replaces) a SciToken, or starts following a source file. */
  async put(name: string, dto: PutSciTokenDto): Promise<{ created: boolean; view: SciTokenView }> {
    const sourcePath = dto.sourcePath === undefined ? undefined : this.checkSourcePath(dto.sourcePath);
    if (dto.token === undefined && sourcePath === undefined) throw new DomainError('VALIDATION_FAILED', 'give token, or sourcePath to follow', 'token');
    const checked = dto.token === undefined ? undefined : await checkSciToken(dto.token.trim(), await this.issuers.trusted(), this.clock.now());
    const created = await this.db.tx(async (m) => {
      const now = this.clock.now();
      const existing = await m.findOneBy(SciToken, { name });
      const row =
        existing ??
        Object.assign(new SciToken(), { name, createdAt: now, ...emptyToken(), sourcePath: null, allEntries: false, refreshError: null, refreshErrorAt: null });
      // What matching reads, before this PUT changes it (`row` is `existing` itself).
      const label = existing && {
        trustDomain: existing.trustDomain,
        securityClass: existing.securityClass,
        allEntries: existing.allEntries,
        audience: existing.audience,
      };
      row.trustDomain = dto.trustDomain;
      row.revokedAt = null; // a PUT supplies the credential anew
      row.securityClass = dto.securityClass ?? null;
      // A PUT states the whole policy, as for securityClass: omitted means not for every entry.
      const widened = existing !== null && !existing.allEntries && dto.allEntries === true;
      row.allEntries = dto.allEntries ?? false;
      if (sourcePath !== undefined) row.sourcePath = sourcePath;
      row.updatedAt = now;
      if (checked) {
        this.refuseOlder(row, checked, dto.force === true);
        Object.assign(row, this.sealed(name, dto.token!.trim(), checked, now));
      }
      await m.save(SciToken, row);
      // allEntries newly set: entries its aud does not name get it now, even though the token is the same.
      if (checked || (widened && row.sealedToken !== null && row.revokedAt === null)) {
        await this.queue(m, row);
        this.events.publish(m, 'scitoken.changed', { name, change: 'stored' });
      }
      // A new label, audience or allEntries may leave entries it went to unmatched: withdrawn or given another, at once.
      if (
        label &&
        (label.trustDomain !== row.trustDomain ||
          label.securityClass !== row.securityClass ||
          label.allEntries !== row.allEntries ||
          label.audience !== row.audience)
      )
        await this.reconciler.reconcileAll(m);
      await this.audit.record(m, {
        action: 'scitoken.store',
        target: `scitoken:${name}`,
        detail: {
          ...(checked
            ? { jti: checked.jti, issuer: checked.issuer, profile: checked.profile, expiresAt: checked.expiresAt, fingerprint: row.fingerprint }
            : { sourcePath }),
          allEntries: row.allEntries,
        },
      });
      return !existing;
    });
    if (!checked && sourcePath) await this.refresh(name);
    return { created, view: await this.get(name) };
  }

  /** Revoke and forget: the token is wiped; its metadata stays so its state reads `revoked`. */
  async revoke(name: string): Promise<void> {
    await this.db.tx(async (m) => {
      const row = await m.findOneBy(SciToken, { name });
      if (!row) throw new DomainError('SCITOKEN_NOT_FOUND', 'no such SciToken');
      const now = this.clock.now();
      await m.update(SciToken, { name }, { sealedToken: null, revokedAt: now, sourcePath: null, updatedAt: now });
      // In the same transaction: entries given it get another matching SciToken, or its withdrawal.
      const { withdrawn } = await this.reconciler.reconcileAll(m);
      this.events.publish(m, 'scitoken.changed', { name, change: 'revoked' });
      await this.audit.record(m, { action: 'scitoken.revoke', target: `scitoken:${name}`, detail: { jti: row.jti, withdrawnFromFactoryEntries: withdrawn } });
    });
  }

  async get(name: string): Promise<SciTokenView> {
    const row = await this.db.read((m) => m.findOneBy(SciToken, { name }));
    if (!row) throw new DomainError('SCITOKEN_NOT_FOUND', 'no such SciToken');
    return this.view(row, await this.issuers.trusted());
  }

  async list(): Promise<SciTokenView[]> {
    const rows = await this.db.read((m) => m.find(SciToken, { order: { name: 'ASC' } }));
    const issuers = await this.issuers.trusted();
    return Promise.all(rows.map((r) => this.view(r, issuers)));
  }

  /**
   * Re-reads a followed file: a valid, different token replaces the stored one; an invalid one
   * (or a missing file) keeps the old token and records why. Returns the error code, if any.
   */
  async refresh(name: string): Promise<string | null> {
    const row = await this.db.read((m) => m.findOneBy(SciToken, { name }));
    if (!row?.sourcePath || row.revokedAt !== null) return null;
    let code: string | null = null;
    let token: string | undefined;
    let checked: CheckedSciToken | undefined;
    try {
      token = readSourceFile(row.sourcePath, this.sourceRoots());
      if (row.fingerprint && this.sealer.fingerprint('scitoken', Buffer.from(token)) === row.fingerprint) return this.clearRefreshError(row);
      checked = await checkSciToken(token, await this.issuers.trusted(), this.clock.now());
      this.refuseOlder(row, checked, false);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      code = err.code;
    }
    await this.db.tx(async (m) => {
      const now = this.clock.now();
      // What we read may be stale by now: a revocation, a new PUT or a new source must win.
      const current = await m.findOneBy(SciToken, { name });
      if (
        !current ||
        current.revokedAt !== null ||
        current.sourcePath !== row.sourcePath ||
        current.fingerprint !== row.fingerprint ||
        current.expiresAt !== row.expiresAt
      )
        return;
      if (code === null && checked && token !== undefined) {
        await m.update(SciToken, { name }, { ...this.sealed(name, token, checked, now), refreshError: null, refreshErrorAt: null, updatedAt: now });
        await this.queue(m, await m.findOneByOrFail(SciToken, { name }));
        this.events.publish(m, 'scitoken.changed', { name, change: 'stored' });
        await this.audit.record(m, {
          action: 'scitoken.refresh',
          target: `scitoken:${name}`,
          detail: { jti: checked.jti, expiresAt: checked.expiresAt },
        });
      } else if (row.refreshError !== code) {
        await m.update(SciToken, { name }, { refreshError: code, refreshErrorAt: now, updatedAt: now });
        await this.audit.record(m, { action: 'scitoken.refresh', target: `scitoken:${name}`, result: 'failure', code });
        this.log.warn(`SciToken ${name}: kept the stored token, the source file gave ${code}`);
      }
    });
    return code;
  }

  /** Refreshes every followed SciToken; one token's failure does not stop the others. */
  @RunsAs('system:scheduler')
  async refreshAll(): Promise<void> {
    const rows = await this.db.read((m) => m.find(SciToken, { select: { name: true, sourcePath: true } }));
    for (const r of rows) {
      if (!r.sourcePath) continue;
      await this.refresh(r.name).catch((err: unknown) => this.log.error({ err }, `refreshing SciToken ${r.name} failed`));
    }
  }

  /** Every stored SciToken that may be handed out now (`valid` or `expiring`), opened, by name; and how many rows there are. */
  async usableTokens(): Promise<{ stored: number; tokens: { name: string; token: string }[] }> {
    const rows = await this.db.read((m) => m.find(SciToken, { order: { name: 'ASC' } }));
    const issuers = await this.issuers.trusted();
    const out: { name: string; token: string }[] = [];
    for (const row of rows) {
      const { state } = await this.stateOf(row, issuers);
      if (state === 'valid' || state === 'expiring')
        out.push({ name: row.name, token: Buffer.from(this.sealer.open(row.sealedToken!, sciTokenAd(row.name))).toString('utf8') });
    }
    return { stored: rows.length, tokens: out };
  }

  /** The state of a stored row now, and the reason when it is invalid. */
  async stateOf(row: SciToken, issuers: TrustedIssuer[]): Promise<{ state: SciTokenState; reason: string | null }> {
    if (row.revokedAt !== null) return { state: 'revoked', reason: null };
    if (row.sealedToken === null || row.expiresAt === null) return { state: 'missing', reason: null };
    const failure = await this.signatureVerdict(row, issuers);
    if (failure) return { state: 'invalid', reason: failure };
    const left = row.expiresAt - Math.floor(this.clock.now() / 1000);
    if (left <= 0) return { state: 'expired', reason: null };
    if (left < expiringWindow({ ...row, expiresAt: row.expiresAt }, this.settings.config.scitokens)) return { state: 'expiring', reason: null };
    return { state: 'valid', reason: null };
  }

  /**
   * Whether the stored token's signature still verifies with its issuer's current keys (it may
   * have been removed or have replaced them): a code, or null. Remembered per token and key set,
   * so reads and metric scrapes do not repeat the signature check.
   */
  private async signatureVerdict(row: SciToken, issuers: TrustedIssuer[]): Promise<string | null> {
    const keys = createHash('sha256')
      .update(JSON.stringify(issuers.find((i) => i.issuer === row.issuer) ?? null))
      .digest('hex');
    const cacheKey = `${row.name}\0${row.fingerprint}\0${keys}`;
    const hit = this.verdicts.get(cacheKey);
    if (hit !== undefined) return hit;
    let verdict: string | null = null;
    try {
      await checkSciToken(Buffer.from(this.sealer.open(row.sealedToken!, sciTokenAd(row.name))).toString(), issuers, undefined);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      verdict = err.code;
    }
    if (this.verdicts.size > 10_000) this.verdicts.clear();
    this.verdicts.set(cacheKey, verdict);
    return verdict;
  }

  private async view(row: SciToken, issuers: TrustedIssuer[]): Promise<SciTokenView> {
    const { state, reason } = await this.stateOf(row, issuers);
    return sciTokenResponse(row, state, reason, this.clock.now());
  }

  /** Queues a newly stored token for the factory entries it matches; in the storing transaction. */
  private queue(m: EntityManager, row: SciToken): Promise<number> {
    const value = Buffer.from(this.sealer.open(row.sealedToken!, sciTokenAd(row.name))).toString('utf8');
    return this.outbox.enqueue(m, { type: 'scitoken', source: row.name, sourceRef: row.fingerprint!, keyId: null, value, expiresAt: row.expiresAt! * 1000 });
  }

  private refuseOlder(row: SciToken, checked: CheckedSciToken, force: boolean): void {
    if (!force && row.sealedToken !== null && row.expiresAt !== null && checked.expiresAt < row.expiresAt) {
      throw new DomainError('SCITOKEN_OLDER', 'the new token expires before the stored one; send force: true to replace it anyway', 'token');
    }
  }

  private sealed(name: string, token: string, c: CheckedSciToken, now: number): Partial<SciToken> {
    return {
      sealedToken: this.sealer.seal(Buffer.from(token), sciTokenAd(name)),
      fingerprint: this.sealer.fingerprint('scitoken', Buffer.from(token)),
      issuer: c.issuer,
      subject: c.subject,
      audience: JSON.stringify(c.audience),
      scope: c.scope,
      profile: c.profile,
      alg: c.alg,
      kid: c.kid,
      jti: c.jti,
      issuedAt: c.issuedAt,
      notBefore: c.notBefore,
      expiresAt: c.expiresAt,
      storedAt: now,
      revokedAt: null,
    };
  }

  private async clearRefreshError(row: SciToken): Promise<null> {
    if (row.refreshError !== null) await this.db.tx((m) => m.update(SciToken, { name: row.name }, { refreshError: null, refreshErrorAt: null }));
    return null;
  }

  private sourceRoots(): string[] {
    return this.settings.config.scitokens.sourceDirs.map((d) => (existsSync(d) ? realpathSync(d) : resolve(d)));
  }

  /** A followed file must sit under one of scitokens.sourceDirs (after resolving links); checked again at every read. */
  private checkSourcePath(p: string): string {
    const roots = this.sourceRoots();
    if (!isAbsolute(p) || !roots.length)
      throw new DomainError('INVALID_SOURCE_PATH', 'sourcePath must be absolute and under a directory named in scitokens.sourceDirs', 'sourcePath');
    const real = existsSync(p) ? realpathSync(p) : resolve(p);
    if (!roots.some((r) => real.startsWith(r + sep)))
      throw new DomainError('INVALID_SOURCE_PATH', 'sourcePath is not under scitokens.sourceDirs', 'sourcePath');
    return real;
  }
}

function emptyToken(): Partial<SciToken> {
  return {
    sealedToken: null,
    issuer: null,
    subject: null,
    audience: null,
    scope: null,
    profile: null,
    alg: null,
    kid: null,
    jti: null,
    fingerprint: null,
    issuedAt: null,
    notBefore: null,
    expiresAt: null,
    storedAt: null,
    revokedAt: null,
  };
}
