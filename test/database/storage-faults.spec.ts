import { randomBytes } from 'node:crypto';
import { StorageUnavailableError } from '../../src/common/errors.js';
import { loadConfig } from '../../src/config/config.loader.js';
import { Settings } from '../../src/config/settings.js';
import { openDatabase } from '../../src/database/data-source.js';
import { Db } from '../../src/database/db.js';
import { MetaEntry } from '../../src/database/meta.entity.js';
import { FaultFs, fillDisk, mountTmpfs } from '../support/fault-fs.js';
import { removeDir, tempDir } from '../support/service.js';

const settingsOn = (dataDir: string) =>
  new Settings(loadConfig({ GLIDEKEY_DATA_DIR: dataDir, GLIDEKEY_TRUST_DOMAIN: 'collector.example.org:9618', GLIDEKEY_FRONTEND_NAME: 'frontend.example.org' }));

describe(`${Db.name} on a disk that fills up (SQLite)`, () => {
  let fs: FaultFs | undefined;
  afterAll(() => fs?.unmount());

  it('acknowledges a write only once it is committed: after COMMIT fails, the connection is out of the transaction and later writes land', async () => {
    fs = mountTmpfs('3m');
    const settings = settingsOn(fs.dir);
    let db = new Db(await openDatabase(settings));
    const acked: string[] = [];
    const refused: string[] = [];
    const write = async (i: number) => {
      const name = `fault-${i}`;
      try {
        // Rows big enough that each commit needs new WAL pages.
        await db.tx(async (m) => {
          await m.insert(MetaEntry, { name, value: randomBytes(6000).toString('hex') });
        });
        acked.push(name);
      } catch (err) {
        expect(err).toBeInstanceOf(StorageUnavailableError);
        expect((err as StorageUnavailableError).status).toBe(503);
        refused.push(name);
      }
    };
    let i = 0;
    for (; i < 5; i++) await write(i);
    expect(refused).toEqual([]);
    const free = fillDisk(fs.dir);
    for (; i < 40; i++) await write(i);
    // The disk really was full: writes were refused, and readiness says so.
    expect(refused.length).toBeGreaterThan(0);
    const whileFull = (await db.writable()).ok;
    free();
    for (; i < 60; i++) await write(i);
    expect(refused.filter((n) => Number(n.slice(6)) >= 40)).toEqual([]);
    // Ready again once writes have worked for a few seconds since the last failure (Db's STABLE_MS).
    let afterFreed = false;
    for (const end = Date.now() + 6_000; !afterFreed && Date.now() < end; await new Promise((r) => setTimeout(r, 200))) afterFreed = (await db.writable()).ok;
    // Nothing is left open: the connection is outside any transaction between units of work.
    const leftOpen = (db.dataSource.driver as unknown as { databaseConnection: { inTransaction: boolean } }).databaseConnection.inTransaction;

    await db.dataSource.destroy();
    db = new Db(await openDatabase(settings));
    const stored = new Set((await db.read((m) => m.find(MetaEntry))).map((r) => r.name).filter((n) => n.startsWith('fault-')));
    expect(acked.filter((n) => !stored.has(n))).toEqual([]);
    expect(refused.filter((n) => stored.has(n))).toEqual([]);
    expect(stored.size).toBe(acked.length);
    expect({ leftOpen, whileFull, afterFreed }).toEqual({ leftOpen: false, whileFull: false, afterFreed: true });
    await db.dataSource.destroy();
  });

  it('refuses the rest of a unit of work once SQLite has rolled its transaction back on its own, so nothing lands piecemeal in autocommit', async () => {
    const dir = tempDir();
    const db = new Db(await openDatabase(settingsOn(dir)));
    const conn = (db.dataSource.driver as unknown as { databaseConnection: { exec(s: string): void; inTransaction: boolean } }).databaseConnection;
    try {
      const unit = db.tx(async (m) => {
        await m.insert(MetaEntry, { name: 'piece-1', value: 'x' });
        // What SQLite does by itself on some SQLITE_FULL / IOERR / BUSY failures: the whole transaction is gone.
        conn.exec('ROLLBACK');
        await m.insert(MetaEntry, { name: 'piece-2', value: 'x' }).catch(() => undefined); // a caller that swallows the error
        await m.insert(MetaEntry, { name: 'piece-3', value: 'x' });
      });
      await expect(unit).rejects.toBeInstanceOf(StorageUnavailableError);
      expect(conn.inTransaction).toBe(false);
      expect(await db.read((m) => m.count(MetaEntry, { where: [{ name: 'piece-1' }, { name: 'piece-2' }, { name: 'piece-3' }] }))).toBe(0);
      // The next unit of work is a transaction of its own again.
      await db.tx((m) => m.insert(MetaEntry, { name: 'after', value: 'x' }));
      expect(await db.read((m) => m.countBy(MetaEntry, { name: 'after' }))).toBe(1);
    } finally {
      await db.dataSource.destroy();
      removeDir(dir);
    }
  });
});
