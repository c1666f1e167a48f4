import { Injectable } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

/** The request latency the HTTP hooks (http.hooks.ts) observe beside each request's log line. */
@Injectable()
export class LoggingMetrics {
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(metrics: MetricsService) {
    this.httpDuration = new Histogram({
      name: 'glidekey_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [metrics.registry],
    });
  }
}
