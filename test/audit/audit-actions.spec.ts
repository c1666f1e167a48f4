import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_ACTIONS, httpAction } from '../../src/audit/audit-actions.js';
import { ROOT } from '../support/service.js';

/**
 * The audit actions are one table (src/audit/audit-actions.ts); the decorator and the services take
 * only its names (the type checker sees to that). Here: the README's "Audit actions" table is that
 * table, row for row, and background work names its actor where it starts (RunsAs), not in the line.
 */
function readmeActions(): [string, string][] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('**Audit actions.**'));
  if (start < 0) throw new Error('README has no "**Audit actions.**" paragraph');
  const header = lines.findIndex((l, i) => i > start && l.startsWith('|'));
  expect(lines[header]).toBe('| action | a line records |');
  const rows: [string, string][] = [];
  for (let i = header + 2; i < lines.length && lines[i].startsWith('|'); i++) {
    const m = /^\| `([^`]+)` \| (.+) \|$/.exec(lines[i]);
    if (!m) throw new Error(`README line ${i + 1} is not an audit action row: ${lines[i]}`);
    rows.push([m[1], m[2]]);
  }
  return rows;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}

describe('audit actions', () => {
  it("the README's table lists every action of src/audit/audit-actions.ts, in its order, with its meaning", () => {
    expect(readmeActions()).toEqual(Object.entries(AUDIT_ACTIONS));
  });

  it('names a denied call to a route without an action of its own by its method', () => {
    expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map(httpAction)).toEqual([
      'http.get',
      'http.head',
      'http.post',
      'http.put',
      'http.patch',
      'http.delete',
    ]);
    expect(() => httpAction('BREW')).toThrow(/no audit action/);
  });

  it('no service writes a system actor into an audit line: background work sets it where it starts (RunsAs)', () => {
    const literal = /actor:\s*['"`]system\b/;
    const found = sources(join(ROOT, 'src')).filter((f) => literal.test(readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });
});
