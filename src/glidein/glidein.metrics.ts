import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

/** How a renewal ended: `renewed` and `grace` (a lost answer's credential taken again) succeeded; the rest are refusals. */
export type RenewalResult = 'renewed' | 'grace' | 'invalid' | 'rate_limited' | 'revoked' | 'pilot_life_over' | 'withdrawn' | 'stale';

/** Renewal credentials handed out, renewed and revoked. Labels are entry names and results: never a credential or its id. */
@Injectable()
export class GlideinMetrics {
  readonly issued: Counter<'entry'>;
  /** `entry` only where the credential was valid; an invalid one's entry would tell a prober too much. */
  readonly renewals: Counter<'result' | 'entry'>;
  readonly revoked: Counter<'entry'>;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.issued = new Counter({
      name: 'glidekey_renewal_credentials_issued_total',
      help: 'Glidein renewal credentials handed out at bootstrap, by entry',
      labelNames: ['entry'],
      registers,
    });
    this.renewals = new Counter({
      name: 'glidekey_glidein_renewals_total',
      help: 'Glidein credential renewals by result (renewed, grace, invalid, rate_limited, revoked, pilot_life_over, withdrawn, stale); entry empty for invalid and rate_limited',
      labelNames: ['result', 'entry'],
      registers,
    });
    this.revoked = new Counter({
      name: 'glidekey_renewal_credentials_revoked_total',
      help: 'Glidein renewal credentials revoked by a factory admin, by entry',
      labelNames: ['entry'],
      registers,
    });
  }

  count(result: RenewalResult, entry = ''): void {
    this.renewals.inc({ result, entry });
  }
}
