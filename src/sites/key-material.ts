import { DomainError } from '../common/errors.js';
import { unscramble } from '../crypto/condor-key.js';
import type { ImportKeyDto } from './dto/site-policy.dto.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Shorter passwords are refused: the whole pool's trust rests on this secret. */
export const MIN_KEY_BYTES = 16;
export const MAX_KEY_BYTES = 4096;

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

function checkLength(raw: Buffer): Buffer {
  if (raw.length < MIN_KEY_BYTES || raw.length > MAX_KEY_BYTES) {
    raw.fill(0);
    throw new DomainError('INVALID_KEY', `key must be ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`, 'key.data');
  }
  return raw;
}
