import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Clock } from '../common/clock.js';
import { Db } from '../database/db.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { query, sql } from '../database/sql.js';

/** Table sizes, for deciding on retention: one aggregate query at most once per metrics.cacheSeconds. */
@Injectable()
export class RetentionMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const { db, clock } = this;
    const sizes = this.metrics.cached(async () => {
      const [row] = await db.read((m) =>
        query<{ ledger: string | number; audit: string | number; revoked: string | number }>(
          m,
          sql`SELECT (SELECT COUNT(*) FROM issued_tokens) AS ledger, (SELECT COUNT(*) FROM audit_log) AS audit,
             (SELECT COUNT(*) FROM issued_tokens WHERE revoked_at IS NOT NULL AND expires_at > ${clock.now()}) AS revoked`,
        ),
      );
      return { ledger_rows: Number(row.ledger), audit_lines: Number(row.audit), revoked_jtis: Number(row.revoked) };
    });
    new Gauge({
      name: 'glidekey_table_rows',
      help: 'Rows by table: ledger_rows (issued_tokens), audit_lines (audit_log), revoked_jtis (revoked, not yet expired: listed in the revocation expression)',
      labelNames: ['table'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const s = await sizes();
        for (const [table, n] of Object.entries(s)) this.set({ table }, n);
      },
    });
  }
}
