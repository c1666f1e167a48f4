import { QueryFailedError } from 'typeorm';
import { DomainError, StorageUnavailableError } from '../common/errors.js';
import { describe as describeError } from '../common/exception.filter.js';
import { asStorageError, storageFailure } from './storage-errors.js';

const sqlite = (code: string, message: string) => Object.assign(new Error(message), { code });
const failed = (driverError: Error) => new QueryFailedError('INSERT INTO "sites" VALUES (?)', ['secret-value'], driverError);

describe(storageFailure.name, () => {
  it.each([
    ['SQLite full', failed(sqlite('SQLITE_FULL', 'database or disk is full'))],
    ['SQLite I/O error (extended code)', failed(sqlite('SQLITE_IOERR_WRITE', 'disk I/O error'))],
    ['SQLite read-only', failed(sqlite('SQLITE_READONLY', 'attempt to write a readonly database'))],
    ['SQLite busy after the timeout', sqlite('SQLITE_BUSY', 'database is locked')],
    ['SQLite cannot open', sqlite('SQLITE_CANTOPEN', 'unable to open database file')],
    ['a key file on a full disk', sqlite('ENOSPC', 'ENOSPC: no space left on device, open')],
    ['a read-only file system', sqlite('EROFS', 'EROFS: read-only file system')],
    ['PostgreSQL refused', sqlite('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['PostgreSQL gone mid-query', failed(new Error('Connection terminated unexpectedly'))],
    ['PostgreSQL shutting down', failed(sqlite('57P01', 'terminating connection due to administrator command'))],
    ['PostgreSQL disk full', failed(sqlite('53100', 'could not extend file'))],
  ])('%s is a storage failure: 503 STORAGE_UNAVAILABLE, no internals', (_what, err) => {
    expect(storageFailure(err)).toBeDefined();
    const e = asStorageError(err);
    expect(e).toBeInstanceOf(StorageUnavailableError);
    const d = describeError(e);
    expect([d.status, d.code]).toEqual([503, 'STORAGE_UNAVAILABLE']);
    expect(d.message).not.toMatch(/secret|sqlite|ECONN|ENOSPC|EROFS|INSERT|disk/i);
    expect((e as StorageUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // The log's reason has the driver's code, never the query or its parameters.
    expect((e as StorageUnavailableError).reason).not.toMatch(/secret-value|INSERT/);
  });

  it.each([
    ['a unique violation', failed(sqlite('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: sites.name'))],
    ['a PostgreSQL unique violation', failed(sqlite('23505', 'duplicate key value'))],
    ['a domain error', new DomainError('SITE_NOT_FOUND', 'no site named x')],
    ['a bug', new TypeError('x is undefined')],
  ])('%s is not', (_what, err) => {
    expect(storageFailure(err)).toBeUndefined();
    expect(asStorageError(err)).toBe(err);
  });
});
