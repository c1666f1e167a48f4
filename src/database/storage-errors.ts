import { StorageUnavailableError } from '../common/errors.js';

/** SQLite result codes (primary, so extended codes such as SQLITE_IOERR_WRITE match) that mean the storage, not the request, failed. */
const SQLITE_STORAGE = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL', 'SQLITE_NOLFS'];

/** File-system errors of the same kind (a key file written to passwords.d on a full or read-only disk). */
const ERRNO_STORAGE = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);

/** Connection-level failures reaching PostgreSQL (or the pool). */
const NET_STORAGE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 53 (insufficient resources: disk full,
 * out of memory, too many connections), 57P01-57P03 (shut down, cannot connect now), 58030 (I/O
 * error), 25006 (read-only transaction: a standby).
 */
const isPgStorageState = (s: string) => /^(08|53)[0-9A-Z]{3}$/.test(s) || ['57P01', '57P02', '57P03', '58030', '25006'].includes(s);

/** What node-postgres throws, without a code, when the server goes away mid-query or a connection cannot be had. */
const PG_CONNECTION_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly)/i;

interface Coded {
  code?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
}

/** The storage failure behind `err` (its code and message: no query, no parameters), or undefined if `err` is something else. */
export function storageFailure(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let e = err as Coded | undefined; e && typeof e === 'object' && !seen.has(e); e = (e.driverError ?? e.cause) as Coded | undefined) {
    seen.add(e);
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    const is =
      SQLITE_STORAGE.some((c) => code === c || code.startsWith(`${c}_`)) ||
      ERRNO_STORAGE.has(code) ||
      NET_STORAGE.has(code) ||
      isPgStorageState(code) ||
      PG_CONNECTION_MESSAGE.test(message);
    if (is) return `${code || 'connection'}: ${message.split('\n')[0].slice(0, 200)}`;
  }
  return undefined;
}

/** `err` as a StorageUnavailableError when the storage failed; otherwise `err` itself. */
export function asStorageError(err: unknown): unknown {
  if (err instanceof StorageUnavailableError) return err;
  const reason = storageFailure(err);
  return reason === undefined ? err : new StorageUnavailableError(reason);
}
