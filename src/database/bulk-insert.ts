import { EntityManager } from 'typeorm';
import { engineOf, placeholder } from './sql.js';

/**
 * One multi-row INSERT with bound parameters, written directly: TypeORM's query builder costs more
 * than the insert itself on the mint path. Columns are fixed identifiers from our own code, never
 * input; every value is a bound parameter. Callers keep `rows` within `chunks()` sizes.
 */
export async function bulkInsert(m: EntityManager, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  if (!rows.length) return;
  const engine = engineOf(m);
  let n = 0;
  const tuples = rows.map((r) => {
    if (r.length !== columns.length) throw new Error(`bulkInsert into ${table}: row has ${r.length} values for ${columns.length} columns`);
    return `(${r.map(() => placeholder(engine, ++n)).join(', ')})`;
  });
  await m.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, rows.flat());
}
