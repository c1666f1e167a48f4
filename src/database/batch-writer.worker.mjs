// The SQLite side of Db.batch, in a worker thread with its own connection to the database file.
//
// better-sqlite3 is synchronous: a COMMIT (its fsync, with synchronous=FULL) and the statements of a
// group commit block the thread they run on. Run on the main thread they stop every request for as
// long; here the main thread goes on parsing, checking and signing the next requests while this
// thread writes and waits for the disk. Plain JavaScript (not TypeScript) so that the same file runs
// from the sources under jest and from dist/ (nest-cli.json copies it there).
//
// One batch at a time, as the main thread sends them (Db serialises them with its own writes, so
// this connection never waits for the main one's write lock, and the reverse). Each batch is one
// transaction: BEGIN IMMEDIATE; every unit's guard in order (a row that must exist, or an UPDATE that
// must change a row); the rows of the units whose guard held; COMMIT. The reply comes after COMMIT
// has returned and SQLite says it is out of the transaction, exactly as Db.tx decides on the main
// connection (see db.ts for why each check is there): a failed COMMIT on storage is reported as
// uncertain, and a COMMIT on a file system that has just turned read-only is not acknowledged.
import { accessSync, constants } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** SQLite result codes that mean the storage failed (as in storage-errors.ts; extended codes match by prefix). */
const STORAGE = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL', 'SQLITE_NOLFS'];
const isStorage = (err) => typeof err?.code === 'string' && STORAGE.some((c) => err.code === c || err.code.startsWith(`${c}_`));

const { path, synchronous, busyTimeoutMs } = workerData;
const db = new Database(path, { fileMustExist: true, timeout: busyTimeoutMs });
// The same settings as the main connection (data-source.ts): WAL is the file's own mode already.
db.pragma(`synchronous = ${Number(synchronous)}`);
db.pragma('wal_autocheckpoint = 0');
db.pragma('foreign_keys = ON');
const totalChanges = db.prepare('SELECT total_changes()').pluck();

/** Prepared statements by SQL text: a batch's statements are the same few, every time. */
const statements = new Map();
const statement = (sql) => {
  let s = statements.get(sql);
  if (!s) {
    s = db.prepare(sql);
    statements.set(sql, s);
  }
  return s;
};
// better-sqlite3 cannot bind booleans (TypeORM turns them into 0/1 on the main connection too).
const bindable = (params) => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));

class StateError extends Error {}
class Uncertain extends Error {}

/** Leaves the connection outside any transaction (db.ts: settle). */
function settle() {
  for (let attempt = 0; db.inTransaction && attempt < 3; attempt++) {
    try {
      db.exec('ROLLBACK');
    } catch {
      // Tried again; reported below if it never worked.
    }
  }
}

/** Runs one batch; returns the indexes of the units whose guard held and whether anything was written. */
function run(units) {
  settle();
  if (db.inTransaction) throw new StateError('the SQLite connection could not leave a failed transaction');
  const before = Number(totalChanges.get());
  db.exec('BEGIN IMMEDIATE');
  try {
    const won = [];
    const guards = new Map();
    units.forEach((u, i) => {
      if (!u.guard) return won.push(i);
      const [sql, params, holds] = u.guard;
      if (holds === 'row') {
        // The same row asked for twice in a batch (mints of one key) is read once.
        const key = `${sql}\u0000${JSON.stringify(params)}`;
        let found = guards.get(key);
        if (found === undefined) guards.set(key, (found = statement(sql).get(...bindable(params)) !== undefined));
        if (found) won.push(i);
      } else if (statement(sql).run(...bindable(params)).changes > 0) won.push(i);
    });
    for (const i of won) {
      for (const [sql, rows] of units[i].inserts) {
        const s = statement(sql);
        for (const row of rows) s.run(...bindable(row));
      }
    }
    if (!db.inTransaction) throw new StateError('SQLite ended the transaction before COMMIT');
    try {
      db.exec('COMMIT');
    } catch (err) {
      if (!isStorage(err)) throw err;
      throw new Uncertain(`${err.code}: ${String(err.message).split('\n')[0].slice(0, 200)}`);
    }
    if (db.inTransaction) throw new StateError('SQLite is still inside the transaction after COMMIT');
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      if (err.code === 'EROFS') throw new Uncertain('the file system went read-only during COMMIT: the write may not be on disk');
    }
    return { won, wrote: Number(totalChanges.get()) !== before };
  } finally {
    settle();
  }
}

/** What the main thread rebuilds the error from: its kind, code and message (never a statement's values). */
function failure(err) {
  if (err instanceof Uncertain) return { kind: 'uncertain', message: err.message };
  if (err instanceof StateError) return { kind: 'state', message: err.message };
  return { kind: 'sqlite', code: typeof err?.code === 'string' ? err.code : undefined, message: String(err?.message ?? err) };
}

parentPort.on('message', (msg) => {
  if (msg.close) {
    settle();
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: msg.id, ...run(msg.units) });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: failure(err), inTransaction: db.inTransaction });
  }
});
