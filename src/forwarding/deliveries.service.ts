import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { iso } from '../common/time.js';
import { Db } from '../database/db.js';
import { DELIVERY_STATES, Delivery } from './delivery.entity.js';
import { ListDeliveriesQueryDto } from './dto/list-deliveries.query.dto.js';

/** An outbox row as the API shows it: never the credential. */
export const deliveryResponse = (d: Delivery) => ({
  id: d.id,
  factory: d.factory,
  entry: d.entry,
  type: d.type,
  source: d.source,
  version: d.version,
  state: d.state,
  attempts: d.attempts,
  lastError: d.lastError,
  nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
  expiresAt: iso(d.expiresAt),
  createdAt: iso(d.createdAt),
  deliveredAt: iso(d.deliveredAt),
});

/** Reads the outbox for GET /deliveries, and counts it for the metrics. */
@Injectable()
export class DeliveriesService implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    // GROUP BY state over the deliveries_due index (state, next_attempt_at), at most once per cacheSeconds.
    const counts = this.metrics.cached(() => this.counts());
    new Gauge({
      name: 'glidekey_deliveries',
      help: 'Outbox rows by state (pending, delivered, superseded, dropped, refused)',
      labelNames: ['state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const n = await counts();
        for (const s of DELIVERY_STATES) this.set({ state: s }, n[s] ?? 0);
      },
    });
  }

  async list(q: ListDeliveriesQueryDto) {
    const rows = await this.db.read((m) =>
      m.find(Delivery, {
        where: { ...(q.factory ? { factory: q.factory } : {}), ...(q.entry ? { entry: q.entry } : {}), ...(q.state ? { state: q.state } : {}) },
        order: { createdAt: 'DESC', version: 'DESC', id: 'ASC' },
        take: q.limit ?? 100,
      }),
    );
    return rows.map(deliveryResponse);
  }

  /** Rows per state. */
  async counts(): Promise<Record<string, number>> {
    const rows = await this.db.read((m) => m.createQueryBuilder(Delivery, 'd').select('d.state', 'state').addSelect('COUNT(*)', 'n').groupBy('d.state').getRawMany<{ state: string; n: string | number }>());
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }
}
