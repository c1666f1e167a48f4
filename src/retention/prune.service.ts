import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { ArchiveError, ArchiveFile } from './archive-file.js';
import { chunks } from '../database/sql.js';

const DAY_MS = 86_400_000;
/** Rows read, archived and deleted at a time (bounded memory and statement size), all in the one transaction. */
const CHUNK = 500;
/** Columns PostgreSQL returns as strings (bigint) that the archive writes as numbers, as SQLite returns them. */
const NUMERIC = new Set(['id', 'at', 'issued_at', 'expires_at', 'revoked_at', 'key_version']);

export interface PruneOptions {
  archive?: string;
  /** Prune only rows older than this too (Unix ms); it can move a cutoff earlier, never later than the configured age. */
  before?: number;
  dryRun?: boolean;
  actor: string;
}

export interface PruneResult {
  ledgerCutoff: string | null;
  auditCutoff: string | null;
  ledgerRows: number;
  auditLines: number;
  archive: string | null;
  sha256: string | null;
}

interface Plan {
  table: 'issued_tokens' | 'audit_log';
  key: 'jti' | 'id';
  where: string;
  cutoff: number;
}

/**
 * Retention: ledger rows whose token expired before the ledger cutoff and audit lines written
 * before the audit cutoff are written to an archive and then deleted, in one transaction, with one
 * audit line saying so. A ledger row is pruned only once its token has expired (by a month at
 * least): the revocation expression lists only revoked tokens not yet expired, so pruning never
 * lifts a revocation. Earlier `retention.prune` lines are kept for ever, the chain of what was removed.
 */
@Injectable()
export class PruneService {
  constructor(
    private readonly db: Db,
    private readonly settings: Settings,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async prune(opts: PruneOptions): Promise<PruneResult> {
    const plans = this.plans(opts.before);
    const result: PruneResult = {
      ledgerCutoff: iso(plans.find((p) => p.table === 'issued_tokens')?.cutoff),
      auditCutoff: iso(plans.find((p) => p.table === 'audit_log')?.cutoff),
      ledgerRows: 0,
      auditLines: 0,
      archive: null,
      sha256: null,
    };
    if (opts.dryRun) {
      await this.db.read(async (m) => {
        for (const p of plans)
          this.count(
            result,
            p,
            Number(
              (await m.createQueryBuilder().select('COUNT(*)', 'n').from(p.table, 't').where(p.where, { cutoff: p.cutoff }).getRawOne<{ n: string | number }>())
                ?.n ?? 0,
            ),
          );
      });
      return result;
    }
    if (!opts.archive) throw new ArchiveError('--archive FILE is required (or --dry-run)');
    const file = new ArchiveFile(opts.archive);
    let finished = false;
    try {
      return await this.db.tx(async (m) => {
        const keys = new Map<Plan, (string | number)[]>();
        for (const p of plans) keys.set(p, await this.archiveRows(m, p, file));
        result.sha256 = file.finish();
        finished = true;
        result.archive = file.target;
        await m.createQueryBuilder().insert().into('audit_prune_guard').values({ id: 1 }).execute();
        for (const [p, ks] of keys) {
          for (const slice of chunks(ks, CHUNK)) {
            await m.createQueryBuilder().delete().from(p.table).where(`${p.key} IN (:...ks)`, { ks: slice }).execute();
          }
          this.count(result, p, ks.length);
        }
        await m.createQueryBuilder().delete().from('audit_prune_guard').execute();
        await this.audit.record(m, { actor: opts.actor, action: 'retention.prune', target: 'retention', detail: { ...result, archive: file.target } });
        return result;
      });
    } finally {
      if (!finished) file.abandon();
    }
  }

  /** What to prune: one plan per table with a configured age; --before may only keep more. */
  private plans(before?: number): Plan[] {
    const now = this.clock.now();
    const { ledgerDays, auditDays } = this.settings.config.retention;
    const cut = (days: number) => Math.min(now - days * DAY_MS, before ?? Infinity);
    const out: Plan[] = [];
    if (ledgerDays !== undefined) out.push({ table: 'issued_tokens', key: 'jti', where: 't.expires_at < :cutoff', cutoff: cut(ledgerDays) });
    if (auditDays !== undefined) out.push({ table: 'audit_log', key: 'id', where: "t.at < :cutoff AND t.action <> 'retention.prune'", cutoff: cut(auditDays) });
    return out;
  }

  /** Writes every row the plan selects to the archive, chunk by chunk in key order; returns their keys. */
  private async archiveRows(m: EntityManager, p: Plan, file: ArchiveFile): Promise<(string | number)[]> {
    const keys: (string | number)[] = [];
    let after: string | number | null = null;
    for (;;) {
      const qb = m.createQueryBuilder().select('t.*').from(p.table, 't').where(p.where, { cutoff: p.cutoff });
      if (after !== null) qb.andWhere(`t.${p.key} > :after`, { after });
      const rows = (await qb.orderBy(`t.${p.key}`, 'ASC').limit(CHUNK).getRawMany<Record<string, unknown>>()).map(normalise);
      if (!rows.length) return keys;
      file.append(rows.map((row) => ({ table: p.table, row })));
      for (const r of rows) keys.push(r[p.key] as string | number);
      after = keys[keys.length - 1];
    }
  }

  private count(r: PruneResult, p: Plan, n: number): void {
    if (p.table === 'issued_tokens') r.ledgerRows = n;
    else r.auditLines = n;
  }
}

function normalise(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = NUMERIC.has(k) && typeof v === 'string' ? Number(v) : v;
  return out;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
