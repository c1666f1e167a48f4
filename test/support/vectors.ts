import { createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from './service.js';

export interface Vector {
  name: string;
  kid: string;
  password_hex: string;
  scrambled_file_hex: string;
  derived_key_hex: string;
  jwt: string;
}

/** GlideinWMS's own IDTOKEN vectors: the repository's copy, so the suite runs on a clone with nothing beside it. */
export const VECTORS_FILE = resolve(ROOT, 'test', 'fixtures', 'idtoken-vectors.json');
/** Where the shared copy lives when ../shared is beside the repository (CI); the fixture must equal it. */
export const SHARED_VECTORS_FILE = resolve(ROOT, '..', 'shared', 'vectors', 'idtoken-vectors.json');
export const VECTORS: Vector[] = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')).vectors;

export const vector = (name: string) => VECTORS.find((v) => v.name === name)!;

/** Decodes a compact token's header and payload without checking anything. */
export function decodeToken(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: Buffer } {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
    signature: Buffer.from(s, 'base64url'),
  };
}

/** What a collector does with a passwords.d file: unscramble, HKDF, HMAC the signing input. */
export function collectorAccepts(token: string, keyFile: Buffer, kid: string): boolean {
  const raw = Buffer.from(keyFile.map((b, i) => b ^ [0xde, 0xad, 0xbe, 0xef][i % 4]));
  const ikm = kid === 'POOL' ? Buffer.concat([raw, raw]) : raw;
  const key = Buffer.from(hkdfSync('sha256', ikm, 'htcondor', 'master jwt', 32));
  const [h, p, s] = token.split('.');
  const { payload } = decodeToken(token);
  const fresh = typeof payload.exp !== 'number' || Math.floor(Date.now() / 1000) <= payload.exp;
  return createHmac('sha256', key).update(`${h}.${p}`).digest('base64url') === s && fresh;
}
