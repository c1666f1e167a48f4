import { closeSync, constants, existsSync, fsyncSync, openSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Settings } from '../config/settings.js';

/** The little of better-sqlite3 a backup needs (the package ships no types). */
interface SqliteDb {
  prepare(sql: string): { run(...params: unknown[]): unknown; get(...params: unknown[]): unknown };
  pragma(sql: string, opts?: { simple: boolean }): unknown;
  close(): void;
}
type SqliteCtor = new (path: string, opts?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => SqliteDb;

/** A backup that cannot be made as asked: the message says why and what to do instead. */
export class BackupError extends Error {}

function fsyncPath(path: string, flags = constants.O_RDONLY): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A consistent copy of the SQLite database, taken while the service runs (VACUUM INTO reads one
 * snapshot). The destination is created owner-only (0600) before anything is written to it, since
 * a copy of the database is a copy of every sealed secret, and an existing file is never replaced.
 */
export function backupSqlite(settings: Settings, dest: string): string {
  if (settings.config.database.url) {
    throw new BackupError(
      'database.url names a PostgreSQL database: back it up with pg_dump under an owner-only umask, e.g. ' +
        '(umask 077 && pg_dump --format=custom --file=/backup/glidekey.pgdump "$GLIDEKEY_DATABASE_URL"), and master.key separately',
    );
  }
  const target = resolve(dest);
  if (!existsSync(settings.sqlitePath)) throw new BackupError(`there is no database at ${settings.sqlitePath}`);
  if (!existsSync(dirname(target))) throw new BackupError(`${dirname(target)} does not exist`);
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError(`${target} exists: refusing to overwrite it; name a new file`);
    throw err;
  }
  closeSync(fd);
  const Database = createRequire(import.meta.url)('better-sqlite3') as SqliteCtor;
  try {
    const db = new Database(settings.sqlitePath, { fileMustExist: true, timeout: 10_000 });
    try {
      // VACUUM INTO writes into an existing file only if it is empty: the one just created, 0600.
      db.prepare('VACUUM INTO ?').run(target);
    } finally {
      db.close();
    }
    const copy = new Database(target, { readonly: true, fileMustExist: true });
    try {
      const ok = copy.pragma('quick_check', { simple: true });
      if (ok !== 'ok') throw new BackupError(`the copy at ${target} failed its check (${String(ok)})`);
    } finally {
      copy.close();
    }
    fsyncPath(target, constants.O_RDWR);
    fsyncPath(dirname(target));
  } catch (err) {
    unlinkSync(target);
    throw err;
  }
  return target;
}
