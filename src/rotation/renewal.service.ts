import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { requestContext } from '../common/request-context.js';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EventBus, ORDER } from '../events/event-bus.js';
import { SiteKey } from '../sites/site-key.entity.js';
import { Site } from '../sites/site.entity.js';
import { TokensService } from '../tokens/tokens.service.js';
import { OutboxService } from '../forwarding/outbox.service.js';
import { CurrentToken, currentTokenAd } from './current-token.entity.js';

export type RenewReason = 'missing' | 'lifetime' | 'key-rotated';

/**
 * Each site's current token (the one forwarded to factories) is re-minted when less than
 * tokens.renewFraction of its lifetime is left, or when its key version is no longer the active
 * one. The token is kept sealed, bound to its site and jti.
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
  ) {}

  onModuleInit(): void {
    this.events.on(
      'keys.changed',
      async ({ site }) => {
        if (site) await this.renewDue(site);
      },
      ORDER.renewal,
    );
  }

  /** Why a site's current token needs renewing now, or null. */
  reasonFor(current: CurrentToken | null, activeKeyId: string | undefined, now: number): RenewReason | null {
    if (!current) return 'missing';
    if (current.keyId !== activeKeyId) return 'key-rotated';
    const lifetime = current.expiresAt - current.issuedAt;
    return current.expiresAt - now < lifetime * this.settings.config.tokens.renewFraction ? 'lifetime' : null;
  }

  /** Renews every site's current token that needs it (or one site's); returns the sites renewed. */
  async renewDue(onlySite?: string): Promise<string[]> {
    const now = this.clock.now();
    const rows = await this.db.read(async (m) => {
      const sites = await m.find(Site, onlySite ? { where: { name: onlySite } } : {});
      const active = await m.find(SiteKey, { select: { id: true, siteId: true }, where: { state: 'active' } });
      const current = await m.find(CurrentToken);
      return { sites, active: new Map(active.map((k) => [k.siteId, k.id])), current: new Map(current.map((c) => [c.siteId, c])) };
    });
    const renewed: string[] = [];
    for (const site of rows.sites) {
      const reason = this.reasonFor(rows.current.get(site.id) ?? null, rows.active.get(site.id), now);
      if (!reason) continue;
      try {
        await this.renew(site, reason);
        renewed.push(site.name);
      } catch (err) {
        this.log.error({ err }, `could not renew the current token of site ${site.name}`);
      }
    }
    return renewed;
  }

  private async renew(site: Site, reason: RenewReason): Promise<void> {
    // The renewer mints on its own account, even when a request's change set it off (kept: the request id).
    const requestId = requestContext.get()?.requestId ?? `renewal-${randomUUID()}`;
    const minted = await requestContext.run({ requestId }, () => this.tokens.mintWithKey(site.name, {}));
    const row = Object.assign(new CurrentToken(), {
      siteId: site.id,
      jti: minted.jti,
      keyId: minted.keyId,
      sealedToken: this.sealer.seal(Buffer.from(minted.token), currentTokenAd(site.id, minted.jti)),
      issuedAt: minted.issuedAt * 1000,
      expiresAt: minted.expiresAt * 1000,
    } satisfies CurrentToken);
    await requestContext.run({ requestId }, () => this.store(site, row, minted, reason));
  }

  /** Keeps the new current token and, in the same transaction, queues it for every factory entry of the site. */
  private store(site: Site, row: CurrentToken, minted: { jti: string; keyVersion: number; token: string }, reason: RenewReason): Promise<number> {
    return this.db.tx(async (m) => {
      await m.delete(CurrentToken, { siteId: site.id });
      await m.insert(CurrentToken, row);
      const queued = await this.outbox.enqueue(m, { type: 'idtoken', source: site.name, sourceRef: row.jti, keyId: row.keyId, value: minted.token, expiresAt: row.expiresAt });
      await this.audit.record(m, {
        action: 'token.renew',
        target: `site:${site.name}`,
        actor: 'system:renewal',
        detail: { jti: minted.jti, keyVersion: minted.keyVersion, reason, expiresAt: new Date(row.expiresAt).toISOString(), queuedForFactories: queued },
      });
      return queued;
    });
  }

  /** The current token of a site, opened (for forwarding); undefined when there is none. */
  async current(siteId: string): Promise<{ token: string; row: CurrentToken } | undefined> {
    const row = await this.db.read((m) => m.findOneBy(CurrentToken, { siteId }));
    if (!row) return undefined;
    return { token: Buffer.from(this.sealer.open(row.sealedToken, currentTokenAd(row.siteId, row.jti))).toString(), row };
  }
}
