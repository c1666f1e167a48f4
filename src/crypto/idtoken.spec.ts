import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IdTokenClaims, idTokenHeader, idTokenPayload, idTokenSignedBy, importSigningKey, parseIdToken, signIdToken } from './idtoken.js';

interface Vector {
  name: string;
  kid: string;
  derived_key_hex: string;
  header_json: string;
  payload_json: string;
  claims_input: { sub: string; iss: string; iat: number; duration: number; jti: string; scope: string };
  signing_input: string;
  signature_hex: string;
  jwt: string;
}

// Read at load time on purpose: a missing vectors file fails the suite instead of skipping it.
const VECTORS: Vector[] = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../test/fixtures/idtoken-vectors.json'), 'utf8')).vectors;
const b64u = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const claimsOf = ({ claims_input: c }: Vector): IdTokenClaims => ({
  sub: c.sub,
  iat: c.iat,
  nbf: c.iat,
  jti: c.jti,
  iss: c.iss,
  exp: c.iat + c.duration,
  scope: c.scope,
});
const hmac = (alg: string, key: Buffer, input: string) => createHmac(alg, key).update(input).digest('base64url');
/** A token over raw header/payload JSON text, HMAC'd independently of the code under test. */
const forge = (header: string, payload: string, key: Buffer, alg = 'sha256') => {
  const input = `${b64u(header)}.${b64u(payload)}`;
  return `${input}.${hmac(alg, key, input)}`;
};
/** Replaces the character at index i of a segment with a different base64url character. */
const flipChar = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

describe('idtoken', () => {
  it('has vectors', () => expect(VECTORS).toHaveLength(4));

  describe.each(VECTORS.map((v) => [v.name, v] as const))('vector %s', (_name, v) => {
    const raw = Buffer.from(v.derived_key_hex, 'hex');
    const [h, p, s] = v.jwt.split('.');

    it('builds the exact header and payload JSON', () => {
      expect(JSON.stringify(idTokenHeader(v.kid))).toBe(v.header_json);
      expect(idTokenPayload(claimsOf(v))).toBe(v.payload_json);
    });

    it('signs to the exact reference token', async () => {
      const jwt = await signIdToken(v.kid, claimsOf(v), await importSigningKey(raw));
      expect(jwt).toBe(v.jwt);
      expect(jwt.slice(0, jwt.lastIndexOf('.'))).toBe(v.signing_input);
      expect(Buffer.from(jwt.split('.')[2], 'base64url').toString('hex')).toBe(v.signature_hex);
    });

    it('matches an independent HMAC-SHA256 over <header>.<payload>', () => {
      expect(hmac('sha256', raw, `${h}.${p}`)).toBe(s);
    });

    it('verifies the reference token and parses its claims', async () => {
      await expect(idTokenSignedBy(v.jwt, await importSigningKey(raw))).resolves.toBe(true);
      expect(parseIdToken(v.jwt)).toEqual({ header: JSON.parse(v.header_json), claims: JSON.parse(v.payload_json) });
    });

    it('rejects a tampered payload, a tampered signature and another key', async () => {
      const key = await importSigningKey(raw);
      await expect(idTokenSignedBy(`${h}.${flipChar(p, 10)}.${s}`, key)).resolves.toBe(false);
      await expect(idTokenSignedBy(`${h}.${p}.${flipChar(s, 5)}`, key)).resolves.toBe(false);
      const other = Buffer.from(raw);
      other[0] ^= 1;
      await expect(idTokenSignedBy(v.jwt, await importSigningKey(other))).resolves.toBe(false);
      await expect(idTokenSignedBy(forge(v.header_json, v.payload_json, other), key)).resolves.toBe(false);
    });

    it('accepts only HS256', async () => {
      const key = await importSigningKey(raw);
      // Control: the same hand-made construction with HS256 verifies, so the negatives below are about alg.
      await expect(idTokenSignedBy(forge(v.header_json, v.payload_json, raw), key)).resolves.toBe(true);
      const hs384 = JSON.stringify({ alg: 'HS384', kid: v.kid, typ: 'JWT' });
      await expect(idTokenSignedBy(forge(hs384, v.payload_json, raw, 'sha384'), key)).resolves.toBe(false);
      const none = `${b64u(JSON.stringify({ alg: 'none', kid: v.kid, typ: 'JWT' }))}.${p}.`;
      await expect(idTokenSignedBy(none, key)).resolves.toBe(false);
      expect(parseIdToken(none)).toBeUndefined();
    });
  });

  describe('parseIdToken', () => {
    const v = VECTORS[0];
    const [h, p, s] = v.jwt.split('.');
    const withHeader = (header: string) => `${b64u(header)}.${p}.${s}`;
    const withPayload = (payload: string) => `${h}.${b64u(payload)}.${s}`;

    it('refuses malformed structure and headers', async () => {
      expect(parseIdToken(`${h}.${p}`)).toBeUndefined();
      await expect(idTokenSignedBy(`${h}.${p}`, await importSigningKey(Buffer.from(v.derived_key_hex, 'hex')))).resolves.toBe(false);
      expect(parseIdToken(`${h}.${p}.${s}.${s}`)).toBeUndefined();
      expect(parseIdToken(withHeader('not json'))).toBeUndefined();
      expect(parseIdToken(withHeader('["HS256"]'))).toBeUndefined();
      expect(parseIdToken(withHeader('{"alg":"HS256","typ":"JWT"}'))).toBeUndefined();
      expect(parseIdToken(withHeader('{"alg":"HS256","kid":"","typ":"JWT"}'))).toBeUndefined();
      expect(parseIdToken(withHeader('{"alg":"HS256","kid":7,"typ":"JWT"}'))).toBeUndefined();
      expect(parseIdToken(withHeader('{"alg":"HS256","kid":"POOL"}'))).toEqual({ header: { alg: 'HS256', kid: 'POOL' }, claims: JSON.parse(v.payload_json) });
    });

    it('refuses non-integer and non-numeric dates', () => {
      const payload = (iat: string) => v.payload_json.replace('"iat":1700000000', `"iat":${iat}`);
      expect(payload('X')).not.toBe(v.payload_json);
      expect(parseIdToken(withPayload(payload('1700000000.5')))).toBeUndefined();
      expect(parseIdToken(withPayload(payload('"1700000000"')))).toBeUndefined();
      expect(parseIdToken(withPayload(payload('null')))).toBeUndefined();
    });

    it('refuses dates HTCondor cannot parse even though JSON.parse makes them integers', () => {
      // htcondor-idtokens.md: "1.7e9 or 1700000000.0 makes HTCondor's parser fail".
      const payload = (iat: string) => v.payload_json.replace('"iat":1700000000', `"iat":${iat}`);
      expect(parseIdToken(withPayload(payload('1.7e9')))).toBeUndefined();
      expect(parseIdToken(withPayload(payload('1700000000.0')))).toBeUndefined();
      expect(parseIdToken(withPayload(v.payload_json.replace('"exp":1700086400', '"exp":1.5e9')))).toBeUndefined();
    });

    it('checks the top-level date itself, not a nested member of the same name', () => {
      // A nested "exp":5 used to satisfy the text check for a top-level exp written 1.8e9.
      const nestedAfter = v.payload_json.replace('"exp":1700086400', '"exp":1.8e9').replace(/}$/, ',"x":{"exp":5}}');
      const nestedBefore = v.payload_json.replace('{', '{"x":{"exp":5},').replace('"exp":1700086400', '"exp":1.8e9');
      const inArray = v.payload_json.replace('"iat":1700000000', '"iat":1.7e9').replace(/}$/, ',"y":[{"iat":1}]}');
      for (const p of [nestedAfter, nestedBefore, inArray]) {
        expect(JSON.parse(p).x?.exp ?? JSON.parse(p).y[0].iat).toBeLessThan(10);
        expect(parseIdToken(withPayload(p))).toBeUndefined();
      }
      // Control: the same nesting with an integer top-level exp parses.
      expect(parseIdToken(withPayload(v.payload_json.replace(/}$/, ',"x":{"exp":5}}')))?.claims.exp).toBe(1700086400);
    });

    it('refuses a payload naming a claim twice (JSON.parse keeps the last, other parsers the first)', () => {
      expect(parseIdToken(withPayload(v.payload_json.replace(/}$/, ',"exp":1700086401}')))).toBeUndefined();
      expect(parseIdToken(withPayload(v.payload_json.replace(/}$/, ',"sub":"other@example.org"}')))).toBeUndefined();
    });
  });

  describe('idTokenPayload', () => {
    const base = claimsOf(VECTORS[0]);
    it('throws TypeError for non-integer dates', () => {
      expect(() => idTokenPayload({ ...base, iat: 1.7e9 + 0.5 })).toThrow(new TypeError('iat must be an integer'));
      expect(() => idTokenPayload({ ...base, exp: 1700086400.25 })).toThrow(new TypeError('exp must be an integer'));
      expect(() => idTokenPayload({ ...base, nbf: Number.NaN })).toThrow(new TypeError('nbf must be an integer'));
      expect(() => idTokenPayload({ ...base, iat: '1700000000' as unknown as number })).toThrow(new TypeError('iat must be an integer'));
    });
  });
});
