import type { EntityManager } from 'typeorm';
import { chunks, rowLock, sql } from './sql.js';

const as = (type: string) => ({ connection: { options: { type } } }) as unknown as EntityManager;

describe('sql templates', () => {
  it('binds every interpolation, numbered on PostgreSQL and positional on SQLite', () => {
    const q = (a: unknown, b: unknown) => sql`SELECT x FROM t WHERE a = ${a} AND b > ${b}`;
    expect(q('it', 3).render('postgres')).toEqual({ text: 'SELECT x FROM t WHERE a = $1 AND b > $2', values: ['it', 3] });
    expect(q("'; DROP TABLE t; --", 4).render('sqlite')).toEqual({ text: 'SELECT x FROM t WHERE a = ? AND b > ?', values: ["'; DROP TABLE t; --", 4] });
  });

  it('numbers lists and nested pieces in the order they appear', () => {
    const inner = sql`c = ${'c'}`;
    const q = sql`SELECT 1 FROM t WHERE a = ${1} AND k IN (${sql.list(['x', 'y', 'z'])}) AND ${inner} AND d < ${9}`;
    expect(q.render('postgres')).toEqual({
      text: 'SELECT 1 FROM t WHERE a = $1 AND k IN ($2, $3, $4) AND c = $5 AND d < $6',
      values: [1, 'x', 'y', 'z', 'c', 9],
    });
    expect(q.render('sqlite')).toEqual({ text: 'SELECT 1 FROM t WHERE a = ? AND k IN (?, ?, ?) AND c = ? AND d < ?', values: [1, 'x', 'y', 'z', 'c', 9] });
  });

  it('types a parameter where the statement gives it none, and spells OFFSET without a limit per engine', () => {
    const q = sql`SELECT ${sql.text('abc', 16)} AS want ${sql.offset(3)}`;
    expect(q.render('postgres')).toEqual({ text: 'SELECT CAST($1 AS varchar(16)) AS want LIMIT ALL OFFSET $2', values: ['abc', 3] });
    expect(q.render('sqlite')).toEqual({ text: 'SELECT CAST(? AS TEXT) AS want LIMIT -1 OFFSET ?', values: ['abc', 3] });
  });

  it('caches a call site per engine and parameter types, never mixing their texts or values', () => {
    const site = (v: unknown) => sql`SELECT ${v} AS v`;
    expect(site(1).render('postgres').text).toBe('SELECT $1 AS v');
    expect(site(2).render('sqlite')).toEqual({ text: 'SELECT ? AS v', values: [2] });
    expect(site(sql.text('t', 8)).render('postgres')).toEqual({ text: 'SELECT CAST($1 AS varchar(8)) AS v', values: ['t'] });
    expect(site(sql.text('u', 9)).render('postgres')).toEqual({ text: 'SELECT CAST($1 AS varchar(9)) AS v', values: ['u'] });
    expect(site(3).render('postgres')).toEqual({ text: 'SELECT $1 AS v', values: [3] });
    expect(site(sql.raw('now()')).render('postgres')).toEqual({ text: 'SELECT now() AS v', values: [] });
  });

  it('joins pieces, splices raw identifiers, and refuses an empty list', () => {
    const q = sql`UPDATE ${sql.raw('t')} SET ${sql.join([sql`a = ${1}`, sql`b = ${2}`], ', ')}`;
    expect(q.render('postgres')).toEqual({ text: 'UPDATE t SET a = $1, b = $2', values: [1, 2] });
    expect(() => sql.list([])).toThrow(/empty IN list/);
  });
});

describe('rowLock', () => {
  it('asks PostgreSQL for FOR UPDATE or FOR SHARE and SQLite for nothing', () => {
    expect(rowLock(as('postgres'), 'update')).toEqual({ lock: { mode: 'pessimistic_write' } });
    expect(rowLock(as('postgres'), 'share')).toEqual({ lock: { mode: 'pessimistic_read' } });
    expect(rowLock(as('better-sqlite3'), 'update')).toEqual({});
  });
});

describe('chunks', () => {
  it('slices in order, the last one shorter, none for nothing', () => {
    expect([...chunks([1, 2, 3, 4, 5], 2)]).toEqual([[1, 2], [3, 4], [5]]);
    expect([...chunks([], 2)]).toEqual([]);
    expect([...chunks(Array.from({ length: 1001 }, (_, i) => i))].map((c) => c.length)).toEqual([500, 500, 1]);
    expect(() => [...chunks([1], 0)]).toThrow();
  });
});
