import { EntityManager } from 'typeorm';

/**
 * One multi-row INSERT with bound parameters, written directly: TypeORM's query builder costs more
 * than the insert itself on the mint path. Columns are fixed identifiers from our own code, never
 * input; every value is a bound parameter.
 */
export async function bulkInsert(m: EntityManager, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  if (!rows.length) return;
  const postgres = m.connection.options.type === 'postgres';
  let n = 0;
  const tuples = rows.map((r) => {
    if (r.length !== columns.length) throw new Error(`bulkInsert into ${table}: row has ${r.length} values for ${columns.length} columns`);
    return `(${r.map(() => (postgres ? `$${++n}` : '?')).join(', ')})`;
  });
  await m.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, rows.flat());
}
