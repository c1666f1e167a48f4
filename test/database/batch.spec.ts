import { BatchUnit } from '../../src/database/batch-writer.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';

/** Db.batch, the group commit's transaction (on SQLite written by the writer thread), on the real migrated schema. */
describe.each(ENGINES)('Db.batch on %s', (engine) => {
  let t: TestApp;
  const meta = (name: string, value: string) => ({ table: 'glidekey_meta', columns: ['name', 'value'], rows: [[name, value]] });
  const values = async (prefix: string) =>
    (
      (await t.db.read((m) => m.query(`SELECT name, value FROM glidekey_meta WHERE name LIKE '${prefix}%' ORDER BY name`))) as { name: string; value: string }[]
    ).map((r) => `${r.name}=${r.value}`);

  beforeAll(async () => {
    t = await startTestApp({ engine });
  });
  afterAll(() => t.close());

  it('writes the rows of the units whose guard held, and says which those were', async () => {
    await t.db.batch([{ inserts: [meta('b1.seed', 'x')] }]);
    const units: BatchUnit[] = [
      { guard: { sql: 'SELECT 1 FROM glidekey_meta WHERE name = ?', params: ['b1.seed'], holds: 'row' }, inserts: [meta('b1.a', '1')] },
      { guard: { sql: 'SELECT 1 FROM glidekey_meta WHERE name = ?', params: ['b1.missing'], holds: 'row' }, inserts: [meta('b1.b', '2')] },
      { guard: { sql: 'SELECT 1 FROM glidekey_meta WHERE name = ?', params: ['b1.seed'], holds: 'row', lock: 'share' }, inserts: [meta('b1.c', '3')] },
      { inserts: [meta('b1.d', '4'), meta('b1.e', '5')] },
    ];
    expect([...(await t.db.batch(units))].sort()).toEqual([0, 2, 3]);
    expect(await values('b1.')).toEqual(['b1.a=1', 'b1.c=3', 'b1.d=4', 'b1.e=5', 'b1.seed=x']);
  });

  it('of two units spending the same row in one batch, exactly one wins', async () => {
    await t.db.batch([{ inserts: [meta('b2.ticket', 'unspent')] }]);
    const spend = (who: string): BatchUnit => ({
      guard: { sql: "UPDATE glidekey_meta SET value = ? WHERE name = ? AND value = 'unspent'", params: [`spent by ${who}`, 'b2.ticket'], holds: 'changed' },
      inserts: [meta(`b2.by-${who}`, 'won')],
    });
    const won = await t.db.batch([spend('first'), spend('second')]);
    expect([...won]).toEqual([0]);
    expect(await values('b2.')).toEqual(['b2.by-first=won', 'b2.ticket=spent by first']);
    // And in a later batch, nobody.
    expect([...(await t.db.batch([spend('third')]))]).toEqual([]);
  });

  it("is one transaction: a failing row leaves nothing of the batch, the guards' changes included", async () => {
    await t.db.batch([{ inserts: [meta('b3.taken', 'old')] }]);
    const units: BatchUnit[] = [
      {
        guard: { sql: 'UPDATE glidekey_meta SET value = ? WHERE name = ?', params: ['changed', 'b3.taken'], holds: 'changed' },
        inserts: [meta('b3.new', '1')],
      },
      { inserts: [meta('b3.taken', 'duplicate key')] },
    ];
    await expect(t.db.batch(units)).rejects.toThrow(/UNIQUE|duplicate key/i);
    expect(await values('b3.')).toEqual(['b3.taken=old']);
    // The connection is usable afterwards, for batches and transactions alike.
    expect([...(await t.db.batch([{ inserts: [meta('b3.after', '1')] }]))]).toEqual([0]);
    await t.db.tx((m) => m.query(`UPDATE glidekey_meta SET value = 'tx' WHERE name = 'b3.after'`));
    expect(await values('b3.')).toEqual(['b3.after=tx', 'b3.taken=old']);
  });

  it('binds every value: a value that looks like SQL is stored as it is', async () => {
    const hostile = `x'); DELETE FROM glidekey_meta; --`;
    await t.db.batch([
      { guard: { sql: 'SELECT 1 FROM glidekey_meta WHERE name = ?', params: [hostile], holds: 'row' }, inserts: [meta('b5.no', '1')] },
      { inserts: [meta('b5.value', hostile)] },
    ]);
    expect(await values('b5.')).toEqual([`b5.value=${hostile}`]);
  });
});

/** On SQLite the writer thread's batches and the main connection's transactions share one queue for the write lock (PostgreSQL runs them side by side). */
describe('Db.batch on sqlite, with transactions', () => {
  let t: TestApp;
  const meta = (name: string, value: string) => ({ table: 'glidekey_meta', columns: ['name', 'value'], rows: [[name, value]] });
  beforeAll(async () => {
    t = await startTestApp({ engine: 'sqlite' });
  });
  afterAll(() => t.close());

  it('takes the write lock in arrival order with transactions: each sees what was submitted before it', async () => {
    const seen: string[] = [];
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      work.push(t.db.batch([{ inserts: [meta(`b4.${String(i).padStart(2, '0')}`, 'batch')] }]));
      work.push(
        t.db.tx(async (m) => {
          const [{ n }] = await m.query(`SELECT COUNT(*) AS n FROM glidekey_meta WHERE name LIKE 'b4.%'`);
          seen.push(`${i}:${Number(n)}`);
        }),
      );
    }
    await Promise.all(work);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `${i}:${i + 1}`));
  });
});
