import { Logger } from '@nestjs/common';
import { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { StorageUnavailableError } from '../common/errors.js';
import { MetaEntry } from './meta.entity.js';
import { asStorageError, storageFailure } from './storage-errors.js';
import { assertStillWritable } from '../common/atomic-file.js';
import type { DomainEvent } from '../events/events.js';
import { BatchResult, BatchUnit, BatchWriter, insertSql } from './batch-writer.js';
import { bulkInsert } from './bulk-insert.js';

/** The better-sqlite3 handle under TypeORM's driver: `inTransaction` is SQLite's own answer (not autocommit). */
interface SqliteHandle {
  readonly inTransaction: boolean;
  readonly name: string;
  exec(sql: string): unknown;
  prepare(sql: string): { pluck(): { get(): unknown } };
  pragma(sql: string, options?: { simple: boolean }): unknown;
}

/** The shared runner's bookkeeping, which TypeORM keeps apart from SQLite's real state. */
type RunnerState = Omit<QueryRunner, 'isTransactionActive'> & { isTransactionActive: boolean; transactionDepth: number };

/** The row the write probe touches. */
const PROBE = 'storage.write-probe';

/** After a storage failure, /readyz tries a write at most this often (and not before this long has passed). */
const PROBE_INTERVAL_MS = 1_000;

/** Writes must have worked for this long since the last storage failure before /readyz says ready again (a full disk lets some small writes through). */
const STABLE_MS = 3_000;

/** With no write committed for this long, /readyz tries one itself: a disk that turned read-only while idle shows too. */
const IDLE_PROBE_MS = 10_000;

/** A committed write is checkpointed into the database file within this long (SQLite's own is off: see data-source.ts). */
const CHECKPOINT_DELAY_MS = 500;

/**
 * The one way services reach the database.
 *
 * On PostgreSQL each transaction gets its own pooled connection. SQLite has one connection that
 * TypeORM shares between callers, so two transactions in flight would interleave their statements;
 * here every unit of work on SQLite runs alone, in arrival order.
 *
 * On SQLite the transaction's boundaries are driven here, on the better-sqlite3 handle, not by
 * TypeORM's runner: when a COMMIT fails with SQLITE_FULL, SQLITE_IOERR or SQLITE_READONLY, SQLite
 * may already have rolled back (or may not), while TypeORM's runner goes on believing a transaction
 * is open; its next transaction becomes a savepoint inside a transaction that nothing ever commits,
 * and every later write is acknowledged but lost at restart. So: each unit begins with a real
 * `BEGIN IMMEDIATE` (which fails if the connection were somehow still inside a transaction), is
 * acknowledged only after `COMMIT` returned and SQLite says it is out of the transaction, and after
 * any failure the connection is rolled back until SQLite says it is out, and the runner's state reset.
 */
export class Db {
  private readonly log = new Logger('database');
  /** SQLite: the main connection's queue (every transaction and read on it, in arrival order). */
  private tail: Promise<unknown> = Promise.resolve();
  /** SQLite: the write lock's queue (main-connection transactions and the writer thread's batches, in arrival order). */
  private writeTail: Promise<unknown> = Promise.resolve();
  private writer: BatchWriter | null = null;
  private readonly serial: boolean;
  /** Set by a storage failure of a write, cleared by a write that commits STABLE_MS or more after the last failure. */
  private writeFailure: { reason: string; at: number } | null = null;
  /** When a write last committed (or the idle probe last ran), on the monotonic clock. */
  private lastWrite = performance.now();
  private totalChanges?: { get(): unknown };
  /** The events each open transaction has published, by its EntityManager. */
  private readonly pending = new WeakMap<EntityManager, DomainEvent[]>();
  private sink: (events: DomainEvent[]) => Promise<void> = async () => undefined;
  private checkpointTimer: NodeJS.Timeout | null = null;

  constructor(readonly dataSource: DataSource) {
    this.serial = dataSource.options.type !== 'postgres';
    if (this.serial && dataSource.isInitialized) dataSource.subscribers.push(this.lostTransactionGuard());
  }

  get isPostgres(): boolean {
    return !this.serial;
  }

  /**
   * Runs `fn` in one transaction: all of its writes land together or not at all; it resolves only
   * once they are committed and the events it published have been handed to the subscribers.
   */
  tx<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    const events: DomainEvent[] = [];
    const body = (m: EntityManager) => {
      this.pending.set(m, events);
      return fn(m).finally(() => this.pending.delete(m));
    };
    const run = this.serial
      ? this.writeExclusive(() => this.exclusive(() => this.sqliteTx(body)))
      : this.dataSource.transaction(body).then((v) => ({ v, wrote: true }));
    return this.settled(run).then(async (v) => {
      // Outside the SQLite queue: a subscriber's own transaction must not wait behind this one.
      if (events.length) await this.sink(events);
      return v;
    });
  }

  /**
   * A group commit's transaction: each unit's guard in order, then the rows of the units whose guard
   * held; resolves (with their indexes) once committed. On SQLite the batch is written by a worker
   * thread with its own connection (BatchWriter), so the main thread serves requests during the
   * statements and the COMMIT's fsync; it queues with the main connection's transactions for the
   * write lock but not with its reads, which see only committed rows. On PostgreSQL it is one
   * pooled transaction. Publishes no events.
   */
  batch(units: readonly BatchUnit[]): Promise<Set<number>> {
    if (!units.length) return Promise.resolve(new Set());
    const run = this.serial
      ? this.writeExclusive(() => this.batchWriter().run(units)).then((r) => ({ v: new Set(r.won), wrote: r.wrote }))
      : this.dataSource.transaction((m) => this.pgBatch(m, units)).then((r) => ({ v: new Set(r.won), wrote: true }));
    return this.settled(run);
  }

  /** Stops the SQLite writer thread (after the batches it holds) and closes the database. */
  async close(): Promise<void> {
    await this.writeTail;
    await this.writer?.close();
    this.writer = null;
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /** A write's outcome: readiness bookkeeping, and storage failures as StorageUnavailableError. */
  private settled<T>(run: Promise<{ v: T; wrote: boolean }>): Promise<T> {
    return run.then(
      ({ v, wrote }) => {
        // Only a commit that wrote something shows the disk takes writes again.
        if (wrote) {
          const now = performance.now();
          if (this.writeFailure && now - this.writeFailure.at >= STABLE_MS) this.writeFailure = null;
          this.lastWrite = now;
          if (this.serial) this.planCheckpoint();
        }
        return v;
      },
      (err: unknown) => {
        const e = asStorageError(err);
        if (e instanceof StorageUnavailableError) this.writeFailure = { reason: e.reason, at: performance.now() };
        throw e;
      },
    );
  }

  private batchWriter(): BatchWriter {
    if (!this.writer) {
      const synchronous = Number(this.sqlite.pragma('synchronous', { simple: true }));
      const timeout = (this.dataSource.options as { timeout?: number }).timeout ?? 10_000;
      this.writer = new BatchWriter(this.sqlite.name, synchronous, timeout);
    }
    return this.writer;
  }

  /** Db.batch on PostgreSQL: the guards one by one (a `row` guard once per statement and values), then each table's rows in one INSERT. */
  private async pgBatch(m: EntityManager, units: readonly BatchUnit[]): Promise<BatchResult> {
    const runner = m.queryRunner;
    if (!runner) throw new Error('Db.batch: the transaction has no query runner');
    const numbered = (sql: string) => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    const won: number[] = [];
    const rowGuards = new Map<string, boolean>();
    for (const [i, u] of units.entries()) {
      const g = u.guard;
      if (!g) {
        won.push(i);
        continue;
      }
      const sql = numbered(g.sql) + (g.lock === 'share' ? ' FOR SHARE' : '');
      if (g.holds === 'row') {
        const key = `${sql}\u0000${JSON.stringify(g.params)}`;
        let found = rowGuards.get(key);
        if (found === undefined) rowGuards.set(key, (found = ((await runner.query(sql, [...g.params])) as unknown[]).length > 0));
        if (found) won.push(i);
      } else if ((await runner.query(sql, [...g.params], true)).affected) won.push(i);
    }
    // Each table's rows in one INSERT, in the order of the units that won.
    const tables = new Map<string, { table: string; columns: readonly string[]; rows: unknown[][] }>();
    for (const i of won) {
      for (const ins of units[i].inserts) {
        const key = insertSql(ins);
        let t = tables.get(key);
        if (!t) tables.set(key, (t = { table: ins.table, columns: ins.columns, rows: [] }));
        for (const r of ins.rows) t.rows.push([...r]);
      }
    }
    for (const t of tables.values()) await bulkInsert(m, t.table, t.columns, t.rows);
    return { won, wrote: true };
  }

  /** Records an event of the transaction `m` runs in, for the subscribers once it commits (EventBus.publish). */
  publish(m: EntityManager, event: DomainEvent): void {
    const events = this.pending.get(m);
    if (!events) throw new Error(`event ${event.kind} published outside a transaction`);
    events.push(event);
  }

  /** Where committed transactions' events go (the EventBus). */
  afterCommit(sink: (events: DomainEvent[]) => Promise<void>): void {
    this.sink = sink;
  }

  /** Runs reads that must not observe another caller's uncommitted writes. */
  read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    const run = this.serial
      ? this.exclusive(async () => {
          try {
            return await fn(this.dataSource.manager);
          } finally {
            // A read through TypeORM's own transaction (a save() outside tx) that failed must not leave one open either.
            this.settle();
          }
        })
      : fn(this.dataSource.manager);
    return run.catch((err: unknown) => {
      throw asStorageError(err);
    });
  }

  /**
   * Whether writes are known to work: false from a write's storage failure until a write commits
   * with no failure for STABLE_MS before it.
   * While false, a small write (the probe) is tried at most once a second, so readiness comes back
   * by itself once the disk is writable again; with no write for a while, the probe runs too (at
   * most once per IDLE_PROBE_MS), so an idle service notices a disk that went read-only.
   */
  async writable(): Promise<{ ok: true } | { ok: false; reason: string }> {
    const failed = this.writeFailure;
    const now = performance.now();
    if (failed ? now - failed.at >= PROBE_INTERVAL_MS : now - this.lastWrite >= IDLE_PROBE_MS) {
      this.lastWrite = now;
      await this.tx((m) => m.upsert(MetaEntry, { name: PROBE, value: new Date().toISOString() }, ['name'])).catch(() => undefined);
    }
    const still = this.writeFailure;
    return still ? { ok: false, reason: still.reason } : { ok: true };
  }

  /**
   * Copies the WAL into the database file soon after writes, in the queue like a transaction but
   * apart from any COMMIT: its failure (the disk went away) is a storage failure for /readyz, never
   * the refusal of a write that committed.
   */
  private planCheckpoint(): void {
    if (this.checkpointTimer) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      void this.exclusive(async () => {
        if (!this.dataSource.isInitialized) return;
        try {
          this.sqlite.pragma('wal_checkpoint(PASSIVE)');
        } catch (err) {
          const reason = storageFailure(err);
          if (reason === undefined) throw err;
          this.writeFailure = { reason, at: performance.now() };
          this.log.error({ reason }, 'checkpoint failed; committed writes stay in the WAL');
        }
      }).catch((err: unknown) => this.log.error({ err }, 'checkpoint failed'));
    }, CHECKPOINT_DELAY_MS);
    this.checkpointTimer.unref();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.serial) return fn();
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Holds SQLite's write lock for `fn`: taken before the main connection's queue (never the reverse), so the two queues cannot deadlock. */
  private writeExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeTail.then(fn, fn);
    this.writeTail = run.catch(() => undefined);
    return run;
  }

  private get sqlite(): SqliteHandle {
    return (this.dataSource.driver as unknown as { databaseConnection: SqliteHandle }).databaseConnection;
  }

  private async sqliteTx<T>(fn: (m: EntityManager) => Promise<T>): Promise<{ v: T; wrote: boolean }> {
    const conn = this.sqlite;
    const runner = this.dataSource.createQueryRunner() as RunnerState;
    this.settle();
    if (conn.inTransaction) throw new StorageUnavailableError('the SQLite connection could not leave a failed transaction');
    const changes = (this.totalChanges ??= conn.prepare('SELECT total_changes()').pluck());
    const before = Number(changes.get());
    conn.exec('BEGIN IMMEDIATE');
    // The runner must know it is inside a transaction: save() and friends then use savepoints, not BEGIN.
    runner.isTransactionActive = true;
    runner.transactionDepth = 1;
    try {
      const result = await fn(runner.manager);
      if (!conn.inTransaction) throw new StorageUnavailableError('SQLite ended the transaction before COMMIT');
      try {
        conn.exec('COMMIT');
      } catch (err) {
        const reason = storageFailure(err);
        if (reason === undefined) throw err;
        // The outcome of a COMMIT that failed on storage is unknown: a failed fsync leaves the WAL
        // frames, commit frame included, where recovery at the next open may find them, and on an
        // ext4 turning itself read-only a COMMIT refused with SQLITE_IOERR_WRITE was found committed
        // after the restart (2 of 30 fault runs). Only failures before COMMIT are definite refusals.
        throw new StorageUnavailableError(reason, 5, 'COMMIT_UNCERTAIN');
      }
      if (conn.inTransaction) throw new StorageUnavailableError('SQLite is still inside the transaction after COMMIT');
      // COMMIT's fsync succeeds on an ext4 that has just remounted itself read-only, without writing:
      // such a commit may not be on disk, so it is not acknowledged.
      try {
        assertStillWritable(conn.name);
      } catch {
        throw new StorageUnavailableError('the file system went read-only during COMMIT: the write may not be on disk', 5, 'COMMIT_UNCERTAIN');
      }
      return { v: result, wrote: Number(changes.get()) !== before };
    } finally {
      this.settle();
    }
  }

  /** Leaves the SQLite connection outside any transaction, whatever TypeORM's runner believes. */
  private settle(): void {
    const conn = this.sqlite;
    for (let attempt = 0; conn.inTransaction && attempt < 3; attempt++) {
      try {
        conn.exec('ROLLBACK');
      } catch (err) {
        this.log.error({ reason: storageFailure(err) ?? String((err as Error).message) }, 'ROLLBACK failed');
      }
    }
    if (conn.inTransaction) this.log.error('the SQLite connection is still inside a transaction; every write will fail until it is out');
    const runner = this.dataSource.driver.createQueryRunner('master') as RunnerState;
    runner.isTransactionActive = false;
    runner.transactionDepth = 0;
  }

  /**
   * Refuses any statement of a unit of work once SQLite has rolled its transaction back on its own
   * (it may, on SQLITE_FULL, IOERR or BUSY): a caller that caught that error and went on would
   * otherwise write in autocommit mode, piece by piece, outside the transaction.
   */
  private lostTransactionGuard(): EntitySubscriberInterface {
    return {
      beforeQuery: (event) => {
        const runner = event.queryRunner as RunnerState;
        if (runner.isTransactionActive && runner.transactionDepth > 0 && !this.sqlite.inTransaction) {
          throw new StorageUnavailableError('SQLite rolled the transaction back');
        }
      },
    };
  }
}
