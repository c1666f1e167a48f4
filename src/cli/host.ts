import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createPino, PinoNestLogger } from '../logging/logger.js';
import { apiKeyResponse } from '../auth/api-key.response.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { API_ROLES, ApiRole } from '../auth/principal.js';
import { openRuntime } from '../bootstrap.js';
import { ConfigError, loadConfig } from '../config/config.loader.js';
import { CoreModule } from '../core.module.js';
import { MasterKeyError } from '../crypto/master-key.js';
import { DatabaseMismatchError, DatabaseMissingError } from '../database/identity.js';
import { BackupError, backupSqlite } from '../database/backup.js';
import { Settings } from '../config/settings.js';
import { ArchiveError } from '../retention/archive-file.js';
import { PRUNE_USAGE, runPrune } from './prune.command.js';

const USAGE = `usage: npm run glidekey -- <command>

  apikey create --name NAME --role ROLE [--role ROLE ...]   create a key; prints the secret once
  apikey list                                                list keys (never secrets)
  apikey revoke ID|NAME                                      revoke a key at once
  backup DEST                                                consistent SQLite copy to a new file DEST (0600);
                                                             back up master.key separately
${PRUNE_USAGE}

  --init   with apikey: create the database and master key when there is none yet (a new installation);
           without it a data directory holding no database is refused, exit 1

roles: ${API_ROLES.join(', ')}
Reads the same configuration as the service (config/, GLIDEKEY_CONFIG, GLIDEKEY_*).`;

@Module({})
class CliModule {}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'prune' && !argv.includes('--help') && !argv.includes('-h')) return runPrune(argv.slice(1), USAGE);
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, role: { type: 'string', multiple: true }, init: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [noun, verb, arg] = positionals;
  if (noun === 'backup' && !values.help) {
    if (!verb || arg) {
      console.error(USAGE);
      return 2;
    }
    const target = backupSqlite(new Settings(loadConfig()), verb);
    console.error(`backed up the database to ${target} (mode 0600); master.key is not in it: back that up separately`);
    return 0;
  }
  if (values.help || noun !== 'apikey' || !['create', 'list', 'revoke'].includes(verb ?? '')) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  // Logs go to stderr as JSON, so stdout carries only what a script captures (the secret).
  Logger.overrideLogger(new PinoNestLogger(createPino('warn', pino.destination(2))));
  const rt = await openRuntime(loadConfig(), { create: values.init === true });
  const app = await NestFactory.createApplicationContext(
    { module: CliModule, imports: [CoreModule.forRoot(rt)], providers: [ApiKeysService] },
    { logger: new PinoNestLogger(createPino('warn', pino.destination(2))) },
  );
  try {
    const keys = app.get(ApiKeysService);
    const actor = `cli:${userInfo().username}`;
    if (verb === 'create') {
      const roles = (values.role ?? []) as ApiRole[];
      const bad = roles.find((r) => !API_ROLES.includes(r));
      if (!values.name || !roles.length || bad) {
        console.error(bad ? `unknown role ${bad}` : USAGE);
        return 2;
      }
      const { key, secret } = await keys.create(undefined, values.name, roles, actor);
      console.error(`created API key ${key.name} (id ${key.id}, roles ${key.roles}); the secret follows and is not shown again:`);
      console.log(secret);
    } else if (verb === 'list') {
      console.log(JSON.stringify((await keys.list()).map(apiKeyResponse), null, 2));
    } else {
      if (!arg) {
        console.error(USAGE);
        return 2;
      }
      const key = await keys.revoke(undefined, arg, actor);
      console.error(`revoked API key ${key.name} (id ${key.id})`);
    }
    return 0;
  } finally {
    await app.close();
    await rt.db.close().catch(() => undefined);
  }
}

/** The host verbs (apikey, backup, prune): on the database directly, with the service's configuration. Returns the exit code. */
export function runHost(argv: string[]): Promise<number> {
  return main(argv).catch((err: unknown) => {
    const known =
      err instanceof ConfigError ||
      err instanceof MasterKeyError ||
      err instanceof DatabaseMismatchError ||
      err instanceof DatabaseMissingError ||
      err instanceof BackupError ||
      err instanceof ArchiveError ||
      (err as { code?: string }).code !== undefined;
    console.error(`glidekey: ${known ? (err as Error).message : String(err)}`);
    return 1;
  });
}
