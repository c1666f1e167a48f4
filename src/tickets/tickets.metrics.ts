import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Clock } from '../common/clock.js';
import { Db } from '../database/db.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { query, sql } from '../database/sql.js';

export type RefusalReason = 'invalid' | 'rate_limited' | 'stale' | 'withdrawn';

/** Ticket counters per entry. Labels are entry names and reasons: never a ticket or its id. */
@Injectable()
export class TicketsMetrics implements OnModuleInit {
  readonly issued: Counter<'entry'>;
  readonly consumed: Counter<'entry'>;
  readonly expired: Counter<'entry'>;
  /** `entry` only where the ticket was valid (stale, withdrawn); an invalid ticket's entry would tell a prober too much. */
  readonly refused: Counter<'reason' | 'entry'>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    const registers = [metrics.registry];
    this.issued = new Counter({ name: 'glidekey_tickets_issued_total', help: 'Glidein bootstrap tickets issued, by entry', labelNames: ['entry'], registers });
    this.consumed = new Counter({
      name: 'glidekey_tickets_consumed_total',
      help: 'Glidein bootstrap tickets exchanged for credentials, by entry',
      labelNames: ['entry'],
      registers,
    });
    this.expired = new Counter({
      name: 'glidekey_tickets_expired_total',
      help: 'Glidein bootstrap tickets that expired unused (counted when purged), by entry',
      labelNames: ['entry'],
      registers,
    });
    this.refused = new Counter({
      name: 'glidekey_ticket_fetches_refused_total',
      help: 'Refused glidein credential fetches, by reason (invalid, rate_limited, stale, withdrawn); entry only for stale and withdrawn',
      labelNames: ['reason', 'entry'],
      registers,
    });
  }

  onModuleInit(): void {
    const { db, clock } = this;
    // Entries are the factory admin's, so one series per entry is bounded; the count is read from
    // the glidein_tickets_open index (consumed_at, entry, expires_at), at most once per cacheSeconds.
    const outstanding = this.metrics.cached((): Promise<{ entry: string; n: string | number }[]> =>
      db.read((m) =>
        query<{ entry: string; n: string | number }>(
          m,
          sql`SELECT entry, COUNT(*) AS n FROM glidein_tickets WHERE consumed_at IS NULL AND expires_at > ${clock.now()} GROUP BY entry`,
        ),
      ),
    );
    new Gauge({
      name: 'glidekey_tickets_outstanding',
      help: 'Unused, unexpired glidein bootstrap tickets, by entry (read at scrape time)',
      labelNames: ['entry'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const rows = await outstanding();
        this.reset();
        for (const r of rows) this.set({ entry: r.entry }, Number(r.n));
      },
    });
  }

  refuse(reason: RefusalReason, entry = ''): void {
    this.refused.inc({ reason, entry });
  }
}
