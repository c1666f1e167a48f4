import { Injectable, OnModuleInit } from '@nestjs/common';
import { FORGET_ORDER, FrontendForgetters } from '../factory/frontend-forgetters.js';
import { forgetFrontendRenewals } from './frontend-renewals.js';
import { EntityManager, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { purgeExpiredIdtokenVersions } from '../factory/idtoken-versions.store.js';
import { ticketsStore } from '../tickets/tickets.store.js';
import { factoryStore } from '../factory/factory.store.js';
import { GlideinRenewal } from './renewal.entity.js';
import { GlideinMetrics } from './glidein.metrics.js';
import { renewalResponse } from './renewal.response.js';

type Scope = { by: 'glidein'; id: string } | { by: 'batch'; batch: string } | { by: 'entry'; entry: string };

/** The factory admin's side of renewal: list glideins' renewals, revoke them (per glidein, batch or entry), purge ended ones. */
@Injectable()
export class RenewalAdminService implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly metrics: GlideinMetrics,
    private readonly forgetters: FrontendForgetters,
  ) {}

  onModuleInit(): void {
    // A forgotten frontend's glideins renew no more: their renewal credentials go in the factory's transaction.
    this.forgetters.register(FORGET_ORDER.renewals, async (m, frontend) => ({ renewals: await forgetFrontendRenewals(m, frontend) }));
  }

  async list(q: { entry?: string; batch?: string; limit?: number }) {
    const rows = await this.db.read((m) =>
      m.find(GlideinRenewal, {
        where: { ...(q.entry ? { entry: q.entry } : {}), ...(q.batch ? { batchId: q.batch } : {}) },
        order: { createdAt: 'DESC', id: 'ASC' },
        take: q.limit ?? 100,
      }),
    );
    return rows.map(renewalResponse);
  }

  /**
   * Revokes the renewal credentials in `scope` that are not revoked yet, in one transaction with its
   * audit line: their glideins keep what they hold until it expires, and renew no more. 404 when
   * the glidein, batch or entry is unknown; revoking again revokes nothing and says so.
   */
  revoke(scope: Scope): Promise<{ revoked: number }> {
    return this.db.tx(async (m) => {
      const where = scope.by === 'glidein' ? { id: scope.id } : scope.by === 'batch' ? { batchId: scope.batch } : { entry: scope.entry };
      if (!(await this.known(m, scope, await m.existsBy(GlideinRenewal, where)))) {
        throw scope.by === 'glidein'
          ? new DomainError('RENEWAL_NOT_FOUND', 'no glidein renewal with this id')
          : scope.by === 'batch'
            ? new DomainError('BATCH_NOT_FOUND', 'no ticket or renewal of this batch')
            : new DomainError('ENTRY_NOT_FOUND', 'no such entry');
      }
      const one = await m.findOne(GlideinRenewal, { select: { id: true, entry: true }, where });
      const entry = scope.by === 'entry' ? scope.entry : (one?.entry ?? '');
      const r = await m.update(GlideinRenewal, { ...where, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
      const revoked = r.affected ?? 0;
      const target = scope.by === 'glidein' ? `renewal:${scope.id}` : scope.by === 'batch' ? `batch:${scope.batch}` : `entry:${scope.entry}`;
      await this.audit.record(m, { action: 'renewal.revoke', target, detail: { by: scope.by, entry, revoked } });
      if (revoked) this.metrics.revoked.inc({ entry }, revoked);
      return { revoked };
    });
  }

  /** Deletes renewals whose pilot life (and the grace after it) is over, and expired IDTOKEN versions: nothing can be done with them any more. */
  async purgeEnded(): Promise<number> {
    const now = this.clock.now();
    const before = now - this.settings.config.tickets.renewalGraceSeconds * 1000;
    return this.db.tx(async (m) => {
      await purgeExpiredIdtokenVersions(m, now);
      return (await m.createQueryBuilder().delete().from(GlideinRenewal).where('expires_at <= :before', { before }).execute()).affected ?? 0;
    });
  }

  /** A batch is known while a ticket or a renewal carries it; an entry while it or a renewal of it exists. */
  private async known(m: EntityManager, scope: Scope, hasRenewals: boolean): Promise<boolean> {
    if (hasRenewals || scope.by === 'glidein') return hasRenewals;
    return scope.by === 'batch' ? ticketsStore.batchExists(m, scope.batch) : factoryStore.entryExists(m, scope.entry);
  }
}
