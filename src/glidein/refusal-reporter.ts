import { Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { DomainError, RetryLaterError } from '../common/errors.js';
import { FailureLimiter } from './failure-limiter.js';

const WARN_EVERY_MS = 60_000;

export type Refusal = 'invalid' | 'rate_limited';

export interface RefusalKind {
  /** What was refused, for the summary line: "glidein credential fetch(es) with a bad ticket". */
  what: string;
  /** The one refusal every bad bearer gets, whatever was wrong with it. */
  invalid: () => DomainError;
  /** The 429's message. */
  limitedMessage: string;
  count: (reason: Refusal) => void;
}

/**
 * Refusals of bad glidein bearers (tickets, renewal credentials): counted towards the address's
 * failure limit and in metrics, never audited one by one (anyone who reaches the port could flood
 * the append-only log), and summarised in one warning line at most once a minute.
 */
export class RefusalReporter {
  private refusedSinceWarn = 0;
  private lastWarn = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly limiter: FailureLimiter,
    private readonly log: Logger,
    private readonly kind: RefusalKind,
  ) {}

  /** Before any lookup: the 429 for an address over the failure limit and out of its lookup allowance. */
  beforeLookup(address: string): RetryLaterError | undefined {
    const wait = this.limiter.admit(address);
    if (!wait) return undefined;
    this.report(address, true);
    return this.limited(wait);
  }

  /** A bad bearer: one more failure for the address, then the 429 or the one refusal. */
  refuse(address: string): never {
    const wait = this.limiter.fail(address);
    this.report(address, wait > 0);
    if (wait) throw this.limited(wait);
    throw this.kind.invalid();
  }

  private limited(wait: number): RetryLaterError {
    return new RetryLaterError('RATE_LIMITED', this.kind.limitedMessage, wait);
  }

  private report(address: string, limited: boolean): void {
    this.kind.count(limited ? 'rate_limited' : 'invalid');
    this.refusedSinceWarn++;
    const now = this.clock.now();
    if (now - this.lastWarn >= WARN_EVERY_MS || now < this.lastWarn) {
      this.log.warn(`refused ${this.refusedSinceWarn} ${this.kind.what} since the last report (latest from ${address}${limited ? ', now rate-limited' : ''})`);
      this.refusedSinceWarn = 0;
      this.lastWarn = now;
    }
  }
}
