import { hostname } from 'node:os';
import { leafPaths } from '../../src/config/config.loader.js';
import { configSchema } from '../../src/config/config.schema.js';

/** Every setting's key path (`['database', 'url']`, ...), as the loader reads them from the schema. */
export const SETTINGS: string[][] = leafPaths(configSchema);
export const dotted = (path: string[]) => path.join('.');

/** What the schema (the one place defaults are stated) gives a setting nobody set. */
export type SchemaDefault = { kind: 'unset' } | { kind: 'host' } | { kind: 'value'; value: unknown };

const at = (tree: unknown, path: string[]): unknown => path.reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], tree);

export function schemaDefault(path: string[]): SchemaDefault {
  const value = at(configSchema.parse({}), path);
  if (value === undefined) return { kind: 'unset' };
  // trustDomain and frontend.name default to this host's name (a function, not a stated value).
  if (value === hostname()) return { kind: 'host' };
  return { kind: 'value', value };
}

/** `value` set at `path` (and nothing else), through the schema: what the service would use. */
export function parsedAt(path: string[], value: unknown): unknown {
  const tree: Record<string, unknown> = {};
  let node = tree;
  for (const k of path.slice(0, -1)) node = (node[k] = {}) as Record<string, unknown>;
  node[path[path.length - 1]] = value;
  const r = configSchema.safeParse(tree);
  return r.success ? at(r.data, path) : { invalid: r.error.issues.map((i) => i.message) };
}
