import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { CacheService } from './cache.service.js';

const STATES = ['valid', 'expiring', 'expired', 'missing'] as const;

/** The factory cache in Prometheus: what arrived, and each credential's time left, read at scrape time. */
@Injectable()
export class CacheMetrics implements OnModuleInit {
  received!: Counter<'type' | 'result'>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly cache: CacheService,
  ) {}

  onModuleInit(): void {
    this.received = new Counter({
      name: 'glidekey_factory_credentials_received_total',
      help: 'Credentials in accepted envelopes, by type and result (stored, unchanged, or the refusal code)',
      labelNames: ['type', 'result'] as const,
      registers: [this.metrics.registry],
    });
    const list = () => this.cache.list();
    new Gauge({
      name: 'glidekey_factory_credential_seconds_to_expiry',
      help: 'Seconds until each cached credential expires (0 once expired)',
      labelNames: ['frontend', 'entry', 'type'] as const,
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        for (const c of await list()) if (c.frontend !== null) this.set({ frontend: c.frontend, entry: c.entry, type: c.type }, c.secondsToExpiry);
      },
    });
    new Gauge({
      name: 'glidekey_factory_credentials',
      help: 'Cached credentials by state (missing: an entry needs one and no frontend sent it)',
      labelNames: ['state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const all = await list();
        for (const s of STATES) this.set({ state: s }, all.filter((c) => c.state === s).length);
      },
    });
  }
}
