import { Injectable } from '@nestjs/common';
import { Db } from '../database/db.js';
import { Delivery } from './delivery.entity.js';
import { deliveryResponse } from './delivery.response.js';
import { ListDeliveriesQueryDto } from './dto/list-deliveries.query.dto.js';

/** Reads the outbox for GET /deliveries, and counts it for the metrics (ForwardingMetrics). */
@Injectable()
export class DeliveriesService {
  constructor(private readonly db: Db) {}

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
