import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { ApiKeysService } from './api-keys.service.js';

/**
 * First start on an empty database: one admin key with the admin roles of the enabled service
 * roles, written to <dataDir>/admin.key (0600). The log names the file, never the key.
 */
@Injectable()
export class AdminKeyBootstrap implements OnApplicationBootstrap {
  private readonly log = new Logger('auth');

  constructor(
    private readonly keys: ApiKeysService,
    private readonly settings: Settings,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!(await this.keys.none())) return;
    const path = resolve(this.settings.dataDir, 'admin.key');
    if (existsSync(path)) {
      this.log.warn(`${path} exists but the database has no API keys; leaving it alone. Create a key with: npm run glidekey -- apikey create`);
      return;
    }
    try {
      const { secret } = await this.keys.create(undefined, 'admin', this.keys.adminRoles(), 'system:first-start');
      writeFileAtomic(path, secret + '\n', 0o600);
      this.log.log(`created the first admin API key (roles ${this.keys.adminRoles().join(', ')}); it is in ${path}`);
    } catch (err) {
      // Another replica on the same database created it first.
      if (err instanceof DomainError && err.code === 'API_KEY_EXISTS') return;
      throw err;
    }
  }
}
