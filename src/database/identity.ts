import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataSource, In } from 'typeorm';
import { writeFileAtomic } from '../common/atomic-file.js';
import { Settings } from '../config/settings.js';
import { MASTER_KEY_CHECK } from '../crypto/master-key.init.js';
import { MetaEntry } from './meta.entity.js';

/** The meta row holding this database's identity: a random id written once, at its first start. */
export const DATABASE_ID = 'database-id';

/** A start-up refusal: the data directory and the database do not belong together. */
export class DatabaseMismatchError extends Error {}

/** The host CLI found no initialised database where the configuration points, and was not told to create one. */
export class DatabaseMissingError extends Error {}

const NOT_CREATING =
  "the CLI creates a database (and its master key) only with --init; point GLIDEKEY_CONFIG or GLIDEKEY_DATA_DIR at the service's data, or pass --init for a new installation";

/** Refuses a database file that is not there yet, before anything creates it. */
export function requireSqliteFile(settings: Settings): void {
  if (!settings.config.database.url && !existsSync(settings.sqlitePath))
    throw new DatabaseMissingError(`there is no database at ${settings.sqlitePath}: ${NOT_CREATING}`);
}

/** Refuses a database that no service has initialised (PostgreSQL: its schema may just have been migrated, but it holds no identity or key). */
export async function requireInitialised(settings: Settings, ds: DataSource): Promise<void> {
  const initialised = await ds.getRepository(MetaEntry).countBy({ name: In([MASTER_KEY_CHECK, DATABASE_ID]) });
  if (initialised === 0) throw new DatabaseMissingError(`${describeDb(settings)} has never been initialised: ${NOT_CREATING}`);
}

/** Where the data directory records the identity of the database it belongs to. */
export const databaseIdFile = (settings: Settings) => resolve(settings.dataDir, 'database-id');

/** The files a previous life of the service leaves in the data directory. */
export const leftoverFiles = (settings: Settings) => ({
  adminKey: resolve(settings.dataDir, 'admin.key'),
  manifest: resolve(settings.dataDir, 'passwords-dir.json'),
});

function readId(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return readFileSync(path, 'utf8').trim() || undefined;
}

const describeDb = (settings: Settings) => (settings.config.database.url ? 'the PostgreSQL database (database.url)' : `the database ${settings.sqlitePath}`);

/**
 * Runs before anything is written to a new database: a new (empty) database beside files an
 * earlier one left (its master key, admin key, passwords.d manifest, identity) is refused, so the
 * service neither re-initialises silently (the old admin key would stop working) nor removes the
 * collector's key files because the new database holds none. A first start on an empty data
 * directory, and a replica whose data directory holds only its configured master key, go ahead.
 */
export async function checkDatabaseIdentity(settings: Settings, ds: DataSource): Promise<void> {
  const initialised = await ds.getRepository(MetaEntry).countBy({ name: In([MASTER_KEY_CHECK, DATABASE_ID]) });
  if (initialised > 0) return;
  const idFile = databaseIdFile(settings);
  const { adminKey, manifest } = leftoverFiles(settings);
  const found = [
    readId(idFile) ? idFile : undefined,
    settings.masterKeyFileIsDefault && existsSync(settings.masterKeyFile) ? settings.masterKeyFile : undefined,
    existsSync(adminKey) ? adminKey : undefined,
    existsSync(manifest) ? manifest : undefined,
  ].filter((f): f is string => f !== undefined);
  if (!found.length) return;
  throw new DatabaseMismatchError(
    `${describeDb(settings)} is new (empty), but ${found.join(', ')} ${found.length > 1 ? 'are' : 'is'} from an earlier database; ` +
      'refusing to start, so nothing is re-initialised and no key file is removed from passwords.d. ' +
      'If the database was lost, restore it from backup together with its master.key. ' +
      `To start afresh on purpose, move ${found.length > 1 ? 'these files' : 'this file'} out of ${settings.dataDir} first.`,
  );
}

/**
 * The database's identity (created on its first start, before the master key; a replica
 * starting at the same moment reads the one that won), recorded in the data directory, which
 * must not belong to another database.
 */
export async function ensureDatabaseIdentity(settings: Settings, ds: DataSource): Promise<string> {
  const repo = ds.getRepository(MetaEntry);
  let row = await repo.findOneBy({ name: DATABASE_ID });
  if (!row) {
    // Start-up, before the container (and its Random) exists; an identifier, not a secret.
    const fresh = { name: DATABASE_ID, value: randomBytes(16).toString('hex') };
    try {
      await repo.insert(fresh);
      row = fresh;
    } catch {
      row = await repo.findOneByOrFail({ name: DATABASE_ID });
    }
  }
  const idFile = databaseIdFile(settings);
  const recorded = readId(idFile);
  if (recorded === undefined) writeFileAtomic(idFile, row.value + '\n', 0o600);
  else if (recorded !== row.value) {
    throw new DatabaseMismatchError(
      `${idFile} says ${settings.dataDir} belongs to database ${recorded}, but ${describeDb(settings)} is database ${row.value}; ` +
        'refusing to start. Point database.url (or dataDir) at the pair that belong together, or restore the right database from backup.',
    );
  }
  return row.value;
}
