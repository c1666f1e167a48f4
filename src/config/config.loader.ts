import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { z } from 'zod';
import { AppConfig, configSchema } from './config.schema.js';

export class ConfigError extends Error {}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The project's root: two levels above this file, in src/ and dist/ alike. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

function readFile(path: string): Tree {
  const text = readFileSync(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // The parser's own message quotes the offending line, which may hold a secret: report the place only.
    const mark = (err as { mark?: { line: number } }).mark;
    throw new ConfigError(`configuration file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}${mark ? ` (line ${mark.line + 1})` : ''}`);
  }
  if (parsed == null) return {};
  if (!isTree(parsed)) throw new ConfigError(`configuration file ${path} must hold a mapping`);
  return parsed;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isTree(v) && isTree(out[k]) ? merge(out[k] as Tree, v) : v;
  return out;
}

/** Every leaf key path of the schema (`database.url`, ...), read from zod's own definitions. */
function leafPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let def: any = (schema as any)._zod.def;
  while (['default', 'optional', 'nullable', 'pipe', 'prefault'].includes(def.type)) {
    def = (def.innerType ?? def.in)._zod.def;
  }
  if (def.type !== 'object') return [prefix];
  return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([k, s]) => leafPaths(s, [...prefix, k]));
}

export const envName = (path: string[]) =>
  'GLIDEKEY_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');

function fromEnv(env: NodeJS.ProcessEnv): Tree {
  const out: Tree = {};
  for (const path of leafPaths(configSchema)) {
    // A blank variable counts as unset (a blank GLIDEKEY_PORT must not become port 0).
    const value = env[envName(path)]?.trim();
    if (value === undefined || value === '') continue;
    let node = out;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Tree;
    node[path[path.length - 1]] = value;
  }
  return out;
}

/**
 * config/default.yaml (or .json), then the file named by GLIDEKEY_CONFIG, then GLIDEKEY_* variables.
 * Validation messages name the setting and never echo its value: a value may be a secret (a URL with a password).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  let tree: Tree = {};
  for (const name of ['default.yaml', 'default.yml', 'default.json']) {
    const p = resolve(PROJECT_ROOT, 'config', name);
    if (existsSync(p)) {
      tree = readFile(p);
      break;
    }
  }
  if (env.GLIDEKEY_CONFIG) {
    if (!existsSync(env.GLIDEKEY_CONFIG)) throw new ConfigError(`GLIDEKEY_CONFIG names a file that does not exist: ${env.GLIDEKEY_CONFIG}`);
    tree = merge(tree, readFile(env.GLIDEKEY_CONFIG));
  }
  tree = merge(tree, fromEnv(env));
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      // A list item (roles.1) is still set by the list's own variable (GLIDEKEY_ROLES).
      const path = i.path.filter((p) => typeof p === 'string');
      const key = path.join('.') || '(root)';
      const hint = path.length ? ` (env ${envName(path)})` : '';
      return `  ${key}${hint}: ${i.code === 'unrecognized_keys' ? `unknown setting(s) ${i.keys.join(', ')}` : i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
