import { resolve } from 'node:path';
import { AppConfig } from './config.schema.js';

/** The validated configuration with its derived paths; injected by class. */
export class Settings {
  readonly dataDir: string;
  readonly masterKeyFile: string;
  readonly masterKeyFileIsDefault: boolean;
  readonly sqlitePath: string;

  constructor(readonly config: AppConfig) {
    this.dataDir = resolve(config.dataDir);
    this.masterKeyFileIsDefault = !config.masterKeyFile;
    this.masterKeyFile = resolve(config.masterKeyFile ?? resolve(this.dataDir, 'master.key'));
    this.sqlitePath = resolve(this.dataDir, 'glidekey.sqlite');
  }

  hasRole(role: AppConfig['roles'][number]): boolean {
    return this.config.roles.includes(role);
  }
}
