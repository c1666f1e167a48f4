import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

/** Runs of frontend.reloadCommand. */
@Injectable()
export class CollectorMetrics {
  readonly reloads: Counter<'result'>;
  readonly lastSuccess: Gauge;
  readonly pending: Gauge;

  constructor(metrics: MetricsService) {
    this.reloads = new Counter({
      name: 'glidekey_collector_reload_total',
      help: 'Runs of frontend.reloadCommand after the collector files changed, by result (ok, failed, timeout)',
      labelNames: ['result'] as const,
      registers: [metrics.registry],
    });
    for (const result of ['ok', 'failed', 'timeout']) this.reloads.inc({ result }, 0);
    this.lastSuccess = new Gauge({
      name: 'glidekey_collector_reload_last_success_timestamp_seconds',
      help: 'When frontend.reloadCommand last succeeded (0: not since start)',
      registers: [metrics.registry],
    });
    this.pending = new Gauge({
      name: 'glidekey_collector_reload_pending',
      help: '1 while a change to the collector files has not yet been followed by a successful reload, else 0',
      registers: [metrics.registry],
    });
  }
}
