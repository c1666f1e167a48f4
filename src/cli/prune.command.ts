import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { openRuntime } from '../bootstrap.js';
import { loadConfig } from '../config/config.loader.js';
import { CoreModule } from '../core.module.js';
import { createPino, PinoNestLogger } from '../logging/logger.js';
import { PruneService } from '../retention/prune.service.js';

export const PRUNE_USAGE = `  prune --archive FILE.jsonl.gz [--before ISO] [--dry-run]
                                                             archive (gzip'd JSON lines, 0600, a new file) then delete
                                                             ledger rows and audit lines older than retention.*Days`;

@Module({})
class PruneCliModule {}

/** `glidekey prune`: on the database directly. Prints the result as JSON on stdout; returns the exit code. */
export async function runPrune(argv: string[], usage: string): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { archive: { type: 'string' }, before: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  });
  const before = values.before === undefined ? undefined : Date.parse(values.before);
  if (positionals.length || (before !== undefined && !Number.isFinite(before)) || (!values.archive && !values['dry-run'])) {
    console.error(usage);
    return 2;
  }
  const config = loadConfig();
  if (config.retention.ledgerDays === undefined && config.retention.auditDays === undefined) {
    console.error('glidekey: neither retention.ledgerDays nor retention.auditDays is set: everything is kept, nothing to prune');
    return 1;
  }
  Logger.overrideLogger(new PinoNestLogger(createPino('warn', pino.destination(2))));
  const rt = await openRuntime(config, { create: false });
  const app = await NestFactory.createApplicationContext(
    { module: PruneCliModule, imports: [CoreModule.forRoot(rt)], providers: [PruneService] },
    { logger: new PinoNestLogger(createPino('warn', pino.destination(2))) },
  );
  try {
    const r = await app.get(PruneService).prune({ archive: values.archive, before, dryRun: values['dry-run'] === true, actor: `cli:${userInfo().username}` });
    console.error(
      values['dry-run']
        ? `dry run: would archive and prune ${r.ledgerRows} ledger row(s) and ${r.auditLines} audit line(s); nothing was changed`
        : `archived ${r.ledgerRows} ledger row(s) and ${r.auditLines} audit line(s) to ${r.archive} (mode 0600, sha256 ${r.sha256}), then pruned them`,
    );
    console.log(JSON.stringify(r));
    return 0;
  } finally {
    await app.close();
    await rt.db.close().catch(() => undefined);
  }
}
