import { Injectable, Logger } from '@nestjs/common';
import { SciTokenState } from './scitoken.response.js';
import { SciTokensService } from './scitokens.service.js';

const ALARMING: SciTokenState[] = ['expiring', 'expired', 'invalid'];

/**
 * Says clearly, once per change, when a SciToken enters `expiring`, `expired` or `invalid` (the
 * failure GlideinWMS reports as a misleading "no match"). Their seconds to expiry and counts per
 * state are SciTokensMetrics' gauges.
 */
@Injectable()
export class SciTokenWatch {
  private readonly log = new Logger('scitokens');
  private readonly last = new Map<string, SciTokenState>();

  constructor(private readonly scitokens: SciTokensService) {}

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
