import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll as loadAllYaml } from 'js-yaml';
import { dotted, parsedAt, schemaDefault, SETTINGS } from '../support/config-defaults.js';
import { ROOT } from '../support/service.js';

/**
 * config/default.yaml is an annotated example with every setting commented out (`# key: value`,
 * nested keys indented after the `# `): the schema states the defaults, and this keeps the example
 * from drifting from them. A setting shown without a value is one that is unset by default (or
 * defaults to this host's name).
 */
const TEXT = readFileSync(join(ROOT, 'config', 'default.yaml'), 'utf8');
const SETTING_LINE = /^# ( *[A-Za-z][A-Za-z0-9]*:(?:\s.*)?)$/;

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The commented-out settings, uncommented, as a YAML tree. */
function example(text: string): Tree {
  const lines = text.split('\n').flatMap((l) => SETTING_LINE.exec(l)?.[1] ?? []);
  const [tree, ...more] = loadAllYaml(lines.join('\n'));
  if (more.length) throw new Error('the uncommented example holds more than one YAML document');
  return (tree ?? {}) as Tree;
}

/** [path, value] of each leaf of the example tree (a key without a value is a leaf with null). */
function leaves(tree: Tree, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(tree).flatMap(([k, v]) => (isTree(v) ? leaves(v, [...prefix, k]) : [[[...prefix, k], v] as [string[], unknown]]));
}

/** What is wrong with the example, one line each. */
function problems(text: string): string[] {
  const out: string[] = [];
  const shown = leaves(example(text));
  const settings = SETTINGS.map(dotted);
  for (const [path, value] of shown) {
    const key = dotted(path);
    if (!settings.includes(key)) {
      out.push(`${key}: not a setting`);
      continue;
    }
    const d = schemaDefault(path);
    if (value === null) {
      if (d.kind === 'value') out.push(`${key}: shown without a value, but its default is ${JSON.stringify(d.value)}`);
    } else if (d.kind !== 'value') {
      out.push(`${key}: shown as ${JSON.stringify(value)}, but it is ${d.kind === 'host' ? "this host's name" : 'unset'} by default (show it without a value)`);
    } else if (JSON.stringify(parsedAt(path, value)) !== JSON.stringify(d.value)) {
      out.push(`${key}: shown as ${JSON.stringify(value)}, which is ${JSON.stringify(parsedAt(path, value))}, but its default is ${JSON.stringify(d.value)}`);
    }
  }
  const keys = shown.map(([p]) => dotted(p));
  for (const k of settings) if (!keys.includes(k)) out.push(`${k}: missing from the example`);
  return out;
}

describe('config/default.yaml', () => {
  it('states no value: every line is a comment (the schema holds the defaults)', () => {
    expect(loadAllYaml(TEXT)).toEqual([]);
    expect(TEXT.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))).toEqual([]);
  });

  it("shows every setting once, each with the schema's default", () => {
    expect(leaves(example(TEXT)).length).toBe(SETTINGS.length);
    expect(problems(TEXT)).toEqual([]);
  });

  it('would be caught drifting: a wrong value, an unknown key, a missing or a valued unset setting', () => {
    expect(problems(TEXT.replace('# port: 8080', '# port: 8081'))).toEqual(['port: shown as 8081, which is 8081, but its default is 8080']);
    expect(problems(TEXT.replace('# roles: frontend,factory', '# roles: factory'))).toEqual([
      'roles: shown as "factory", which is ["factory"], but its default is ["frontend","factory"]',
    ]);
    expect(problems(TEXT.replace('#   tickSeconds: 60', '#   tickSecs: 60'))).toEqual([
      'scheduler.tickSecs: not a setting',
      'scheduler.tickSeconds: missing from the example',
    ]);
    expect(problems(TEXT.replace(/^# {3}level: info\n/m, ''))).toEqual(['log: not a setting', 'log.level: missing from the example']);
    expect(problems(TEXT.replace(/^# {3}cert: .*$/m, '#   cert: /etc/glidekey/tls/cert.pem'))).toEqual([
      'tls.cert: shown as "/etc/glidekey/tls/cert.pem", but it is unset by default (show it without a value)',
    ]);
    expect(problems(TEXT.replace(/^# {3}renewFraction: .*$/m, '#   renewFraction:'))).toEqual([
      'tokens.renewFraction: shown without a value, but its default is 0.5',
    ]);
  });
});
