import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { loadAll as loadAllYaml } from 'js-yaml';
import { z } from 'zod';
import { AppConfig, configSchema } from './config.schema.js';

export class ConfigError extends Error {}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The project's root: two levels above this file, in src/ and dist/ alike. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

function readFile(path: string): Tree {
  const text = readFileSync(path, 'utf8');
  let documents: unknown[];
  try {
    // A YAML file of only comments (as config/default.yaml is) holds no document, and so no settings;
    // js-yaml's load() refuses such a file, loadAll() returns no document.
    documents = extname(path) === '.json' ? [JSON.parse(text)] : loadAllYaml(text);
  } catch (err) {
    // The parser's own message quotes the offending line, which may hold a secret: report the place only.
    const mark = (err as { mark?: { line: number } }).mark;
    throw new ConfigError(`configuration file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}${mark ? ` (line ${mark.line + 1})` : ''}`);
  }
  if (documents.length > 1) throw new ConfigError(`configuration file ${path} holds ${documents.length} YAML documents; it must hold one`);
  const parsed = documents[0];
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
export function leafPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let def: any = (schema as any)._zod.def;
  while (['default', 'optional', 'nullable', 'pipe', 'prefault'].includes(def.type)) {
    def = (def.innerType ?? def.in)._zod.def;
  }
  if (def.type !== 'object') return [prefix];
  return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([k, s]) => leafPaths(s, [...prefix, k]));
}

export const envName = (path: string[]) => 'GLIDEKEY_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');

/**
 * GLIDEKEY_* variables that are not settings but are read by something else in this repository:
 * the configuration file's name, the REST CLI's and the glidein script's inputs and outputs.
 * GLIDEKEY_TEST_* are the test suite's own.
 */
export const OTHER_VARIABLES = [
  'GLIDEKEY_CONFIG',
  'GLIDEKEY_URL',
  'GLIDEKEY_API_KEY',
  'GLIDEKEY_API_KEY_FILE',
  'GLIDEKEY_CA',
  'GLIDEKEY_CA_BUNDLE',
  'GLIDEKEY_TICKET',
  'GLIDEKEY_ALLOW_HTTP',
  'GLIDEKEY_MAX_WAIT',
  'GLIDEKEY_RETRIES',
  'GLIDEKEY_RENEW_IN',
  'GLIDEKEY_TOKEN_EXPIRES_AT',
  'GLIDEKEY_RENEWAL_EXPIRES_AT',
];

/** Levenshtein distance, for a did-you-mean on a misspelt variable. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** A GLIDEKEY_* variable that nothing reads is a typo that would silently leave a default in force: refused, as unknown YAML keys are. */
function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const known = [...leafPaths(configSchema).map(envName), ...OTHER_VARIABLES];
  return Object.keys(env)
    .filter((k) => k.startsWith('GLIDEKEY_') && !k.startsWith('GLIDEKEY_TEST_') && !known.includes(k))
    .sort()
    .map((k) => {
      const near = known.map((n) => [n, distance(k, n)] as const).sort((x, y) => x[1] - y[1])[0];
      return `  ${k}: unknown environment variable${near && near[1] <= 3 ? ` (did you mean ${near[0]}?)` : ''}`;
    });
}

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
  const unknown = unknownVariables(env);
  if (!parsed.success || unknown.length) {
    const lines = (parsed.error?.issues ?? []).map((i) => {
      // A list item (roles.1) is still set by the list's own variable (GLIDEKEY_ROLES).
      const path = i.path.filter((p) => typeof p === 'string');
      const key = path.join('.') || '(root)';
      const hint = path.length ? ` (env ${envName(path)})` : '';
      return `  ${key}${hint}: ${i.code === 'unrecognized_keys' ? `unknown setting(s) ${i.keys.join(', ')}` : i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${[...lines, ...unknown].join('\n')}`);
  }
  return parsed.data!;
}
