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

  /** A random (version 4) UUID for an identifier (a row id, an envelope id), as crypto.randomUUID makes. */
  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** A number in [0, 1), like Math.random's (for jitter), from the same source: 32 random bits. */
  fraction(): number {
    return this.bytes(4).readUInt32BE(0) / 2 ** 32;
  }

  hex(n: number): string {
    return this.bytes(n).toString('hex');
  }

  base64url(n: number): string {
    return this.bytes(n).toString('base64url');
  }
}
