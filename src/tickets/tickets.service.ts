import { Injectable, OnModuleInit } from '@nestjs/common';
import { FORGET_ORDER, FrontendForgetters } from '../factory/frontend-forgetters.js';
import { forgetFrontendTickets } from './frontend-tickets.js';
import { AuditService } from '../audit/audit.service.js';
import { hashSecret } from '../auth/api-key.secret.js';
import { formatTicket } from '../auth/ticket.secret.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Random } from '../crypto/random.js';
import { bulkInsert } from '../database/bulk-insert.js';
import { Db } from '../database/db.js';
import { factoryStore } from '../factory/factory.store.js';
import { IssueTicketsDto } from './dto/issue-tickets.dto.js';
import { Ticket } from './ticket.entity.js';
import { TicketsMetrics } from './tickets.metrics.js';
import { RunsAs } from '../common/request-context.js';
import { chunks } from '../database/sql.js';

export interface IssuedTickets {
  entry: string;
  frontend: string;
  batch: string;
  count: number;
  expiresAt: string;
  /** The secrets: shown in this response only. */
  tickets: string[];
}

const COLUMNS = ['id', 'secret_hash', 'batch_id', 'frontend', 'entry', 'created_at', 'expires_at'] as const;
/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

/** Issues glidein bootstrap tickets and purges expired ones. Consuming them is the glidein module's job. */
@Injectable()
export class TicketsService implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly settings: Settings,
    private readonly metrics: TicketsMetrics,
    private readonly forgetters: FrontendForgetters,
  ) {}

  onModuleInit(): void {
    // A forgotten frontend's tickets go in the factory's transaction: an unused one then reads as unknown.
    this.forgetters.register(FORGET_ORDER.tickets, async (m, frontend) => {
      const { deleted, unused } = await forgetFrontendTickets(m, frontend);
      return { tickets: deleted, unusedTickets: unused };
    });
  }

  /** `count` tickets for one frontend and entry, stored as hashes in one transaction with their audit line. */
  async issue(entry: string, dto: IssueTicketsDto): Promise<IssuedTickets> {
    const cfg = this.settings.config.tickets;
    if (dto.count > cfg.maxCount) throw new DomainError('VALIDATION_FAILED', `count must not be greater than ${cfg.maxCount} (tickets.maxCount)`, 'count');
    const ttl = dto.ttlSeconds ?? cfg.defaultTtlSeconds;
    if (ttl > cfg.maxTtlSeconds)
      throw new DomainError('VALIDATION_FAILED', `ttlSeconds must not be greater than ${cfg.maxTtlSeconds} (tickets.maxTtlSeconds)`, 'ttlSeconds');
    const out = await this.db.tx(async (m) => {
      if (!(await factoryStore.entryExists(m, entry))) throw new DomainError('ENTRY_NOT_FOUND', 'no such entry');
      if (!(await factoryStore.frontendRegistered(m, dto.frontend)))
        throw new DomainError('FRONTEND_NOT_FOUND', `no registered frontend named ${dto.frontend}`, 'frontend');
      const now = this.clock.now();
      const expiresAt = now + ttl * 1000;
      const batch = this.random.hex(8);
      const tickets: string[] = [];
      const rows: unknown[][] = [];
      for (let i = 0; i < dto.count; i++) {
        const id = this.random.hex(8);
        const secret = this.random.base64url(32);
        tickets.push(formatTicket(id, secret));
        rows.push([id, hashSecret(secret), batch, dto.frontend, entry, now, expiresAt]);
      }
      for (const slice of chunks(rows, CHUNK)) await bulkInsert(m, 'glidein_tickets', COLUMNS, slice);
      await this.audit.record(m, {
        action: 'ticket.issue',
        target: `entry:${entry}`,
        detail: { frontend: dto.frontend, batch, count: dto.count, ttlSeconds: ttl, expiresAt: new Date(expiresAt).toISOString() },
      });
      return { entry, frontend: dto.frontend, batch, count: dto.count, expiresAt: new Date(expiresAt).toISOString(), tickets };
    });
    this.metrics.issued.inc({ entry }, dto.count);
    return out;
  }

  /**
   * Deletes expired tickets, used or not; the unused ones are counted and audited per entry as
   * expired (the used ones were audited when consumed). Each entry's delete is conditional on
   * expiry, so replicas purging at once count every ticket once.
   */
  @RunsAs('system')
  async purgeExpired(): Promise<Record<string, number>> {
    const now = this.clock.now();
    const expired: Record<string, number> = {};
    await this.db.tx(async (m) => {
      const entries = await m
        .createQueryBuilder(Ticket, 't')
        .select('DISTINCT t.entry', 'entry')
        .where('t.consumed_at IS NULL AND t.expires_at <= :now', { now })
        .getRawMany<{ entry: string }>();
      for (const { entry } of entries) {
        const gone = await m
          .createQueryBuilder()
          .delete()
          .from(Ticket)
          .where('entry = :entry AND consumed_at IS NULL AND expires_at <= :now', { entry, now })
          .execute();
        if (!gone.affected) continue;
        expired[entry] = gone.affected;
        await this.audit.record(m, { action: 'ticket.expire', target: `entry:${entry}`, detail: { count: gone.affected } });
      }
      await m.createQueryBuilder().delete().from(Ticket).where('consumed_at IS NOT NULL AND expires_at <= :now', { now }).execute();
    });
    for (const [entry, n] of Object.entries(expired)) this.metrics.expired.inc({ entry }, n);
    return expired;
  }
}
