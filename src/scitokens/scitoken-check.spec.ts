import { generateKeyPairSync } from 'node:crypto';
import { CompactSign, exportJWK } from 'jose';
import { DomainError } from '../common/errors.js';
import { checkSciToken, TrustedIssuer } from './scitoken-check.js';

const ISS = 'https://issuer.example.org';
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const NOW = 1_800_000_000_000;

/** A token over the exact payload text given, signed ES256 by the trusted key. */
const sign = (payload: string) => new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(key.privateKey);
const base = (exp: string, extra = '') => `{"iss":"${ISS}","sub":"u","ver":"scitoken:2.0","iat":1799999000,"exp":${exp}${extra}}`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof DomainError ? err.code : `threw ${String(err)}`;
  }
}

describe('checkSciToken: integer dates are read from the top-level members themselves', () => {
  let issuers: TrustedIssuer[];
  beforeAll(async () => {
    issuers = [{ issuer: ISS, jwks: { keys: [{ ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256' }] } }];
  });

  it('takes an integer exp (control), also beside a nested exp', async () => {
    await expect(codeOf(checkSciToken(await sign(base('1800003600')), issuers, NOW))).resolves.toBe('ok');
    await expect(codeOf(checkSciToken(await sign(base('1800003600', ',"x":{"exp":5}')), issuers, NOW))).resolves.toBe('ok');
  });

  it.each([
    ['exp 1.8e9 with a nested "exp":5 after it', base('1.8000036e9', ',"x":{"exp":5}')],
    ['exp 1.8e9 with a nested "exp":5 before it', base('1.8000036e9').replace('{', '{"x":{"exp":5},')],
    ['exp 1800003600.0', base('1800003600.0')],
    ['iat written 1.799999e9', base('1800003600').replace('"iat":1799999000', '"iat":1.799999e9')],
    ['exp named twice', base('1800003600', ',"exp":5')],
  ])('refuses %s: SCITOKEN_MALFORMED', async (_label, payload) => {
    await expect(codeOf(checkSciToken(await sign(payload), issuers, NOW))).resolves.toBe('SCITOKEN_MALFORMED');
  });
});
