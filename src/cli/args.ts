import { usageError } from './exit-codes.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** One line for --help: `<placeholder>` and what it does. */
  help: string;
}
export type OptionSpecs = Record<string, OptionSpec>;
export type OptionValues = Record<string, string | string[] | boolean | undefined>;

/** Options every REST verb takes. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  url: { type: 'string', help: '<url>  the service (default $GLIDEKEY_URL, else http://127.0.0.1:8080)' },
  'api-key-file': { type: 'string', help: '<file>  the API key, a 0600 file (default $GLIDEKEY_API_KEY_FILE)' },
  ca: { type: 'string', help: '<pem>  CA bundle that verifies the service certificate (default $GLIDEKEY_CA)' },
  json: { type: 'boolean', help: 'print JSON for scripts instead of tables' },
  help: { type: 'boolean', help: 'print this help' },
};

/**
 * HTCondor tools' option style: `-identity x` with one dash, as condor_token_create takes it;
 * `--identity x` and `--identity=x` work too. A string option takes the next argument whatever it
 * looks like (so `-lifetime -1` reaches validation, as in condor's tools). `--` ends options.
 */
export function parseArgs(argv: string[], specs: OptionSpecs): { opts: OptionValues; args: string[] } {
  const opts: OptionValues = {};
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = a.startsWith('--') ? body.indexOf('=') : -1;
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = name === 'h' ? specs.help : specs[name];
    if (!spec) throw usageError(`unknown option ${a.split('=')[0]}`);
    const key = name === 'h' ? 'help' : name;
    if (spec.type === 'boolean') {
      if (eq >= 0) throw usageError(`option -${name} takes no value`);
      opts[key] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw usageError(`option -${name} needs a value`);
      value = argv[++i];
    }
    if (spec.multiple) opts[key] = [...((opts[key] as string[] | undefined) ?? []), value];
    else if (opts[key] !== undefined) throw usageError(`option -${name} given twice`);
    else opts[key] = value;
  }
  return { opts, args };
}

/** An integer option value (seconds, counts), or undefined when absent. */
export function intOption(opts: OptionValues, name: string, min = 0): number | undefined {
  const v = opts[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw usageError(`-${name} must be an integer of at least ${min}`);
  }
  return Number(v);
}

export const str = (opts: OptionValues, name: string) => opts[name] as string | undefined;
export const list = (opts: OptionValues, name: string) => (opts[name] as string[] | undefined) ?? [];

export function required(opts: OptionValues, name: string): string {
  const v = str(opts, name);
  if (v === undefined || v === '') throw usageError(`-${name} is required`);
  return v;
}
