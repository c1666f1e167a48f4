import { DataSource, EntityManager } from 'typeorm';

/**
 * The one way services reach the database.
 *
 * On PostgreSQL each transaction gets its own pooled connection. SQLite has one connection that
 * TypeORM shares between callers, so two transactions in flight would interleave their statements;
 * here every unit of work on SQLite runs alone, in arrival order.
 */
export class Db {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly serial: boolean;

  constructor(readonly dataSource: DataSource) {
    this.serial = dataSource.options.type !== 'postgres';
  }

  get isPostgres(): boolean {
    return !this.serial;
  }

  /** Runs `fn` in one transaction: all of its writes land together or not at all. */
  tx<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.dataSource.transaction(fn));
  }

  /** Runs reads that must not observe another caller's uncommitted writes. */
  read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.serial ? this.exclusive(() => fn(this.dataSource.manager)) : fn(this.dataSource.manager);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.serial) return fn();
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
