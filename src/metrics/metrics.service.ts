import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Prometheus metrics. Labels carry names and outcomes, never a secret or a token. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'glidekey_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly tokensMinted = new Counter({
    name: 'glidekey_tokens_minted_total',
    help: 'IDTOKENs minted, by site',
    labelNames: ['site'] as const,
    registers: [this.registry],
  });

  readonly verifications = new Counter({
    name: 'glidekey_token_verifications_total',
    help: 'IDTOKEN verifications, by result (valid or the failure reason)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'glidekey_auth_failures_total',
    help: 'Refused API requests, by reason (missing, invalid, role)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'glidekey_' });
  }
}
