import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { SCITOKEN_STATES, SciTokenState } from './scitoken.response.js';
import { SciTokensService } from './scitokens.service.js';

const ALARMING: SciTokenState[] = ['expiring', 'expired', 'invalid'];

/**
 * Says clearly, once per change, when a SciToken enters `expiring`, `expired` or `invalid` (the
 * failure GlideinWMS reports as a misleading "no match"), and exports seconds-to-expiry and counts
 * per state.
 */
@Injectable()
export class SciTokenWatch implements OnModuleInit {
  private readonly log = new Logger('scitokens');
  private readonly last = new Map<string, SciTokenState>();

  constructor(
    private readonly scitokens: SciTokensService,
    private readonly metrics: MetricsService,
  ) {}

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

  /** Logs each SciToken that has newly entered an alarming state; returns their names. */
  async check(): Promise<string[]> {
    const alarms: string[] = [];
    for (const t of await this.scitokens.list()) {
      const before = this.last.get(t.name);
      this.last.set(t.name, t.state);
      if (t.state !== before && ALARMING.includes(t.state)) {
        alarms.push(t.name);
        const detail =
          t.state === 'invalid'
            ? `invalid (${t.reason})`
            : t.state === 'expiring'
              ? `expiring in ${t.secondsToExpiry} s (at ${t.expiresAt})`
              : `expired at ${t.expiresAt}`;
        this.log.warn(`SciToken ${t.name} (trust domain ${t.trustDomain}) is ${detail}: pilots needing it will not be submitted; supply a fresh one`);
      }
    }
    return alarms;
  }
}
