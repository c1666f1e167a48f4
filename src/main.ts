import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { createApp } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/config.loader.js';
import { MasterKeyError } from './crypto/master-key.js';
import { DatabaseMismatchError } from './database/identity.js';
import { installSignalHandlers } from './lifecycle/signals.js';
import { createPino } from './logging/logger.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createPino(config.log.level);
  const app = await createApp(config, { log });
  // Fastify's own listen, after Nest's init: Nest's listen logs a failure as an error line of its own.
  await app.init();
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  await fastify.listen({ port: config.port, host: config.host }).catch((err: NodeJS.ErrnoException) => {
    throw listenError(err, config.host, config.port);
  });
  installSignalHandlers(app, log, config);
  const { port } = fastify.server.address() as AddressInfo;
  new Logger('main').log(`glidekey listening on ${config.tls.cert ? 'https' : 'http'}://${config.host}:${port} (roles: ${config.roles.join(', ')})`);
}

/** A listen failure an admin can act on, as one line naming the setting. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const why: Record<string, string> = {
    EADDRINUSE: 'the address is already in use (another glidekey, or another service on that port?)',
    EACCES: 'permission denied (ports below 1024 need privileges: use a higher port)',
    EADDRNOTAVAIL: 'no such address on this host',
  };
  return err.code && why[err.code] ? new ConfigError(`cannot listen on ${host}:${port} (host, port; env GLIDEKEY_HOST, GLIDEKEY_PORT): ${why[err.code]}`) : err;
}

main().catch((err: unknown) => {
  // Start-up refusals name the setting or file at fault; their messages never carry a secret.
  if (err instanceof ConfigError || err instanceof MasterKeyError || err instanceof DatabaseMismatchError) console.error(`glidekey: ${err.message}`);
  else console.error('glidekey: failed to start:', err);
  process.exit(1);
});
