import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { Db } from '../database/db.js';
import { DELIVERY_STATES, Delivery } from './delivery.entity.js';
import { deliveryResponse } from './delivery.response.js';
import { ListDeliveriesQueryDto } from './dto/list-deliveries.query.dto.js';

/** Reads the outbox for GET /deliveries, and counts it for the metrics. */
@Injectable()
export class DeliveriesService implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    // GROUP BY kind and state, at most once per cacheSeconds.
    const counts = this.metrics.cached(() => this.counts());
    for (const [kind, name, what] of [
      ['credential', 'glidekey_deliveries', 'Outbox credential rows'],
      ['withdrawal', 'glidekey_withdrawals', 'Outbox withdrawal rows'],
    ] as const) {
      new Gauge({
        name,
        help: `${what} by state (pending, delivered, superseded, dropped, refused)`,
        labelNames: ['state'] as const,
        registers: [this.metrics.registry],
        async collect() {
          const n = (await counts())[kind] ?? {};
          for (const s of DELIVERY_STATES) this.set({ state: s }, n[s] ?? 0);
        },
      });
    }
  }

  async list(q: ListDeliveriesQueryDto) {
    const rows = await this.db.read((m) =>
      m.find(Delivery, {
        where: {
          ...(q.factory ? { factory: q.factory } : {}),
          ...(q.entry ? { entry: q.entry } : {}),
          ...(q.state ? { state: q.state } : {}),
          ...(q.kind ? { kind: q.kind } : {}),
        },
        order: { createdAt: 'DESC', version: 'DESC', id: 'ASC' },
        take: q.limit ?? 100,
      }),
    );
    return rows.map(deliveryResponse);
  }

  /** Rows per kind and state. */
  async counts(): Promise<Record<string, Record<string, number>>> {
    const rows = await this.db.read((m) =>
      m
        .createQueryBuilder(Delivery, 'd')
        .select('d.kind', 'kind')
        .addSelect('d.state', 'state')
        .addSelect('COUNT(*)', 'n')
        .groupBy('d.kind')
        .addGroupBy('d.state')
        .getRawMany<{ kind: string; state: string; n: string | number }>(),
    );
    const out: Record<string, Record<string, number>> = {};
    for (const r of rows) (out[r.kind] ??= {})[r.state] = Number(r.n);
    return out;
  }
}
