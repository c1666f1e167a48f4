import { chunks, query, rowLock, sql } from '../../src/database/sql.js';
import { MetaEntry } from '../../src/database/meta.entity.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';

/** The dialect helpers on the real engines and the real migrated schema. */
describe.each(ENGINES)('sql templates on %s', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ engine });
  });
  afterAll(() => t.close());

  it('binds values, lists, typed parameters and an unlimited OFFSET as the engine reads them', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `sql.${i}`);
    await t.db.tx(async (m) => {
      for (const slice of chunks(names, 3)) {
        await query(
          m,
          sql`INSERT INTO glidekey_meta (name, value) VALUES ${sql.join(
            slice.map((n) => sql`(${n}, ${"it's " + n})`),
            ', ',
          )}`,
        );
      }
    });
    const listed = await t.db.read((m) =>
      query<{ name: string; value: string }>(m, sql`SELECT name, value FROM glidekey_meta WHERE name IN (${sql.list(names)}) ORDER BY name ${sql.offset(4)}`),
    );
    expect(listed).toEqual(names.slice(4).map((name) => ({ name, value: `it's ${name}` })));
    const [typed] = await t.db.read((m) =>
      query<{ name: string | null }>(
        m,
        sql`SELECT g.name AS name FROM (SELECT ${sql.text('sql.2', 64)} AS want) w LEFT JOIN glidekey_meta g ON g.name = w.want`,
      ),
    );
    expect(typed.name).toBe('sql.2');
    // A value that looks like SQL stays a value.
    const hostile = "x' OR '1'='1";
    expect(await t.db.read((m) => query(m, sql`SELECT name FROM glidekey_meta WHERE name = ${hostile}`))).toEqual([]);
  });

  it('takes the row lock the engine supports inside a transaction', async () => {
    // On PostgreSQL another transaction cannot take the row while it is held; SQLite takes none
    // (its write transaction excludes every other writer) and refuses lock options.
    const blocked = async (name: string) =>
      engine !== 'postgres'
        ? false
        : t.db
            .tx((o) => o.query(`SELECT name FROM glidekey_meta WHERE name = $1 FOR UPDATE NOWAIT`, [name]))
            .then(
              () => false,
              (err: { driverError?: { code?: string } }) => err.driverError?.code === '55P03',
            );
    await t.db.tx(async (m) => {
      expect((await m.findOne(MetaEntry, { where: { name: 'sql.0' }, ...rowLock(m, 'update') }))?.name).toBe('sql.0');
      expect((await m.findOne(MetaEntry, { where: { name: 'sql.1' }, ...rowLock(m, 'share') }))?.name).toBe('sql.1');
      expect(await blocked('sql.0')).toBe(engine === 'postgres');
      expect(await blocked('sql.1')).toBe(engine === 'postgres');
      expect(await blocked('sql.2')).toBe(false);
    });
  });
});
