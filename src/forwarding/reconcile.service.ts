import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager, In, Not } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { sitesStore } from '../sites/sites.store.js';
import { SiteHooks } from '../sites/site-hooks.js';
import { revokedJtis } from '../tokens/revoked.js';
import { Delivery } from './delivery.entity.js';
import { WithdrawalReason } from '../protocol/envelope.js';
import { Factory } from './factory.entity.js';
import { idtokenFor, SciTokenLabel, scitokenFor } from '../protocol/matching.js';
import { CredentialSources, CurrentTokenRow } from './credential-sources.js';
import { OutboxService } from './outbox.service.js';
import { SeenEntry } from './seen-entry.entity.js';
import { RunsAs } from '../common/request-context.js';

export interface ReconcileResult {
  queued: number;
  withdrawn: number;
}

/** A site's current token and, when it must not be forwarded, why. */
interface Current {
  row: CurrentTokenRow;
  unsendable: 'TOKEN_REVOKED' | 'KEY_RETIRED' | null;
}

/**
 * What each factory entry should hold, against what its outbox last gave it. An entry whose
 * credential (its site's current token, its SciToken) has not been queued gets it; an entry that
 * was given a credential it should no longer have (site deleted, token revoked without a
 * replacement, SciToken revoked or deleted, entry no longer matching) gets a withdrawal. A
 * revoked, or retired-key, current token is never queued: a new or re-synced factory cannot
 * receive one. An expired credential is not withdrawn (the factory shows it `expired`).
 *
 * Run in the transaction of the change (site deleted, SciToken revoked, entries read), and at
 * every sync: that repairs anything a crash between a commit and its subscribers left undone.
 */
@Injectable()
export class OutboxReconciler implements OnModuleInit {
  constructor(
    private readonly clock: Clock,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
    private readonly siteHooks: SiteHooks,
    private readonly sources: CredentialSources,
  ) {}

  onModuleInit(): void {
    // In a site's deleting transaction: every factory entry given its token gets its withdrawal.
    this.siteHooks.onDeleted(async (m) => ({ withdrawnFromFactoryEntries: (await this.reconcileAll(m)).withdrawn }));
  }

  /** Every registered factory; in the caller's transaction. */
  async reconcileAll(m: EntityManager): Promise<ReconcileResult> {
    const total: ReconcileResult = { queued: 0, withdrawn: 0 };
    for (const f of await m.find(Factory, { select: { name: true }, order: { name: 'ASC' } })) {
      const r = await this.reconcile(m, f.name);
      total.queued += r.queued;
      total.withdrawn += r.withdrawn;
    }
    return total;
  }

  /** One factory, against its entries as last seen; in the caller's transaction. */
  @RunsAs('system:forwarding')
  async reconcile(m: EntityManager, factory: string): Promise<ReconcileResult> {
    const now = this.clock.now();
    const entries = await m.find(SeenEntry, { where: { factory } });
    const sites = await sitesStore.namesById(m);
    const siteNames = new Set(sites.values());
    const currentBySite = await this.currentTokens(m, sites, now);
    // A token of an issuer no longer trusted is neither sent nor left where it was sent (the source says: not usable, withdrawn).
    const sci = new Map((await this.sources.scitokens.stored(m)).map((r) => [r.name, r]));
    const usableRows = [...sci.values()].filter((r) => r.usable);
    const stored: SciTokenLabel[] = usableRows.map((r) => r.label);
    const live: SciTokenLabel[] = usableRows.filter((r) => r.expiresAt! * 1000 > now).map((r) => r.label);
    const latest = await this.outbox.latestPerTarget(m, factory);
    const withdrawals = new Map<WithdrawalReason, number>();
    const withdraw = async (e: SeenEntry, last: Delivery, reason: WithdrawalReason) => {
      await this.outbox.queueWithdrawal(m, e, last, reason);
      withdrawals.set(reason, (withdrawals.get(reason) ?? 0) + 1);
    };
    let queued = 0;
    for (const e of entries) {
      // The IDTOKEN: the site's current token, if it may be forwarded.
      let last = latest.get(`${e.entry}\0idtoken`);
      const matches = idtokenFor(e, siteNames).send;
      const current = matches ? currentBySite.get(e.site) : undefined;
      if (current && !current.unsendable) {
        const token = current.row;
        if (!last || last.kind !== 'credential' || last.sourceRef !== token.jti) {
          const value = token.open();
          await this.outbox.queueCredential(m, e, {
            type: 'idtoken',
            source: e.site,
            sourceRef: token.jti,
            keyId: token.keyId,
            value,
            expiresAt: token.expiresAt,
          });
          queued++;
        }
      } else if (last?.kind === 'credential') {
        const reason = !siteNames.has(last.source)
          ? 'SITE_DELETED'
          : !matches || e.site !== last.source
            ? 'NO_LONGER_MATCHES'
            : (current?.unsendable ?? 'TOKEN_REVOKED');
        await withdraw(e, last, reason);
      }
      // The SciToken: the matching live one.
      last = latest.get(`${e.entry}\0scitoken`);
      const chosen = scitokenFor(e, live, e.securityClass).token;
      if (chosen) {
        const row = sci.get(chosen.name)!;
        if (!last || last.kind !== 'credential' || last.sourceRef !== row.fingerprint) {
          const value = row.open();
          await this.outbox.queueCredential(m, e, {
            type: 'scitoken',
            source: row.name,
            sourceRef: row.fingerprint!,
            keyId: null,
            value,
            expiresAt: row.expiresAt! * 1000,
          });
          queued++;
        }
      } else if (last?.kind === 'credential') {
        // Merely expired, and still the one the entry would get: left to show `expired`.
        if (scitokenFor(e, stored, e.securityClass).token?.name === last.source) continue;
        const src = sci.get(last.source);
        await withdraw(e, last, !src ? 'SCITOKEN_DELETED' : src.withdrawn ? 'SCITOKEN_REVOKED' : 'NO_LONGER_MATCHES');
      }
    }
    // Undelivered rows for entries the factory no longer lists: nothing there to give or take back.
    const names = entries.map((e) => e.entry);
    const gone = await m.find(Delivery, { select: { id: true }, where: { factory, state: 'pending', ...(names.length ? { entry: Not(In(names)) } : {}) } });
    if (gone.length)
      await this.outbox.settle(
        m,
        gone.map((d) => d.id),
        'dropped',
        'NO_LONGER_MATCHES',
      );
    const withdrawn = [...withdrawals.values()].reduce((a, b) => a + b, 0);
    if (withdrawn)
      await this.audit.record(m, {
        action: 'delivery.withdraw',
        target: `factory:${factory}`,
        detail: { withdrawn, reasons: Object.fromEntries(withdrawals) },
      });
    return { queued, withdrawn };
  }

  /** Each site's current token by site name, with why it must not be sent (revoked, or its key retired). */
  private async currentTokens(m: EntityManager, sites: Map<string, string>, now: number): Promise<Map<string, Current>> {
    const rows = (await this.sources.idtokens.currentTokens(m)).filter((c) => sites.has(c.siteId));
    const revoked = await revokedJtis(
      m,
      rows.map((r) => r.jti),
      now,
    );
    const keyIds = [...new Set(rows.map((r) => r.keyId))];
    const usable = await sitesStore.liveKeyIds(m, keyIds);
    return new Map(
      rows.map((row) => [sites.get(row.siteId)!, { row, unsendable: revoked.has(row.jti) ? 'TOKEN_REVOKED' : !usable.has(row.keyId) ? 'KEY_RETIRED' : null }]),
    );
  }
}
