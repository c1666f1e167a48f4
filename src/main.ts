import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/config.loader.js';
import { MasterKeyError } from './crypto/master-key.js';
import { DatabaseMismatchError } from './database/identity.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  new Logger('main').log(`glidekey listening on ${await app.getUrl()} (roles: ${config.roles.join(', ')})`);
}

main().catch((err: unknown) => {
  // Start-up refusals name the setting or file at fault; their messages never carry a secret.
  if (err instanceof ConfigError || err instanceof MasterKeyError || err instanceof DatabaseMismatchError) console.error(`glidekey: ${err.message}`);
  else console.error('glidekey: failed to start:', err);
  process.exit(1);
});
