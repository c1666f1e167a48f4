import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, Observable, switchMap } from 'rxjs';
import { Settings } from '../config/settings.js';
import { RetryLaterError } from './errors.js';

export type PacedKind = 'lists' | 'metrics';
const PACED = 'glidekey:paced';

/**
 * Marks a read whose cost grows with the data (a list, a metrics scrape): its callers share a rate
 * per kind, so a caller in a tight loop waits for its turn instead of taking the event loop from
 * mints and glidein fetches.
 */
export const Paced = (kind: PacedKind) => SetMetadata(PACED, kind);

/**
 * A token bucket per kind (`rate` a second, bursts of `rate`). A request past the bucket waits its
 * turn on a timer (costing no CPU while it waits); past `queue` waiting requests it gets 429 with
 * Retry-After. Runs after the guard, so an unauthenticated caller never takes a turn. The bucket
 * refills on the monotonic clock its timer runs on, not the Clock (a test clock does not move timers).
 */
export class Pacer {
  private tokens: number;
  private last = performance.now();
  private readonly waiting: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly rate: number,
    private readonly queue: number,
  ) {
    this.tokens = rate;
  }

  /** Resolves when the caller may go on; throws RATE_LIMITED when too many already wait. */
  take(): Promise<void> {
    this.refill();
    if (this.waiting.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.queue)
      return Promise.reject(new RetryLaterError('RATE_LIMITED', 'too many list or metrics requests at once; try again shortly', 1));
    return new Promise((ok) => {
      this.waiting.push(ok);
      this.arm();
    });
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.refill();
        while (this.waiting.length && this.tokens >= 1) {
          this.tokens -= 1;
          this.waiting.shift()!();
        }
        if (this.waiting.length) this.arm();
      },
      Math.max(1, Math.ceil(1000 / this.rate)),
    );
    this.timer.unref();
  }
}

@Injectable()
export class PacingInterceptor implements NestInterceptor {
  private readonly pacers: Record<PacedKind, Pacer>;

  constructor(
    private readonly reflector: Reflector,
    settings: Settings,
  ) {
    const l = settings.config.limits;
    this.pacers = { lists: new Pacer(l.listRequestsPerSecond, l.pacedQueue), metrics: new Pacer(l.metricsRequestsPerSecond, l.pacedQueue) };
  }

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const kind = this.reflector.get<PacedKind | undefined>(PACED, ctx.getHandler());
    if (!kind) return next.handle();
    return from(this.pacers[kind].take()).pipe(switchMap(() => next.handle()));
  }
}
