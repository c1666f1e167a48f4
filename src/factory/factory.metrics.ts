import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { CacheService } from './cache.service.js';

const STATES = ['valid', 'expiring', 'expired'] as const;
const TYPES = ['idtoken', 'scitoken'] as const;

/**
 * The factory cache in Prometheus: what arrived, and the cache's state in aggregate (counts per
 * state and type, the soonest expiry per type). No series per credential: frontends times entries
 * times types grows with every registration, and an alert needs only "the soonest one is close";
 * which credential it is, GET /factory/cache says.
 */
@Injectable()
export class FactoryMetrics implements OnModuleInit {
  readonly received: Counter<'type' | 'result'>;
  readonly withdrawals: Counter<'type' | 'result'>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly cache: CacheService,
  ) {
    this.received = new Counter({
      name: 'glidekey_factory_credentials_received_total',
      help: 'Credentials in accepted envelopes, by type and result (stored, unchanged, or the refusal code)',
      labelNames: ['type', 'result'] as const,
      registers: [metrics.registry],
    });
    this.withdrawals = new Counter({
      name: 'glidekey_factory_withdrawals_received_total',
      help: 'Withdrawals in accepted envelopes, by type and result (withdrawn, unchanged, or the refusal code)',
      labelNames: ['type', 'result'] as const,
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    const summary = this.metrics.cached(() => this.cache.summary());
    new Gauge({
      name: 'glidekey_factory_credential_min_seconds_to_expiry',
      help: 'Seconds until the soonest-expiring cached credential of each type expires (0 once expired; absent when none is cached)',
      labelNames: ['type'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const { byType, now } = await summary();
        this.reset();
        for (const t of byType) if (t.soonest !== null) this.set({ type: t.type }, Math.max(0, Math.floor((t.soonest - now) / 1000)));
      },
    });
    new Gauge({
      name: 'glidekey_factory_credentials',
      help: 'Cached credentials by state and type (missing: an entry needs one and no frontend sent it; withdrawn: a frontend took it back and none other holds one)',
      labelNames: ['state', 'type'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const { byType, missing, withdrawn } = await summary();
        this.reset();
        for (const type of TYPES) {
          const t = byType.find((b) => b.type === type);
          for (const state of STATES) this.set({ state, type }, t ? t[state] : 0);
          this.set({ state: 'missing', type }, missing[type]);
          this.set({ state: 'withdrawn', type }, withdrawn[type]);
        }
      },
    });
  }
}
