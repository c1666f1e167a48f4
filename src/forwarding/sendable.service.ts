import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { sitesStore } from '../sites/sites.store.js';
import { revokedJtis } from '../tokens/revoked.js';
import { Delivery } from './delivery.entity.js';
import { OutboxService } from './outbox.service.js';
import { RunsAs } from '../common/request-context.js';

/**
 * What of the due outbox may go: a credential is never sent once expired (or with less than
 * forwarding.minLifetimeSeconds left), nor an IDTOKEN whose key was retired or deleted, nor one
 * revoked (by jti, or by a subject rule that covers it). Those rows are dropped, with the reason,
 * audited. A withdrawal always goes.
 */
@Injectable()
export class SendableFilter {
  constructor(
    private readonly db: Db,
    private readonly settings: Settings,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
  ) {}

  /** The rows that may be sent; drops the others and returns how many it dropped. */
  @RunsAs('system:forwarding')
  async filter(due: Delivery[], now: number): Promise<{ keep: Delivery[]; dropped: number }> {
    const minLeft = this.settings.config.forwarding.minLifetimeSeconds * 1000;
    const credentials = due.filter((d) => d.kind === 'credential');
    const keyIds = [...new Set(credentials.flatMap((d) => (d.keyId ? [d.keyId] : [])))];
    const jtis = [...new Set(credentials.filter((d) => d.type === 'idtoken').map((d) => d.sourceRef))];
    const { usable, revoked } = await this.db.read(async (m) => {
      const usable = await sitesStore.liveKeyIds(m, keyIds);
      return { usable, revoked: await revokedJtis(m, jtis, now) };
    });
    const drop = new Map<string, string[]>();
    const keep: Delivery[] = [];
    for (const d of due) {
      const reason =
        d.kind === 'withdrawal'
          ? null
          : d.expiresAt <= now
            ? 'EXPIRED'
            : d.expiresAt - now < minLeft
              ? 'LIFETIME_TOO_SHORT'
              : d.keyId && !usable.has(d.keyId)
                ? 'KEY_RETIRED'
                : d.type === 'idtoken' && revoked.has(d.sourceRef)
                  ? 'REVOKED'
                  : null;
      if (reason) drop.set(reason, [...(drop.get(reason) ?? []), d.id]);
      else keep.push(d);
    }
    let dropped = 0;
    if (drop.size) {
      await this.db.tx(async (m) => {
        for (const [reason, ids] of drop) {
          dropped += await this.outbox.settle(m, ids, 'dropped', reason);
          await this.audit.record(m, { action: 'delivery.drop', target: null, detail: { reason, count: ids.length } });
        }
      });
    }
    return { keep, dropped };
  }
}
