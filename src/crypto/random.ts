import { Injectable } from '@nestjs/common';
import { randomBytes, randomFillSync } from 'node:crypto';

/** Bytes drawn from the CSPRNG at a time; requests up to a quarter of it are served from the pool. */
const POOL_BYTES = 4096;

/**
 * The source of secrets and identifiers; one place to audit.
 *
 * Small requests are cut from a pool filled by one CSPRNG call, as Node's own randomUUID does: a
 * call costs the same few microseconds for 8 bytes as for 4 KiB, and a glidein fetch draws twice
 * (a renewal id and its secret). Every byte is handed out once, copied out, and zeroed in the pool.
 */
@Injectable()
export class Random {
  private readonly pool = Buffer.alloc(POOL_BYTES);
  private used = POOL_BYTES;

  bytes(n: number): Buffer {
    if (n > POOL_BYTES / 4) return randomBytes(n);
    if (this.used + n > POOL_BYTES) {
      randomFillSync(this.pool);
      this.used = 0;
    }
    // Its own allocation (Buffer.from would copy into Node's shared slab, beside unrelated buffers).
    const out = Buffer.alloc(n);
    this.pool.copy(out, 0, this.used, this.used + n);
    this.pool.fill(0, this.used, this.used + n);
    this.used += n;
    return out;
  }

  /**
   * Bytes for a long-lived secret (a site's signing key, an API key's secret), straight from the
   * CSPRNG: never drawn ahead of time into the pool, so no heap snapshot holds a key before it exists.
   */
  keyBytes(n: number): Buffer {
    return randomBytes(n);
  }

  hex(n: number): string {
    return this.bytes(n).toString('hex');
  }

  base64url(n: number): string {
    return this.bytes(n).toString('base64url');
  }
}
