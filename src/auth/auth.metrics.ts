import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

/** Requests the guard refused. Labels are reasons only: never a key, its id or the caller's header. */
@Injectable()
export class AuthMetrics {
  readonly authFailures: Counter<'reason'>;

  constructor(metrics: MetricsService) {
    this.authFailures = new Counter({
      name: 'glidekey_auth_failures_total',
      help: 'Refused API requests, by reason (missing, invalid, role)',
      labelNames: ['reason'] as const,
      registers: [metrics.registry],
    });
  }
}
