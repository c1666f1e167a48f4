import type { EntityManager } from 'typeorm';

/**
 * The dialect helpers: the one place that knows how SQLite and PostgreSQL differ in the SQL
 * glidekey writes by hand (placeholders, typed parameters, row locks, how many values one
 * statement takes). Code outside src/database/ writes `sql` templates and never a placeholder,
 * a lock clause or an engine test of its own (eslint.config.js holds it to that).
 *
 *   await query(m, sql`SELECT jti FROM issued_tokens WHERE jti IN (${sql.list(jtis)}) AND expires_at > ${now}`);
 *
 * Every interpolated value is a bound parameter; only `sql.raw` splices text, and it is for fixed
 * identifiers from our own code, never input.
 */

export type Engine = 'postgres' | 'sqlite';

/** The engine an EntityManager talks to. */
export const engineOf = (m: EntityManager): Engine => (m.connection.options.type === 'postgres' ? 'postgres' : 'sqlite');

/** A bound parameter, optionally typed (see `sql.text`). */
class Param {
  constructor(
    readonly value: unknown,
    readonly pgType?: string,
  ) {}
}

/** Text that differs by engine (a keyword one engine spells otherwise). */
class EngineText {
  constructor(readonly byEngine: Readonly<Record<Engine, string>>) {}
}

type Part = string | Param | EngineText | Sql;

/** A piece of SQL with its parameters, rendered for an engine only when it runs. */
export class Sql {
  /** @internal use the `sql` tag */
  constructor(
    readonly parts: readonly Part[],
    /** The call site's strings when no interpolation is a nested `Sql`: its text is cached. */
    private readonly site?: TemplateStringsArray,
  ) {}

  /** The statement text for `engine` and its values in placeholder order. */
  render(engine: Engine): { text: string; values: unknown[] } {
    if (this.site) {
      // Same call site, same engine, same parameter types: same text.
      let texts = cache.get(this.site);
      if (!texts) cache.set(this.site, (texts = new Map()));
      const params = this.parts.filter((p): p is Param => p instanceof Param);
      const key = params.some((p) => p.pgType) ? `${engine}|${params.map((p) => p.pgType ?? '').join(',')}` : engine;
      let text = texts.get(key);
      if (text === undefined) texts.set(key, (text = this.build(engine, { n: 0 }, [])));
      return { text, values: params.map((p) => p.value) };
    }
    const values: unknown[] = [];
    return { text: this.build(engine, { n: 0 }, values), values };
  }

  private build(engine: Engine, counter: { n: number }, values: unknown[]): string {
    let out = '';
    for (const p of this.parts) {
      if (typeof p === 'string') out += p;
      else if (p instanceof Sql) out += p.build(engine, counter, values);
      else if (p instanceof EngineText) out += p.byEngine[engine];
      else {
        values.push(p.value);
        out += placeholder(engine, ++counter.n, p.pgType);
      }
    }
    return out;
  }
}

/** Rendered texts per template call site: the hot paths (ticket fetch, renewal) render once per engine. */
const cache = new WeakMap<TemplateStringsArray, Map<string, string>>();

/** The `n`th (1-based) placeholder; a typed one casts (PostgreSQL needs a type where the context gives none). */
export function placeholder(engine: Engine, n: number, pgType?: string): string {
  if (engine === 'postgres') return pgType ? `CAST($${n} AS ${pgType})` : `$${n}`;
  return pgType ? 'CAST(? AS TEXT)' : '?';
}

/** A statement: interpolated values are bound parameters; an interpolated `Sql` is spliced in. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const parts: Part[] = [strings[0]];
  let plain = true;
  values.forEach((v, i) => {
    if (v instanceof Sql) plain = false;
    parts.push(v instanceof Sql || v instanceof Param ? v : new Param(v), strings[i + 1]);
  });
  return new Sql(parts, plain ? strings : undefined);
}

/** Text spliced as is: a fixed identifier or keyword from our own code, never input. */
sql.raw = (text: string): Sql => new Sql([text]);

/** `a, b, c` of bound parameters, for `IN (...)` or a VALUES tuple. An empty list is a caller's bug (`IN ()` is not SQL). */
sql.list = (values: readonly unknown[]): Sql => {
  if (!values.length) throw new Error('sql.list: no values (an empty IN list is not SQL; skip the query)');
  const parts: Part[] = [];
  values.forEach((v, i) => {
    if (i) parts.push(', ');
    parts.push(v instanceof Sql ? v : new Param(v));
  });
  return new Sql(parts);
};

/** Pieces joined with `separator` (text from our own code). */
sql.join = (pieces: readonly Sql[], separator: string): Sql => new Sql(pieces.flatMap((p, i) => (i ? [separator, p] : [p])));

/**
 * A text parameter with a declared type, for where the statement gives it none (`SELECT ? AS want`):
 * `CAST($n AS varchar(maxLength))` on PostgreSQL, `CAST(? AS TEXT)` on SQLite.
 */
sql.text = (value: string, maxLength: number): Param => new Param(value, `varchar(${maxLength})`);

/** `OFFSET n` with no limit: SQLite needs a LIMIT before OFFSET (-1, none), PostgreSQL spells it ALL. */
sql.offset = (n: number): Sql => new Sql([new EngineText({ postgres: 'LIMIT ALL', sqlite: 'LIMIT -1' }), ' OFFSET ', new Param(n)]);

/** Runs `q` on `m` (in its transaction if it has one); the rows a SELECT returns. */
export async function query<T = Record<string, unknown>>(m: EntityManager, q: Sql): Promise<T[]> {
  const { text, values } = q.render(engineOf(m));
  return (await m.query(text, values)) as T[];
}

/**
 * The row lock a find() takes inside a transaction: FOR UPDATE (`update`) or FOR SHARE (`share`) on
 * PostgreSQL; nothing on SQLite, where a write transaction (BEGIN IMMEDIATE) already excludes every
 * other writer and TypeORM refuses lock options.
 */
export function rowLock(m: EntityManager, mode: 'update' | 'share'): { lock?: { mode: 'pessimistic_write' | 'pessimistic_read' } } {
  if (engineOf(m) !== 'postgres') return {};
  return { lock: { mode: mode === 'update' ? 'pessimistic_write' : 'pessimistic_read' } };
}

/**
 * How many values one IN list or one multi-row INSERT takes here: far below both engines' limits
 * (SQLite 32,766 bound parameters, PostgreSQL 65,535), and where the query planners stay fast.
 */
export const IN_LIST_MAX = 500;

/** `items` in consecutive slices of at most `size` (the last may be shorter; none when empty). */
export function* chunks<T>(items: readonly T[], size = IN_LIST_MAX): Generator<T[]> {
  if (!(size >= 1)) throw new Error(`chunks: size ${size}`);
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
