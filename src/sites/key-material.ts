import { DomainError } from '../common/errors.js';
import { unscramble } from '../crypto/condor-key.js';
import type { ImportKeyDto } from './dto/site-policy.dto.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * HTCondor accepts any non-empty key, and real pools use short pool passwords typed into
 * condor_store_cred (6 bytes measured working), so shorter keys are imported, with a warning.
 */
export const SHORT_KEY_BYTES = 16;
export const MAX_KEY_BYTES = 4096;

/** A non-fatal remark on a created resource: returned in its 201 and recorded in its audit entry. */
export interface Warning {
  code: 'KEY_SHORT';
  message: string;
}

/**
 * The raw password bytes of an imported key. `condor` data is a passwords.d file as
 * condor_store_cred writes it (scrambled); every byte counts, nothing is trimmed.
 */
export function importedKeyBytes(dto: ImportKeyDto): Buffer {
  const text = dto.data.replace(/\s+/g, '');
  if (!BASE64.test(text)) throw new DomainError('INVALID_BASE64', 'key.data must be standard base64', 'key.data');
  const bytes = Buffer.from(text, 'base64');
  if (dto.format === 'raw') return checkLength(bytes);
  const raw = unscramble(bytes);
  bytes.fill(0);
  return checkLength(raw);
}

/** What to tell the admin about an imported key (its length only, never its bytes). */
export function keyWarnings(raw: Uint8Array): Warning[] {
  if (raw.length >= SHORT_KEY_BYTES) return [];
  return [
    {
      code: 'KEY_SHORT',
      message: `the imported key is ${raw.length} byte(s), under ${SHORT_KEY_BYTES}: HTCondor accepts it, but every token of this site is only as hard to forge as the key is to guess; rotate to a generated 64-byte key when the pool allows`,
    },
  ];
}

function checkLength(raw: Buffer): Buffer {
  if (raw.length === 0) throw new DomainError('KEY_EMPTY', 'key.data decodes to no bytes; HTCondor refuses an empty key', 'key.data');
  if (raw.length > MAX_KEY_BYTES) {
    raw.fill(0);
    throw new DomainError('INVALID_KEY', `key must be at most ${MAX_KEY_BYTES} bytes`, 'key.data');
  }
  return raw;
}
