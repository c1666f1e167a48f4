import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/config.loader.js';
import { Noun } from './command.js';
import { EXIT, localError, usageError } from './exit-codes.js';
import { json, keyValues, note, out } from './output.js';

/** The settings with the one secret-bearing value (a database URL's password) masked. */
function withoutSecrets(config: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(config) as { database?: { url?: string } };
  const url = copy.database?.url;
  if (url) {
    try {
      const u = new URL(url);
      if (u.password) u.password = '***';
      copy.database!.url = u.toString();
    } catch {
      copy.database!.url = '***';
    }
  }
  return copy as Record<string, unknown>;
}

export const configNoun: Noun = {
  summary: 'configuration files',
  verbs: {
    check: {
      usage: '[file]',
      summary: 'validate a configuration file and print the effective settings, without secrets (offline)',
      details: `Reads config/default.yaml, then [file] (default $GLIDEKEY_CONFIG), then the GLIDEKEY_*
variables, exactly as the service does at start. Exit 5 with the setting named when one is invalid.`,
      offline: true,
      async run(ctx) {
        const [file, extra] = ctx.args;
        if (extra) throw usageError(`unexpected argument ${extra}`);
        if (file !== undefined && !existsSync(file)) throw localError(`no such file: ${file}`);
        let config;
        try {
          config = loadConfig(file === undefined ? process.env : { ...process.env, GLIDEKEY_CONFIG: file });
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          note(`glidekey: ${err.message}`);
          return EXIT.CHECK_FAILED;
        }
        const shown = withoutSecrets(config as unknown as Record<string, unknown>);
        if (ctx.json) json(shown);
        else out(keyValues(shown));
        return EXIT.OK;
      },
    },
  },
};
