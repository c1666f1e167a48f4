import type { Delivery } from './delivery.entity.js';

/** What one envelope may carry (the factory's 256 KiB body limit, with room for base64). */
const ENVELOPE_MAX_ITEMS = 2000;
const ENVELOPE_MAX_BYTES = 160_000;

/**
 * Rows in envelope-sized groups of one kind: at most 2000 items and about 160 kB of plaintext
 * each. Credentials and withdrawals never share an envelope (v1 and v2 bodies, see envelope.ts).
 */
export function* envelopeBatches(rows: Delivery[]): Generator<Delivery[]> {
  // Credentials first: a factory that predates withdrawals refuses the v2 envelope, and the rest of
  // a send waits for the retry, so its credentials must not wait behind its withdrawals.
  for (const kind of ['credential', 'withdrawal'] as const) {
    let chunk: Delivery[] = [];
    let bytes = 0;
    for (const d of rows) {
      if (d.kind !== kind) continue;
      const size = (d.sealedValue?.length ?? 0) + 160;
      if (chunk.length && (chunk.length >= ENVELOPE_MAX_ITEMS || bytes + size > ENVELOPE_MAX_BYTES)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(d);
      bytes += size;
    }
    if (chunk.length) yield chunk;
  }
}

/** Exponential backoff with jitter: base * 2^(attempts-1), capped, then a random half to all of it (replicas and factories do not retry in lockstep). */
// eslint-disable-next-line no-restricted-properties -- the deliverer passes its Random; this default (for callers without one) is jitter, guarding no secret
export function backoffMs(attempts: number, baseSeconds: number, maxSeconds: number, random = Math.random): number {
  const ceiling = Math.min(maxSeconds, baseSeconds * 2 ** Math.min(attempts - 1, 30)) * 1000;
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
