import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { Settings } from '../config/settings.js';

/**
 * Prometheus metrics. Labels carry names and outcomes, never a secret or a token.
 *
 * What a scrape costs is bounded whoever scrapes and however often: the text is rendered at most
 * once per metrics.cacheSeconds (real time), concurrent scrapes sharing one rendering, and every
 * gauge read from the database takes its figures from `cached()` too, by aggregate queries.
 */
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

  constructor(private readonly settings: Settings) {
    collectDefaultMetrics({ register: this.registry, prefix: 'glidekey_' });
  }

  /**
   * The registry in Prometheus text format, rendered at most once per metrics.cacheSeconds: scrapes
   * within that time, and scrapes that arrive while it renders, get the same text.
   */
  readonly scrape: () => Promise<string> = this.cached(() => this.registry.metrics());

  /**
   * `load`, computed at most once per metrics.cacheSeconds: callers within that time (and callers
   * while it runs) get the same result. A failed load is not kept.
   */
  cached<T>(load: () => Promise<T>): () => Promise<T> {
    let last: { at: number; value: Promise<T> } | undefined;
    return () => {
      const now = performance.now();
      if (!last || now - last.at >= this.settings.config.metrics.cacheSeconds * 1000) {
        const entry = { at: now, value: load() };
        entry.value.catch(() => {
          if (last === entry) last = undefined;
        });
        last = entry;
      }
      return last.value;
    };
  }
}
