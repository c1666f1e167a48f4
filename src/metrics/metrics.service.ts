import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Settings } from '../config/settings.js';

/**
 * The shared Prometheus registry (with the process defaults), its rendering for GET /metrics, and
 * `cached()` for gauges read at scrape time. Each capability declares its own metrics in its
 * `<cap>/<cap>.metrics.ts` on this registry (test/metrics/metrics-recipe.spec.ts keeps it so). Labels carry
 * names and outcomes, never a secret or a token.
 *
 * What a scrape costs is bounded whoever scrapes and however often: the text is rendered at most
 * once per metrics.cacheSeconds (real time), concurrent scrapes sharing one rendering, and every
 * gauge read from the database takes its figures from `cached()` too, by aggregate queries.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

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
