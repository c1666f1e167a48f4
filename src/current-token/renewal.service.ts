import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { requestContext } from '../common/request-context.js';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Random } from '../crypto/random.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EventBus, ORDER } from '../events/event-bus.js';
import { isUsable } from '../sites/key-usability.js';
import { SiteKeyRecord, SiteRecord } from '../sites/sites.types.js';
import { sitesStore } from '../sites/sites.store.js';
import { SiteHooks } from '../sites/site-hooks.js';
import { TokensService } from '../tokens/tokens.service.js';
import { OutboxService } from '../forwarding/outbox.service.js';
import { OutboxReconciler } from '../forwarding/reconcile.service.js';
import { CredentialSources } from '../forwarding/credential-sources.js';
import { revokedJtis, subjectCutoff } from '../tokens/revoked.js';
import { CurrentToken, currentTokenAd } from './current-token.entity.js';

export type RenewReason = 'missing' | 'lifetime' | 'key-rotated' | 'revoked';

/**
 * How long the renewer waits for a subject rule's cutoff second to pass before minting the
 * replacement (a rule "issued at or before now" covers a token minted in the same second: iat is in
 * seconds). A cutoff further ahead means the site's identity is revoked for the time being: the
 * current token is withdrawn instead, and the renewer mints again once the cutoff has passed.
 */
const MAX_CUTOFF_WAIT_MS = 2_000;

/**
 * Each site's current token (the one forwarded to factories) is re-minted when less than
 * tokens.renewFraction of its lifetime is left, when its key version is no longer the active one,
 * or when it is revoked (by jti, or by a subject rule): at once, on `revocations.changed`, and at
 * every scheduler tick, which repairs a crash between a revocation's commit and its renewal. A
 * replacement is always issued after the cutoff of every subject rule on the site's identity; when
 * that cutoff lies ahead, there is no replacement and the current token is withdrawn from every
 * factory entry. The token is kept sealed, bound to its site and jti.
 */
@Injectable()
export class RenewalService implements OnModuleInit {
  private readonly log = new Logger('renewal');

  constructor(
    private readonly db: Db,
    private readonly tokens: TokensService,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly events: EventBus,
    private readonly outbox: OutboxService,
    private readonly reconciler: OutboxReconciler,
    private readonly siteHooks: SiteHooks,
    private readonly sources: CredentialSources,
    private readonly random: Random,
  ) {}

  onModuleInit(): void {
    // A site's view shows its current token; a deleted site's goes in the deleting transaction.
    this.siteHooks.currentToken = (m, siteId) => m.findOneBy(CurrentToken, { siteId });
    this.siteHooks.onDeleting(async (m, site) => void (await m.delete(CurrentToken, { siteId: site.id })));
    // Forwarding sends the current tokens: read here, opened here (the sealing is this capability's).
    this.sources.idtokens = {
      currentTokens: async (m) =>
        (await m.find(CurrentToken)).map((c) => ({
          siteId: c.siteId,
          jti: c.jti,
          keyId: c.keyId,
          issuedAt: c.issuedAt,
          expiresAt: c.expiresAt,
          open: () => Buffer.from(this.sealer.open(c.sealedToken, currentTokenAd(c.siteId, c.jti))).toString('utf8'),
        })),
    };
    this.events.on(
      'keys.changed',
      async ({ site }) => {
        if (site) await this.renewDue(site);
      },
      ORDER.renewal,
    );
    this.events.on('revocations.changed', async () => void (await this.renewDue()), ORDER.renewal);
  }

  /** Why a site's current token needs renewing now, or null. */
  reasonFor(current: CurrentToken | null, activeKeyId: string | undefined, now: number, revoked = false): RenewReason | null {
    if (!current) return 'missing';
    if (revoked) return 'revoked';
    if (current.keyId !== activeKeyId) return 'key-rotated';
    const lifetime = current.expiresAt - current.issuedAt;
    return current.expiresAt - now < lifetime * this.settings.config.tokens.renewFraction ? 'lifetime' : null;
  }

  /** Renews every site's current token that needs it (or one site's); returns the sites renewed. */
  async renewDue(onlySite?: string): Promise<string[]> {
    const now = this.clock.now();
    const rows = await this.db.read(async (m) => {
      const sites = await sitesStore.all(m, onlySite);
      // One site's change reads that site's rows only: every site created or rotated used to read
      // every site's key and current token (O(sites) each, O(sites^2) to create them all).
      const ids = onlySite ? sites.map((s) => s.id) : undefined;
      if (ids && !ids.length) return { sites, revoked: new Set<string>(), active: new Map<string, string>(), current: new Map<string, CurrentToken>() };
      const active = await sitesStore.activeKeyIds(m, ids);
      const current = await m.find(CurrentToken, ids ? { where: { siteId: In(ids) } } : {});
      const revoked = await revokedJtis(
        m,
        current.map((c) => c.jti),
        now,
      );
      return { sites, revoked, active, current: new Map(current.map((c) => [c.siteId, c])) };
    });
    const renewed: string[] = [];
    for (const site of rows.sites) {
      const current = rows.current.get(site.id) ?? null;
      const reason = this.reasonFor(current, rows.active.get(site.id), now, current !== null && rows.revoked.has(current.jti));
      if (!reason) continue;
      try {
        if (await this.renew(site, reason)) renewed.push(site.name);
      } catch (err) {
        this.log.error({ err }, `could not renew the current token of site ${site.name}`);
      }
    }
    return renewed;
  }

  /**
   * A rotation's renewal, inside the rotation's own transaction `m` (one commit for the new key,
   * the token it signs, its ledger row, the current token and its outbox rows): mints with the key
   * version `key` that `m` has just inserted, from its raw bytes. False, with nothing written, when
   * a subject rule on the site's identity covers this second or later: the renewer's own pass
   * after the commit (on keys.changed) then waits for the cutoff or withdraws, as for any renewal.
   * Nothing here changes what a renewal writes: the same rows and the same audit lines.
   */
  async renewInRotation(m: EntityManager, site: SiteRecord, key: SiteKeyRecord, raw: Uint8Array): Promise<{ jti: string } | null> {
    const now = this.clock.now();
    const current = await m.findOneBy(CurrentToken, { siteId: site.id });
    const reason = this.reasonFor(current, key.id, now, current !== null && (await revokedJtis(m, [current.jti], now)).size > 0);
    if (!reason) return null;
    const cutoff = await subjectCutoff(m, site.identity, now);
    if (cutoff !== null && this.clock.nowSeconds() <= cutoff) return null;
    // The renewer mints on its own account, as renew() does (kept: the request id).
    const requestId = requestContext.get()?.requestId ?? `renewal-${this.random.uuid()}`;
    const minted = await requestContext.runAs('system', () => this.tokens.mintInTransaction(m, site, key, raw), requestId);
    const row = this.rowFor(site, minted);
    // A rule that committed since the cutoff was read (PostgreSQL): no current token from here; the pass after the commit renews.
    if ((await revokedJtis(m, [row.jti], this.clock.now())).size) return null;
    await requestContext.runAs('system:renewal', () => this.storeIn(m, site, row, minted, reason), requestId);
    return { jti: minted.jti };
  }

  /** Mints and stores the replacement; false when a subject rule allows none now (the current token is then withdrawn). */
  private async renew(site: SiteRecord, reason: RenewReason): Promise<boolean> {
    // The renewer mints on its own account, even when a request's change set it off (kept: the request id).
    const requestId = requestContext.get()?.requestId ?? `renewal-${this.random.uuid()}`;
    const cutoff = await this.db.read((m) => subjectCutoff(m, site.identity, this.clock.now()));
    if (cutoff !== null && this.clock.nowSeconds() <= cutoff) {
      const wait = (cutoff + 1) * 1000 - this.clock.now();
      if (wait <= MAX_CUTOFF_WAIT_MS) await this.clock.sleep(wait + 5);
      if (this.clock.nowSeconds() <= cutoff) {
        await requestContext.runAs('system:renewal', () => this.withdraw(site, cutoff), requestId);
        return false;
      }
    }
    const minted = await requestContext.runAs('system', () => this.tokens.mintWithKey(site.name, {}), requestId);
    const row = this.rowFor(site, minted);
    await requestContext.runAs('system:renewal', () => this.store(site, row, minted, reason), requestId);
    return true;
  }

  /**
   * No replacement can be issued before `cutoff` (a subject rule covers the site's identity until
   * then): the current token goes, and every factory entry given it gets a withdrawal, in one
   * transaction. Nothing is minted until the cutoff has passed.
   */
  private withdraw(site: SiteRecord, cutoff: number): Promise<void> {
    return this.db.tx(async (m) => {
      const current = await m.findOneBy(CurrentToken, { siteId: site.id });
      if (!current) return;
      await m.delete(CurrentToken, { siteId: site.id });
      this.events.publish(m, 'current-token.changed', { site: site.name });
      const { withdrawn } = await this.reconciler.reconcileAll(m);
      await this.audit.record(m, {
        action: 'token.withdraw',
        target: `site:${site.name}`,
        detail: { jti: current.jti, reason: 'SUBJECT_REVOKED_AHEAD', subject: site.identity, issuedBefore: cutoff, withdrawnFromFactoryEntries: withdrawn },
      });
      this.log.warn(
        `site ${site.name}: its identity is revoked until ${new Date((cutoff + 1) * 1000).toISOString()}; its current token was withdrawn and no replacement is minted before then`,
      );
    });
  }

  /** The current-token row of a new token, sealed, bound to its site and jti. */
  private rowFor(site: SiteRecord, minted: { jti: string; keyId: string; token: string; issuedAt: number; expiresAt: number }): CurrentToken {
    return Object.assign(new CurrentToken(), {
      siteId: site.id,
      jti: minted.jti,
      keyId: minted.keyId,
      sealedToken: this.sealer.seal(Buffer.from(minted.token), currentTokenAd(site.id, minted.jti)),
      issuedAt: minted.issuedAt * 1000,
      expiresAt: minted.expiresAt * 1000,
    } satisfies CurrentToken);
  }

  /** Keeps the new current token and, in the same transaction, queues it for every factory entry of the site. */
  private store(site: SiteRecord, row: CurrentToken, minted: { jti: string; keyVersion: number; token: string }, reason: RenewReason): Promise<number> {
    return this.db.tx(async (m) => {
      // A rule that landed since the cutoff was read: never make a revoked token current (its own event renews again).
      if ((await revokedJtis(m, [row.jti], this.clock.now())).size) throw new Error(`the new token of site ${site.name} is already revoked`);
      return this.storeIn(m, site, row, minted, reason);
    });
  }

  /** store()'s writes, in the caller's transaction. */
  private async storeIn(
    m: EntityManager,
    site: SiteRecord,
    row: CurrentToken,
    minted: { jti: string; keyVersion: number; token: string },
    reason: RenewReason,
  ): Promise<number> {
    await m.delete(CurrentToken, { siteId: site.id });
    await m.insert(CurrentToken, row);
    this.events.publish(m, 'current-token.changed', { site: site.name });
    const queued = await this.outbox.enqueue(m, {
      type: 'idtoken',
      source: site.name,
      sourceRef: row.jti,
      keyId: row.keyId,
      value: minted.token,
      expiresAt: row.expiresAt,
    });
    await this.audit.record(m, {
      action: 'token.renew',
      target: `site:${site.name}`,
      detail: { jti: minted.jti, keyVersion: minted.keyVersion, reason, expiresAt: new Date(row.expiresAt).toISOString(), queuedForFactories: queued },
    });
    return queued;
  }

  /**
   * Every site with its own GlideinWMS group list (null: the configured one) and its current token,
   * opened, when that token may be handed out now: unexpired, not revoked, signed by a usable key
   * version; otherwise `token` is null.
   */
  async usableCurrentTokens(): Promise<{ site: string; gwmsGroups: string | null; token: string | null }[]> {
    const now = this.clock.now();
    const { sites, current, usable, revoked } = await this.db.read(async (m) => {
      const sites = await sitesStore.groups(m);
      const current = await m.find(CurrentToken);
      const keys = await sitesStore.liveKeys(m);
      const usable = new Set(keys.filter((k) => isUsable(k, now)).map((k) => k.id));
      return {
        sites,
        current: new Map(current.map((c) => [c.siteId, c])),
        usable,
        revoked: await revokedJtis(
          m,
          current.map((c) => c.jti),
          now,
        ),
      };
    });
    return sites.map((s) => {
      const c = current.get(s.id);
      const ok = c && c.expiresAt > now && usable.has(c.keyId) && !revoked.has(c.jti);
      return {
        site: s.name,
        gwmsGroups: s.gwmsGroups,
        token: ok ? Buffer.from(this.sealer.open(c.sealedToken, currentTokenAd(c.siteId, c.jti))).toString() : null,
      };
    });
  }

  /** The current token of a site, opened (for forwarding); undefined when there is none. */
  async current(siteId: string): Promise<{ token: string; row: CurrentToken } | undefined> {
    const row = await this.db.read((m) => m.findOneBy(CurrentToken, { siteId }));
    if (!row) return undefined;
    return { token: Buffer.from(this.sealer.open(row.sealedToken, currentTokenAd(row.siteId, row.jti))).toString(), row };
  }
}
