import { Worker } from 'node:worker_threads';
import { StorageUnavailableError } from '../common/errors.js';

/**
 * One unit of a group commit (Db.batch): an optional guard, and the rows written only if it held.
 * SQL is written with `?` placeholders and every value bound; table and column names are fixed
 * identifiers from our own code, never input.
 */
export interface BatchUnit {
  /**
   * `row`: holds if the SELECT returns a row (asked once per batch for the same statement and
   * values); `changed`: holds if the UPDATE changed a row. `lock: 'share'` reads the row FOR SHARE
   * on PostgreSQL (a writer holding it FOR UPDATE waits for this commit, or we see its change).
   */
  guard?: { sql: string; params: readonly unknown[]; holds: 'row' | 'changed'; lock?: 'share' };
  inserts: readonly BatchInsert[];
}

export interface BatchInsert {
  table: string;
  columns: readonly string[];
  rows: readonly (readonly unknown[])[];
}

/** What a batch did: the indexes of the units whose guard held (their rows are written), and whether anything changed. */
export interface BatchResult {
  won: number[];
  wrote: boolean;
}

type Reply = { id: number; won: number[]; wrote: boolean } | { id: number; error: { kind: 'uncertain' | 'state' | 'sqlite'; code?: string; message: string } };

/** The single-row INSERT a worker prepares once per table and column list. */
export const insertSql = (i: Pick<BatchInsert, 'table' | 'columns'>) =>
  `INSERT INTO ${i.table} (${i.columns.join(', ')}) VALUES (${i.columns.map(() => '?').join(', ')})`;

/**
 * The worker thread that writes Db.batch's transactions on SQLite (batch-writer.worker.mjs), with
 * its own connection to the database file. Started on the first batch, so commands that never group
 * commit never start it; it does not keep the process alive while idle. If it dies, every batch it
 * held fails as uncertain (it may have committed) and the next batch starts a new one.
 */
export class BatchWriter {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { done: (r: BatchResult) => void; fail: (e: unknown) => void }>();

  constructor(
    private readonly path: string,
    private readonly synchronous: number,
    private readonly busyTimeoutMs: number,
  ) {}

  run(units: readonly BatchUnit[]): Promise<BatchResult> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    const message = {
      id,
      units: units.map((u) => ({
        guard: u.guard ? [u.guard.sql, u.guard.params, u.guard.holds] : null,
        inserts: u.inserts.filter((i) => i.rows.length).map((i) => [insertSql(i), i.rows]),
      })),
    };
    return new Promise<BatchResult>((done, fail) => {
      this.waiting.set(id, { done, fail });
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage(message);
    });
  }

  /** Stops the worker once the batches it holds are answered; it closes its connection. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.ref();
      worker.postMessage({ close: true });
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./batch-writer.worker.mjs', import.meta.url), {
      workerData: { path: this.path, synchronous: this.synchronous, busyTimeoutMs: this.busyTimeoutMs },
    });
    worker.unref();
    worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (!this.waiting.size) worker.unref();
      if ('error' in r) w.fail(rebuild(r.error));
      else w.done({ won: r.won, wrote: r.wrote });
    });
    const lost = (why: string) => {
      if (this.worker === worker) this.worker = null;
      for (const [id, w] of this.waiting) {
        this.waiting.delete(id);
        w.fail(new StorageUnavailableError(`the SQLite writer thread ${why}: the write may or may not be on disk`, 5, 'COMMIT_UNCERTAIN'));
      }
    };
    worker.on('error', (err) => lost(`failed (${err.message.split('\n')[0].slice(0, 200)})`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    return worker;
  }
}

/** The worker's error as the main connection would have raised it (Db.tx then maps storage failures). */
function rebuild(e: { kind: 'uncertain' | 'state' | 'sqlite'; code?: string; message: string }): Error {
  if (e.kind === 'uncertain') return new StorageUnavailableError(e.message, 5, 'COMMIT_UNCERTAIN');
  if (e.kind === 'state') return new StorageUnavailableError(e.message);
  return Object.assign(new Error(e.message), { code: e.code });
}
