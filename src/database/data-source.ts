import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataSource, DataSourceOptions, MigrationInterface } from 'typeorm';
import { Settings } from '../config/settings.js';
import { ENTITIES } from './entities.js';

const MIGRATION_LOCK = 0x676b6d69; // 'gkmi'

type MigrationClass = new () => MigrationInterface;

/**
 * The migrations in migrations/: compiled to dist/migrations beside the service, or read as
 * TypeScript from the top-level folder under jest. Loaded in name (epoch) order.
 */
export async function loadMigrations(): Promise<MigrationClass[]> {
  const built = resolve(import.meta.dirname, '..', 'migrations');
  const dir = existsSync(built) ? built : resolve(import.meta.dirname, '..', '..', 'migrations');
  const files = readdirSync(dir)
    .filter((f) => /^\d{13}-[A-Za-z0-9]+\.(js|ts)$/.test(f))
    .sort();
  const classes: MigrationClass[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(resolve(dir, f)).href)) as Record<string, unknown>;
    classes.push(...(Object.values(mod).filter((v) => typeof v === 'function') as MigrationClass[]));
  }
  return classes;
}

export async function dataSourceOptions(settings: Settings): Promise<DataSourceOptions> {
  const common = { entities: ENTITIES, migrations: await loadMigrations(), synchronize: false, logging: false, migrationsTransactionMode: 'each' as const };
  const url = settings.config.database.url;
  if (url) {
    return { ...common, type: 'postgres', url, poolSize: 10, applicationName: 'glidekey' };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    database: settings.sqlitePath,
    enableWAL: true,
    timeout: 10_000,
    // FULL: a commit is on disk before the caller hears of it, power loss included.
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma(`synchronous = ${settings.config.database.sqliteSynchronous}`);
      // SQLite's automatic checkpoint runs inside the COMMIT statement that crossed its threshold,
      // and its I/O error becomes that COMMIT's error although the transaction is committed: a
      // write would be refused (503) and yet be there. Db checkpoints itself, apart from any COMMIT.
      db.pragma('wal_autocheckpoint = 0');
    },
  };
}

/** Opens the database and applies every pending migration. */
export async function openDatabase(settings: Settings): Promise<DataSource> {
  if (!settings.config.database.url && !existsSync(settings.sqlitePath)) {
    // SQLite gives its -wal and -shm files the database file's mode: create it owner-only.
    closeSync(openSync(settings.sqlitePath, 'wx', 0o600));
  }
  const ds = new DataSource(await dataSourceOptions(settings));
  await ds.initialize();
  try {
    if (ds.options.type === 'postgres') {
      // Several replicas may start at once: one applies the migrations, the others wait for it.
      const qr = ds.createQueryRunner();
      await qr.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await ds.runMigrations({ transaction: 'each' });
      } finally {
        await qr.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
        await qr.release();
      }
    } else {
      await ds.runMigrations({ transaction: 'each' });
    }
  } catch (err) {
    await ds.destroy();
    throw err;
  }
  return ds;
}
