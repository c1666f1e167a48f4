import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { importedKeyBytes, keyWarnings, MAX_KEY_BYTES, SHORT_KEY_BYTES } from './key-material.js';

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

  it('imports any non-empty key up to the maximum, as HTCondor does, and refuses an empty one with KEY_EMPTY', () => {
    const sized = (n: number) => ({ format: 'raw' as const, data: randomBytes(n).toString('base64') });
    expect(MAX_KEY_BYTES).toBe(4096);
    for (const n of [1, 6, 15, 16, 64, 4096]) expect(importedKeyBytes(sized(n)).length).toBe(n);
    // A 1-byte and a 6-byte condor file unscramble byte for byte (0x00 and "s3cret").
    expect(importedKeyBytes({ format: 'condor', data: Buffer.from([0xde]).toString('base64') }).toString('hex')).toBe('00');
    const s3cret = Buffer.from('s3cret').map((b, i) => b ^ [0xde, 0xad, 0xbe, 0xef][i % 4]);
    expect(importedKeyBytes({ format: 'condor', data: Buffer.from(s3cret).toString('base64') }).toString()).toBe('s3cret');
    for (const format of ['raw', 'condor'] as const) {
      for (const data of ['', '  \n '])
        expect(() => importedKeyBytes({ format, data })).toThrow(expect.objectContaining({ code: 'KEY_EMPTY', field: 'key.data' }));
    }
    for (const n of [4097, 8192]) expect(() => importedKeyBytes(sized(n))).toThrow(expect.objectContaining({ code: 'INVALID_KEY', field: 'key.data' }));
  });

  it('warns KEY_SHORT under 16 bytes, naming the length and never the bytes', () => {
    expect(SHORT_KEY_BYTES).toBe(16);
    expect(keyWarnings(Buffer.alloc(16))).toEqual([]);
    expect(keyWarnings(Buffer.alloc(64))).toEqual([]);
    const [w] = keyWarnings(Buffer.from('s3cret'));
    expect(w.code).toBe('KEY_SHORT');
    expect(w.message).toContain('6 byte');
    expect(w.message).not.toContain('s3cret');
    expect(keyWarnings(Buffer.from([7]))).toEqual([expect.objectContaining({ code: 'KEY_SHORT', message: expect.stringContaining('1 byte') })]);
  });
});
