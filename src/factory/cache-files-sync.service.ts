import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EventBus, ORDER } from '../events/event-bus.js';
import { CacheRef } from '../events/events.js';
import { CacheFiles } from './cache-files.js';
import { CachedCredential, cachedCredentialAd } from './cached-credential.entity.js';
import { WithdrawnCredential } from './withdrawn-credential.entity.js';

/**
 * Keeps the optional file copy of the cache (factory.cacheDir) following the database: after each
 * committed change (`cache.changed`), and at start-up, when a crash between a commit and its files
 * (or an edit) left them apart: files rewritten, and withdrawn credentials' files removed. The database is the truth.
 */
@Injectable()
export class CacheFilesSync implements OnModuleInit, OnApplicationBootstrap {
  private readonly log = new Logger('factory-cache');

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly files: CacheFiles,
    private readonly events: EventBus,
  ) {}

  onModuleInit(): void {
    this.events.on('cache.changed', (change) => this.apply(change.stored, change.removed), ORDER.files);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.files.enabled) return;
    const [rows, withdrawn] = await this.db.read(async (m) => [await m.find(CachedCredential), await m.find(WithdrawnCredential, { select: { frontend: true, entry: true, type: true } })] as const);
    let fixed = 0;
    for (const r of rows) if (this.files.write(r.frontend, r.entry, r.type, this.open(r))) fixed++;
    if (fixed) this.log.warn(`rewrote ${fixed} cache file(s) that did not match the database`);
    // A crash between a withdrawal's commit and its file's removal must not leave the credential on disk.
    let removed = 0;
    for (const w of withdrawn) if (this.files.remove(w.frontend, w.entry, w.type)) removed++;
    if (removed) this.log.warn(`removed ${removed} file(s) of withdrawn credentials`);
  }

  private async apply(stored: CacheRef[], removed: CacheRef[]): Promise<void> {
    if (!this.files.enabled) return;
    for (const ref of removed) this.files.remove(ref.frontend, ref.entry, ref.type);
    if (!stored.length) return;
    const rows = await this.db.read((m) => m.find(CachedCredential, { where: stored.map((r) => ({ frontend: r.frontend, entry: r.entry, type: r.type })) }));
    for (const r of rows) {
      try {
        this.files.write(r.frontend, r.entry, r.type, this.open(r));
      } catch (err) {
        this.log.error({ err }, `could not write the cache file of ${r.frontend}/${r.entry}/${r.type}; the next start rewrites it`);
      }
    }
  }

  private open(r: CachedCredential): string {
    return Buffer.from(this.sealer.open(r.sealedValue, cachedCredentialAd(r))).toString('utf8');
  }
}
