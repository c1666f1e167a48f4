import { Injectable } from '@nestjs/common';
import { isIPv6 } from 'node:net';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';

/** Most addresses tracked at once: the map never grows past this, whatever a prober sprays. */
export const MAX_TRACKED = 100_000;

interface Window {
  start: number;
  failures: number;
  /** While over the limit: the clock second of the last admitted lookup, and how many it had. */
  second?: number;
  lookups?: number;
}

/**
 * Counts failed ticket fetches per client address in fixed windows of tickets.failureWindowSeconds.
 * Only failures are counted and only failures are throttled: thousands of glideins behind one
 * site's NAT share an address, and their valid tickets must always be served.
 *
 * Once an address is over the limit, its requests are answered 429 before any database work,
 * except tickets.limitedLookupsPerSecond a second that are still looked up: a prober's thousand a
 * second cost the database nothing, while the valid tickets of glideins behind the same NAT go on
 * being served (those turned away keep their ticket and retry after Retry-After).
 *
 * Written here rather than taken from rate-limiter-flexible: its memory limiter reads Date.now()
 * and arms a timer per key, so it can neither follow the injected Clock nor cap its key count.
 */
@Injectable()
export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly clock: Clock,
    private readonly settings: Settings,
  ) {}

  /** Records one failure from `address`; returns the seconds to wait when it is over the limit, else 0. */
  fail(address: string): number {
    const { failureLimit, failureWindowSeconds } = this.settings.config.tickets;
    const windowMs = failureWindowSeconds * 1000;
    const now = this.clock.now();
    const key = keyOf(address);
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs || now < w.start) {
      if (w) this.windows.delete(key);
      else this.makeRoom(now, windowMs);
      w = { start: now, failures: 0 };
      this.windows.set(key, w);
    }
    w.failures++;
    return w.failures > failureLimit ? Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)) : 0;
  }

  /** Before the lookup: the seconds to wait when `address` is over the limit and out of lookups, else 0 (go ahead). */
  admit(address: string): number {
    const { failureLimit, failureWindowSeconds, limitedLookupsPerSecond } = this.settings.config.tickets;
    const windowMs = failureWindowSeconds * 1000;
    const now = this.clock.now();
    const w = this.windows.get(keyOf(address));
    if (!w || w.failures <= failureLimit || now - w.start >= windowMs || now < w.start) return 0;
    const second = Math.floor(now / 1000);
    if (w.second !== second) [w.second, w.lookups] = [second, 0];
    if (w.lookups! < limitedLookupsPerSecond) {
      w.lookups!++;
      return 0;
    }
    return Math.max(1, Math.ceil((w.start + windowMs - now) / 1000));
  }

  get tracked(): number {
    return this.windows.size;
  }

  /** At the cap: drop ended windows, then the oldest ones (Map order is insertion order). */
  private makeRoom(now: number, windowMs: number): void {
    if (this.windows.size < MAX_TRACKED) return;
    for (const [k, w] of this.windows) if (now - w.start >= windowMs) this.windows.delete(k);
    for (const k of this.windows.keys()) {
      if (this.windows.size < MAX_TRACKED) break;
      this.windows.delete(k);
    }
  }
}

/** IPv4 as is (also when mapped into IPv6); IPv6 by its /64, the smallest block a site is usually given. */
export function keyOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}
