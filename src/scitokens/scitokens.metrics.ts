import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { SCITOKEN_STATES } from './scitoken.response.js';
import { SciTokensService } from './scitokens.service.js';

/**
 * SciTokens handed to GlideinWMS credential generators, and the stored SciTokens' states and
 * seconds to expiry. Labels: the result and the stored token's name (bounded by what the admin
 * stored), never an entry or gatekeeper the caller sent.
 */
@Injectable()
export class SciTokensMetrics implements OnModuleInit {
  readonly handouts: Counter<'result' | 'scitoken'>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly scitokens: SciTokensService,
  ) {
    this.handouts = new Counter({
      name: 'glidekey_gwms_scitoken_handouts_total',
      help: 'SciTokens asked for by GlideinWMS credential generators, by result (handed_out, no_match) and stored SciToken name (empty for no_match)',
      labelNames: ['result', 'scitoken'],
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    // Checking every token costs crypto: at most once per metrics.cacheSeconds. One series per
    // stored SciToken: they are the frontend admin's, a handful per VO.
    const list = this.metrics.cached(() => this.scitokens.list());
    new Gauge({
      name: 'glidekey_scitoken_seconds_to_expiry',
      help: 'Seconds until each stored SciToken expires (0 once expired)',
      labelNames: ['name'] as const,
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        for (const t of await list()) if (t.secondsToExpiry !== null) this.set({ name: t.name }, t.secondsToExpiry);
      },
    });
    new Gauge({
      name: 'glidekey_scitokens',
      help: 'SciTokens by state',
      labelNames: ['state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const all = await list();
        for (const s of SCITOKEN_STATES) this.set({ state: s }, all.filter((t) => t.state === s).length);
      },
    });
  }
}
