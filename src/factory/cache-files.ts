import { Injectable, Logger } from '@nestjs/common';
import { existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import { Settings } from '../config/settings.js';
import type { CredentialType } from './cached-credential.entity.js';

/**
 * The optional file copy of the factory cache, in GlideinWMS's layout:
 * `<cacheDir>/user_<frontend>/glidein_<instance>/credential_<frontend>_<entry>.<type>`, each
 * written atomically with mode 0600 (directories 0700). The database is the truth; files follow it.
 */
@Injectable()
export class CacheFiles {
  private readonly log = new Logger('factory-cache');

  constructor(private readonly settings: Settings) {}

  get enabled(): boolean {
    return Boolean(this.settings.config.factory.cacheDir);
  }

  /** Where a credential's file lives (names are plain names, checked at the edge: no slash, no leading dot). */
  pathOf(frontend: string, entry: string, type: CredentialType): string {
    const { cacheDir, instanceName } = this.settings.config.factory;
    return join(cacheDir!, `user_${frontend}`, `glidein_${instanceName}`, `credential_${frontend}_${entry}.${type}`);
  }

  /** Writes the file unless it already holds exactly these bytes with mode 0600; returns whether it wrote. */
  write(frontend: string, entry: string, type: CredentialType, value: string): boolean {
    if (!this.enabled) return false;
    const path = this.pathOf(frontend, entry, type);
    if (existsSync(path)) {
      const st = lstatSync(path);
      if (st.isFile() && (st.mode & 0o777) === 0o600 && readFileSync(path, 'utf8') === value) return false;
    }
    writeFileAtomic(path, value, 0o600);
    return true;
  }

  /** Removes a credential's file; true when there was one. */
  remove(frontend: string, entry: string, type: CredentialType): boolean {
    if (!this.enabled) return false;
    try {
      unlinkSync(this.pathOf(frontend, entry, type));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err }, `could not remove the cache file of ${frontend}/${entry}/${type}`);
      return false;
    }
  }
}
