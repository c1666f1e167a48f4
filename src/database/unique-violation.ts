import { DomainError } from '../common/errors.js';

/** PostgreSQL's unique_violation, and better-sqlite3's codes for a duplicate UNIQUE or PRIMARY KEY value. */
const UNIQUE_CODES = new Set(['23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/**
 * True when `err` is a unique-constraint violation on either engine (TypeORM's QueryFailedError
 * or the driver's own error): a concurrent create of the same row that passed the existence check.
 */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e.driverError?.code ?? e.code;
  return typeof code === 'string' && UNIQUE_CODES.has(code);
}

/**
 * For a promise's catch: a unique violation becomes the resource's own conflict (409 with its
 * code); any other error passes through unchanged.
 */
export const asConflict =
  (conflict: () => DomainError) =>
  (err: unknown): never => {
    throw isUniqueViolation(err) ? conflict() : err;
  };
