import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * SciTokens handed to GlideinWMS credential generators. Labels: the result and the stored
 * token's name (bounded by what the admin stored), never an entry or gatekeeper the caller sent.
 */
@Injectable()
export class HandoutMetrics {
  readonly handouts: Counter<'result' | 'scitoken'>;

  constructor(metrics: MetricsService) {
    this.handouts = new Counter({
      name: 'glidekey_gwms_scitoken_handouts_total',
      help: 'SciTokens asked for by GlideinWMS credential generators, by result (handed_out, no_match) and stored SciToken name (empty for no_match)',
      labelNames: ['result', 'scitoken'],
      registers: [metrics.registry],
    });
  }
}
