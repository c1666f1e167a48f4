import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envName } from '../../src/config/config.loader.js';
import { dotted, SchemaDefault, schemaDefault, SETTINGS } from '../support/config-defaults.js';
import { ROOT } from '../support/service.js';

/**
 * README's Configuration table against the schema, the one place defaults are stated: one row per
 * setting (a row may name several, "`a.b`, `a.c`"), the variable the loader derives, and the default.
 */
interface Row {
  line: number;
  keys: string[];
  envs: string[];
  defaults: string[];
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** Splits on ", " outside parentheses and backticks: "2, 600" is two, "unset (a, b)" one. */
function topLevelParts(cell: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let tick = false;
  let cur = '';
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i];
    if (c === '`') tick = !tick;
    else if (!tick && c === '(') depth++;
    else if (!tick && c === ')') depth--;
    if (!tick && depth === 0 && c === ',' && cell[i + 1] === ' ') {
      parts.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += c;
  }
  parts.push(cur.trim());
  return parts;
}

function configurationTable(): { header: string[]; rows: Row[] } {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const start = lines.indexOf('## Configuration');
  if (start < 0) throw new Error('README has no "## Configuration" section');
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  const first = lines.findIndex((l, i) => i > start && l.startsWith('|'));
  if (first < 0 || (end >= 0 && first > end)) throw new Error('the Configuration section has no table');
  const cells = (l: string) =>
    l
      .replace(/^\|/, '')
      .replace(/\|\s*$/, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  const rows: Row[] = [];
  for (let i = first + 2; i < lines.length && lines[i].startsWith('|'); i++) {
    const [key, env, dflt] = cells(lines[i]);
    const keys = ticked(key);
    const defaults = topLevelParts(dflt);
    rows.push({ line: i + 1, keys, envs: ticked(env), defaults: defaults.length === 1 ? keys.map(() => defaults[0]) : defaults });
  }
  return { header: cells(lines[first]), rows };
}

const show = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(',') : 'none') : String(v));

/** The README's default cell, backticks dropped, against the schema's default; undefined when they agree. */
function defaultMismatch(cell: string, d: SchemaDefault): string | undefined {
  const text = cell.replace(/`/g, '').trim();
  const want = d.kind === 'unset' ? 'unset ...' : d.kind === 'host' ? 'host name' : show(d.value);
  if (d.kind === 'unset') return /^unset\b/.test(text) ? undefined : want;
  if (d.kind === 'host') return /^host name\b/.test(text) ? undefined : want;
  // A note in parentheses may follow the value: "2592000 (30 days)".
  return text.replace(/\s*\(.*\)$/, '') === want ? undefined : want;
}

describe('README Configuration table', () => {
  const { header, rows } = configurationTable();

  it('has the key, env and default columns', () => {
    expect(header.slice(0, 3)).toEqual(['key', 'env', 'default']);
    expect(rows.length).toBeGreaterThan(40);
  });

  it('names every setting exactly once, and nothing that is not one', () => {
    const named = rows.flatMap((r) => r.keys);
    const settings = SETTINGS.map(dotted);
    expect(settings.filter((k) => !named.includes(k))).toEqual([]);
    expect(named.filter((k) => !settings.includes(k))).toEqual([]);
    expect(named.filter((k, i) => named.indexOf(k) !== i)).toEqual([]);
  });

  it("gives each setting the GLIDEKEY_* variable the loader reads and the schema's default", () => {
    const problems: string[] = [];
    for (const r of rows) {
      if (r.envs.length !== r.keys.length) problems.push(`line ${r.line}: ${r.keys.length} keys but ${r.envs.length} variables`);
      if (r.defaults.length !== r.keys.length) problems.push(`line ${r.line}: ${r.keys.length} keys but ${r.defaults.length} defaults`);
      r.keys.forEach((key, i) => {
        const path = key.split('.');
        if (!SETTINGS.some((s) => dotted(s) === key)) return; // reported by the test above
        if (r.envs[i] !== envName(path)) problems.push(`${key}: env ${r.envs[i]}, the loader reads ${envName(path)}`);
        const wrong = r.defaults[i] === undefined ? 'a default' : defaultMismatch(r.defaults[i], schemaDefault(path));
        if (wrong) problems.push(`${key}: default "${r.defaults[i]}", the schema's is ${wrong}`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('reads the cells it checks the way the table writes them', () => {
    expect(topLevelParts('2, 600')).toEqual(['2', '600']);
    expect(topLevelParts('unset (kept, for ever)')).toEqual(['unset (kept, for ever)']);
    expect(topLevelParts('`frontend,factory`')).toEqual(['`frontend,factory`']);
    expect(defaultMismatch('2592000 (30 days)', { kind: 'value', value: 2_592_000 })).toBeUndefined();
    expect(defaultMismatch('2592000 (30 days)', { kind: 'value', value: 2_592_001 })).toBe('2592001');
    expect(defaultMismatch('`frontend,factory`', { kind: 'value', value: ['frontend', 'factory'] })).toBeUndefined();
    expect(defaultMismatch('`./data`', { kind: 'value', value: './data' })).toBeUndefined();
    expect(defaultMismatch('none', { kind: 'value', value: [] })).toBeUndefined();
    expect(defaultMismatch('false', { kind: 'value', value: true })).toBe('true');
    expect(defaultMismatch('unset (HTTP)', { kind: 'unset' })).toBeUndefined();
    expect(defaultMismatch('8080', { kind: 'unset' })).toBe('unset ...');
    expect(defaultMismatch('host name', { kind: 'host' })).toBeUndefined();
    expect(defaultMismatch('unset', { kind: 'host' })).toBe('host name');
  });
});
