import { Injectable } from '@nestjs/common';

/** The time source; tests replace it to move time. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}
