import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { DeliveriesService } from './deliveries.service.js';
import { DELIVERY_STATES } from './delivery.entity.js';

/**
 * The outbox in Prometheus: envelopes sent and withdrawals answered per factory, and the outbox
 * rows by kind and state (counted at scrape time). Labels are factory names, results and states:
 * never a credential.
 */
@Injectable()
export class ForwardingMetrics implements OnModuleInit {
  readonly attempts: Counter<'factory' | 'result'>;
  readonly withdrawals: Counter<'factory' | 'result'>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly deliveries: DeliveriesService,
  ) {
    this.attempts = new Counter({
      name: 'glidekey_delivery_attempts_total',
      help: 'Envelopes sent to factories, by factory and result (ok or the failure code)',
      labelNames: ['factory', 'result'] as const,
      registers: [metrics.registry],
    });
    this.withdrawals = new Counter({
      name: 'glidekey_withdrawals_acknowledged_total',
      help: 'Withdrawals factories answered, by factory and result (withdrawn, unchanged, or the refusal code)',
      labelNames: ['factory', 'result'] as const,
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    // GROUP BY kind and state, at most once per cacheSeconds.
    const counts = this.metrics.cached(() => this.deliveries.counts());
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
}
