import { Injectable } from '@nestjs/common';
import { AUDIT_COLUMNS, auditRow, AuditLine } from '../audit/audit-row.js';
import { Clock } from '../common/clock.js';
import { Db } from '../database/db.js';
import { GroupCommit } from '../database/group-commit.js';
import { GlideinRenewal } from './renewal.entity.js';

const RENEWAL_COLUMNS = [
  'id',
  'secret_hash',
  'previous_hash',
  'rotated_at',
  'generation',
  'bootstrap',
  'ticket_id',
  'batch_id',
  'frontend',
  'entry',
  'created_at',
  'expires_at',
  'renewed_at',
  'renewed_by',
  'revoked_at',
] as const;
const renewalRow = (r: GlideinRenewal) => [
  r.id,
  r.secretHash,
  r.previousHash,
  r.rotatedAt,
  r.generation,
  r.bootstrap,
  r.ticketId,
  r.batchId,
  r.frontend,
  r.entry,
  r.createdAt,
  r.expiresAt,
  r.renewedAt,
  r.renewedBy,
  r.revokedAt,
];

/**
 * One glidein's spend of a single-use credential: a conditional UPDATE (SQL written by the caller
 * with `?` placeholders, values bound) that changes one row or none, and what is written only if it
 * did. `spend` gets the time of the write.
 */
export interface Spend {
  /** The row the UPDATE locks: a batch updates in this order, so two batches (replicas) cannot deadlock each other. */
  key: string;
  spend: (now: number) => { sql: string; params: unknown[] };
  renewals: GlideinRenewal[];
  audit: AuditLine[];
}

/** Units per transaction: their rows stay well under SQLite's and PostgreSQL's bound-parameter limits. */
const MAX_BATCH = 128;

/** Runs of a batch PostgreSQL rolled back as a deadlock victim (or a serialization failure). */
const DEADLOCK_RETRIES = 3;

const isDeadlock = (err: unknown): boolean => {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return code === '40P01' || code === '40001';
};

/**
 * Group commit for the glidein paths (bootstrap with a ticket or with a token, renewal), like
 * LedgerWriter for mints: the spends that arrive together share one transaction (GroupCommit).
 * Each unit's UPDATE runs in key order and is conditional (on the credential being unspent; for a
 * token bootstrap, on its version's count being under the limit), so of two units spending the
 * same credential, in one batch or in two, exactly one changes its row; only winners' rows are
 * inserted. Every caller's promise settles after the COMMIT: `true` (spent and committed), `false`
 * (lost the race), or the batch's error for all of its callers (the error a lone transaction
 * gives: Db.tx maps it). The units cannot fail one by one: their inserts carry fresh random ids and
 * no other constraint.
 */
@Injectable()
export class SpendWriter {
  private readonly batches = new GroupCommit<Spend>(MAX_BATCH, (units) => this.commit(units));

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  spend(unit: Spend): Promise<boolean> {
    return this.batches.submit(unit);
  }

  /**
   * A batch holds several row locks at once, which a single spend never did: PostgreSQL may pick it
   * as a deadlock victim against another multi-row write (a revocation, a purge). It was rolled
   * back whole, so it is run again; anything else fails the batch.
   */
  private async commit(batch: Spend[]): Promise<Set<number>> {
    const ordered = batch.map((_, i) => i).sort((a, b) => (batch[a].key < batch[b].key ? -1 : batch[a].key > batch[b].key ? 1 : 0));
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now();
      const units = ordered.map((i) => ({
        guard: { ...batch[i].spend(now), holds: 'changed' as const },
        inserts: [
          { table: 'glidein_renewals', columns: RENEWAL_COLUMNS, rows: batch[i].renewals.map(renewalRow) },
          { table: 'audit_log', columns: AUDIT_COLUMNS, rows: batch[i].audit.map(auditRow) },
        ],
      }));
      try {
        const won = await this.db.batch(units);
        return new Set([...won].map((k) => ordered[k]));
      } catch (err) {
        if (attempt >= DEADLOCK_RETRIES || !isDeadlock(err)) throw err;
      }
    }
  }
}
