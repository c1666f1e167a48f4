import { Injectable } from '@nestjs/common';

/** The time source; tests replace it to move time. */
@Injectable()
export class Clock {
  now(): number {
    // eslint-disable-next-line no-restricted-properties -- the one reading of the wall clock the others inject
    return Date.now();
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Waits `ms` (a test clock moves itself instead). */
  sleep(ms: number): Promise<void> {
    return new Promise((ok) => setTimeout(ok, Math.max(0, ms)));
  }
}
