import { existsSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../common/atomic-file.js';

export class MasterKeyError extends Error {}

/** Reads a master key file: 32 raw bytes, or 32 bytes in base64 on one line. Refuses loose permissions. */
export function readMasterKey(path: string): Buffer {
  const st = statSync(path);
  if (!st.isFile()) throw new MasterKeyError(`master key ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new MasterKeyError(`master key ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  const content = readFileSync(path);
  if (content.length === 32) return content;
  const text = content.toString('utf8').trim();
  content.fill(0);
  const key = /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) throw new MasterKeyError(`master key ${path} must hold 32 bytes (raw, or base64 on one line)`);
  return key;
}

/** Creates a new random master key file (base64, mode 0600). Refuses to overwrite. */
export function createMasterKey(path: string): Buffer {
  if (existsSync(path)) throw new MasterKeyError(`refusing to overwrite existing master key ${path}`);
  // Straight from Node's CSPRNG, as Random.keyBytes draws a long-lived secret; made before the container exists.
  const key = randomBytes(32);
  writeFileAtomic(path, key.toString('base64') + '\n', 0o600);
  return key;
}
