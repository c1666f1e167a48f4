import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { Clock } from '../common/clock.js';
import { EventBus } from '../events/event-bus.js';
import { Random } from '../crypto/random.js';
import { Sealer } from '../crypto/sealer.js';
import { bulkInsert } from '../database/bulk-insert.js';
import type { CredentialType } from '../protocol/credential-type.js';
import { Delivery, deliveryAd } from './delivery.entity.js';
import { WithdrawalReason } from '../protocol/envelope.js';
import { idtokenFor, scitokenFor } from '../protocol/matching.js';
import { CredentialSources } from './credential-sources.js';
import { SeenEntry } from './seen-entry.entity.js';
import { chunks, query, sql } from '../database/sql.js';

/** A credential to forward: what it is, which version of its source, and its value. */
export interface OutgoingCredential {
  type: CredentialType;
  /** The site (idtoken) or the SciToken's name. */
  source: string;
  /** The token's jti, or the SciToken's fingerprint. */
  sourceRef: string;
  keyId: string | null;
  value: string;
  /** Unix milliseconds. */
  expiresAt: number;
}

type Target = Pick<SeenEntry, 'factory' | 'entry'>;

/** The deliveries columns, in the order queue() gives them. */
const DELIVERY_COLUMNS = [
  'id',
  'factory',
  'entry',
  'type',
  'kind',
  'reason',
  'source',
  'source_ref',
  'key_id',
  'version',
  'expires_at',
  'sealed_value',
  'state',
  'attempts',
  'next_attempt_at',
  'last_error',
  'created_at',
  'updated_at',
  'delivered_at',
] as const;

/**
 * The outbox. Every credential to deliver, and every withdrawal, becomes a row in the transaction
 * of the change that produced it (a renewal, a SciToken update, a factory's new entries, a site
 * deleted), so a crash can lose nothing that was committed; a newer row for the same factory entry
 * supersedes an undelivered older one, whichever kind either is. OutboxReconciler decides what
 * each entry should have.
 */
@Injectable()
export class OutboxService {
  constructor(
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly events: EventBus,
    private readonly sources: CredentialSources,
    private readonly random: Random,
  ) {}

  /** Queues a new credential for every entry that should get it; in the caller's transaction. Returns the number of rows. */
  async enqueue(m: EntityManager, cred: OutgoingCredential): Promise<number> {
    let targets: Target[];
    if (cred.type === 'idtoken') {
      // Plain SQL for the columns the match reads: this runs in every rotation's transaction.
      const entries = await query<Pick<SeenEntry, 'factory' | 'entry' | 'site' | 'condorVersion'>>(
        m,
        sql`SELECT factory, entry, site, condor_version AS "condorVersion" FROM factory_entries_seen WHERE site = ${cred.source}`,
      );
      targets = entries.filter((e) => idtokenFor(e as SeenEntry, new Set([cred.source])).send);
    } else {
      const entries = await m.find(SeenEntry);
      const labels = await this.sources.scitokens.labels(m, this.clock.now());
      targets = entries.filter((e) => scitokenFor(e, labels, e.securityClass).token?.name === cred.source);
    }
    for (const t of targets) await this.queueCredential(m, t, cred);
    return targets.length;
  }

  /** Ends pending rows (delivered, dropped, refused, superseded) and wipes their sealed values; only rows still pending change. */
  async settle(m: EntityManager, ids: string[], state: Exclude<Delivery['state'], 'pending'>, reason: string | null): Promise<number> {
    let changed = 0;
    const now = this.clock.now();
    for (const slice of chunks(ids)) {
      const res = await m.update(
        Delivery,
        { id: In(slice), state: 'pending' },
        { state, sealedValue: null, lastError: reason, updatedAt: now, ...(state === 'delivered' ? { deliveredAt: now } : {}) },
      );
      changed += res.affected ?? 0;
    }
    return changed;
  }

  /** Queues one credential for one factory entry; in the caller's transaction. */
  queueCredential(m: EntityManager, target: Target, cred: OutgoingCredential): Promise<void> {
    return this.queue(
      m,
      target,
      { kind: 'credential', type: cred.type, source: cred.source, sourceRef: cred.sourceRef, keyId: cred.keyId, expiresAt: cred.expiresAt, reason: null },
      cred.value,
    );
  }

  /**
   * Queues the withdrawal of what a factory entry was last given (`last`: its newest outbox row);
   * in the caller's transaction. It supersedes an undelivered credential, and a newer credential
   * supersedes it in turn.
   */
  queueWithdrawal(
    m: EntityManager,
    target: Target,
    last: Pick<Delivery, 'type' | 'source' | 'sourceRef' | 'expiresAt'>,
    reason: WithdrawalReason,
  ): Promise<void> {
    return this.queue(
      m,
      target,
      { kind: 'withdrawal', type: last.type, source: last.source, sourceRef: last.sourceRef, keyId: null, expiresAt: last.expiresAt, reason },
      null,
    );
  }

  private async queue(
    m: EntityManager,
    target: Target,
    row: Pick<Delivery, 'kind' | 'type' | 'source' | 'sourceRef' | 'keyId' | 'expiresAt' | 'reason'>,
    value: string | null,
  ): Promise<void> {
    const now = this.clock.now();
    // Plain SQL (bound parameters): this runs for every factory entry of every rotation, inside its transaction.
    const [last] = await query<{ v: string | number | null }>(
      m,
      sql`SELECT MAX(version) AS v FROM deliveries WHERE factory = ${target.factory} AND entry = ${target.entry} AND type = ${row.type}`,
    );
    // Versions only grow per factory entry, even if the clock steps back: the factory keeps the highest.
    const version = Math.max(Number(last?.v ?? 0) + 1, now);
    await query(
      m,
      sql`UPDATE deliveries SET state = 'superseded', sealed_value = NULL, last_error = NULL, updated_at = ${now} WHERE factory = ${target.factory} AND entry = ${target.entry} AND type = ${row.type} AND state = 'pending'`,
    );
    const id = this.random.uuid();
    const sealedValue = value === null ? null : this.sealer.seal(Buffer.from(value, 'utf8'), deliveryAd(id));
    await bulkInsert(m, 'deliveries', DELIVERY_COLUMNS, [
      [
        id,
        target.factory,
        target.entry,
        row.type,
        row.kind,
        row.reason,
        row.source,
        row.sourceRef,
        row.keyId,
        version,
        row.expiresAt,
        sealedValue,
        'pending',
        0,
        now,
        null,
        now,
        now,
        null,
      ],
    ]);
    this.events.publish(m, 'outbox.queued', { factory: target.factory });
  }

  /** The newest row of each (entry, type) of a factory, whatever its state. */
  async latestPerTarget(m: EntityManager, factory: string): Promise<Map<string, Delivery>> {
    const rows = await m
      .createQueryBuilder(Delivery, 'd')
      .select(['d.entry', 'd.type', 'd.kind', 'd.state', 'd.version', 'd.source', 'd.sourceRef', 'd.expiresAt'])
      .where('d.factory = :factory', { factory })
      .andWhere('NOT EXISTS (SELECT 1 FROM deliveries n WHERE n.factory = d.factory AND n.entry = d.entry AND n.type = d.type AND n.version > d.version)')
      .getMany();
    return new Map(rows.map((d) => [`${d.entry}\0${d.type}`, d]));
  }
}
