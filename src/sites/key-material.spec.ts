import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { importedKeyBytes, MAX_KEY_BYTES, MIN_KEY_BYTES } from './key-material.js';

interface Vector {
  name: string;
  password_hex: string;
  scrambled_file_hex: string;
}

// Read at load time on purpose: a missing vectors file fails the suite instead of skipping it.
const VECTORS: Vector[] = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../test/fixtures/idtoken-vectors.json'), 'utf8')).vectors;
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

describe(importedKeyBytes.name, () => {
  it('has vectors', () => expect(VECTORS).toHaveLength(4));

  it.each(VECTORS.map((v) => [v.name, v] as const))('unscrambles a condor passwords.d file (%s)', (_name, v) => {
    expect(importedKeyBytes({ format: 'condor', data: b64(v.scrambled_file_hex) }).toString('hex')).toBe(v.password_hex);
  });

  it.each(VECTORS.map((v) => [v.name, v] as const))('returns raw bytes exactly (%s)', (_name, v) => {
    expect(importedKeyBytes({ format: 'raw', data: b64(v.password_hex) }).toString('hex')).toBe(v.password_hex);
  });

  it('tolerates whitespace and newlines inside the base64', () => {
    const v = VECTORS[1];
    const wrapped = b64(v.scrambled_file_hex).replace(/(.{10})/g, '$1\n ') + '\r\n';
    expect(wrapped).toContain('\n ');
    expect(importedKeyBytes({ format: 'condor', data: wrapped }).toString('hex')).toBe(v.password_hex);
  });

  it.each(['!!!', 'abc', 'YQ', 'YQ=', 'YWJj=', '====', 'YWJjZA', Buffer.alloc(20).toString('base64url').replace(/A/g, '_'), 'ab-_cdef' + 'A'.repeat(24)])(
    'refuses %j with INVALID_BASE64',
    (data) => {
      expect(() => importedKeyBytes({ format: 'raw', data })).toThrow(expect.objectContaining({ code: 'INVALID_BASE64', field: 'key.data' }));
    },
  );

  it('enforces the key length bounds', () => {
    const sized = (n: number) => ({ format: 'raw' as const, data: randomBytes(n).toString('base64') });
    expect(MIN_KEY_BYTES).toBe(16);
    expect(MAX_KEY_BYTES).toBe(4096);
    expect(importedKeyBytes(sized(16)).length).toBe(16);
    expect(importedKeyBytes(sized(4096)).length).toBe(4096);
    for (const n of [0, 1, 15, 4097, 8192]) {
      expect(() => importedKeyBytes(sized(n))).toThrow(expect.objectContaining({ code: 'INVALID_KEY', field: 'key.data' }));
    }
    expect(() => importedKeyBytes({ format: 'condor', data: randomBytes(15).toString('base64') })).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });
});
