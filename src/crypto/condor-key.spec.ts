import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deriveSigningKey, scramble, unscramble } from './condor-key.js';

interface Vector {
  name: string;
  kid: string;
  password_hex: string;
  password_len: number;
  scrambled_file_hex: string;
  hkdf_ikm_hex: string;
  derived_key_hex: string;
  checks: Record<string, unknown>;
}

// Read at load time on purpose: a missing vectors file fails the suite instead of skipping it.
const VECTORS: Vector[] = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../test/fixtures/idtoken-vectors.json'), 'utf8')).vectors;
const hex = (s: string) => Buffer.from(s, 'hex');
const vector = (name: string) => VECTORS.find((v) => v.name === name)!;

describe('condor-key', () => {
  it('has the four GlideinWMS vectors', () => {
    expect(VECTORS.map((v) => v.name)).toEqual(['pool-ascii', 'pool-binary', 'site-ascii', 'site-binary']);
  });

  describe.each(VECTORS.map((v) => [v.name, v] as const))('vector %s', (_name, v) => {
    const password = hex(v.password_hex);
    const scrambled = hex(v.scrambled_file_hex);

    it('scrambles the password to the passwords.d file byte for byte', () => {
      expect(password.length).toBe(v.password_len);
      expect(scramble(password).toString('hex')).toBe(v.scrambled_file_hex);
    });

    it('unscrambles the file back to the password', () => {
      expect(unscramble(scrambled).toString('hex')).toBe(v.password_hex);
    });

    it('derives the signing key', () => {
      expect(deriveSigningKey(password, v.kid).toString('hex')).toBe(v.derived_key_hex);
    });

    it('feeds HKDF the password, doubled only for POOL', () => {
      // hkdf_ikm is what token_util.py gave HKDF: a non-POOL kid takes its ikm as is.
      expect(deriveSigningKey(hex(v.hkdf_ikm_hex), 'not-pool').toString('hex')).toBe(v.derived_key_hex);
      const doubled = Buffer.concat([password, password]).toString('hex');
      expect(v.hkdf_ikm_hex).toBe(v.kid === 'POOL' ? doubled : v.password_hex);
    });

    it('gives a different key when derived from the still-scrambled file bytes', () => {
      expect(v.checks.still_scrambled_key_rejected).toBe(true);
      expect(deriveSigningKey(scrambled, v.kid).toString('hex')).not.toBe(v.derived_key_hex);
    });

    it("leaves the caller's bytes untouched", () => {
      const copy = Buffer.from(password);
      deriveSigningKey(copy, v.kid);
      expect(copy.toString('hex')).toBe(v.password_hex);
    });
  });

  it.each(VECTORS.filter((v) => v.kid === 'POOL').map((v) => [v.name, v] as const))(
    '%s: the POOL password derived without doubling gives another key',
    (_name, v) => {
      expect(v.checks.pool_key_not_doubled_rejected).toBe(true);
      const notDoubled = deriveSigningKey(hex(v.password_hex), 'el7_osg35').toString('hex');
      expect(notDoubled).not.toBe(v.derived_key_hex);
      expect(notDoubled).toBe(vector(v.name.replace('pool', 'site')).derived_key_hex);
    },
  );

  it('keeps embedded NUL and newline bytes (pool-binary: nothing trimmed)', () => {
    const v = vector('pool-binary');
    const raw = unscramble(hex(v.scrambled_file_hex));
    expect(raw.length).toBe(57);
    expect(raw[0]).toBe(0x00);
    expect(raw[2]).toBe(0x0a);
    expect(raw.subarray(-4).toString('hex')).toBe('f9a12164');
    expect(deriveSigningKey(raw, 'POOL').toString('hex')).toBe(v.derived_key_hex);
    // A reader that stops at the first NUL or strips newlines would derive something else.
    expect(deriveSigningKey(raw.subarray(0, raw.indexOf(0)), 'POOL').toString('hex')).not.toBe(v.derived_key_hex);
    const stripped = Buffer.from([...raw].filter((b) => b !== 0x0a && b !== 0x00));
    expect(deriveSigningKey(stripped, 'POOL').toString('hex')).not.toBe(v.derived_key_hex);
  });

  it('scramble is its own inverse on arbitrary lengths', () => {
    const bytes = Buffer.from(Array.from({ length: 7 }, (_, i) => i * 37));
    expect(scramble(bytes).toString('hex')).toBe('de88f4804a1460');
    expect(unscramble(scramble(bytes)).equals(bytes)).toBe(true);
  });
});
