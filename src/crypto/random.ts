import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/** The source of secrets and identifiers; one place to audit. */
@Injectable()
export class Random {
  bytes(n: number): Buffer {
    return randomBytes(n);
  }

  hex(n: number): string {
    return randomBytes(n).toString('hex');
  }

  base64url(n: number): string {
    return randomBytes(n).toString('base64url');
  }
}
