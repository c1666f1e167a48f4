import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { localError } from './exit-codes.js';

const API_KEY = /^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

/**
 * Reads a file that holds a secret, refusing one that group or others may read or write (as
 * HTCondor refuses a loose passwords.d file): a key left readable is a key already shared. The
 * mode is read from the open descriptor, so the checked file is the one read.
 */
export function readSecretFile(path: string, what: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw localError(`cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw localError(`the ${what} file ${path} is not a regular file`);
    const mode = st.mode & 0o777;
    if (mode & 0o077) {
      throw localError(
        `the ${what} file ${path} is open to group or others (mode ${mode.toString(8).padStart(4, '0')}): refusing to use it; chmod 600 ${path}`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && uid !== 0 && st.uid !== uid) throw localError(`the ${what} file ${path} is not owned by you: refusing to use it`);
    return readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
}

/** A glidekey API key from a 0600 file; its shape is checked, its value never printed. */
export function readApiKeyFile(path: string, what = 'API key'): string {
  const key = readSecretFile(path, what);
  if (!API_KEY.test(key)) throw localError(`the ${what} file ${path} does not hold a glidekey API key (gk_<16 hex>_<43 characters>)`);
  return key;
}
