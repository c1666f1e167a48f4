import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { In } from 'typeorm';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EventBus, ORDER } from '../events/event-bus.js';
import { CacheRef } from '../events/events.js';
import { cacheKeyOf as keyOf, CacheFiles, CacheFileSet } from './cache-files.js';
import { CachedCredential, cachedCredentialAd, groupsOf } from './cached-credential.entity.js';
import { localUserOf, RegisteredFrontend } from './registered-frontend.entity.js';
import { WithdrawnCredential } from './withdrawn-credential.entity.js';
import { chunks } from '../database/sql.js';

/**
 * Keeps the optional file copy of the cache (factory.cacheDir) following the database: after each
 * committed change (`cache.changed`), and at start-up, when a crash between a commit and its files
 * (or an edit) left them apart: files rewritten, files of groups no longer served or of an older
 * layout removed, and withdrawn or deleted credentials' files removed. The database is the truth.
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
    const [rows, withdrawn, users] = await this.db.read(
      async (m) =>
        [
          await m.find(CachedCredential),
          await m.find(WithdrawnCredential, { select: { frontend: true, entry: true, type: true } }),
          await this.localUsers(m),
        ] as const,
    );
    const held = new Set(rows.map(keyOf));
    // A crash between a withdrawal's (or an entry deletion's) commit and its files' removal must not leave the credential on disk.
    const gone = [...withdrawn, ...this.files.refs()].filter((r) => !held.has(keyOf(r)));
    const done = this.files.apply(
      rows.map((r) => this.fileSet(r, users)),
      gone,
    );
    if (done.written) this.log.warn(`rewrote ${done.written} cache file(s) that did not match the database`);
    if (done.removed) this.log.warn(`removed ${done.removed} cache file(s) of withdrawn credentials, of groups no longer served, or of the older layout`);
  }

  private async apply(stored: CacheRef[], removed: CacheRef[]): Promise<void> {
    if (!this.files.enabled) return;
    const [rows, users] = stored.length
      ? await this.db.read(async (m) => [await this.rowsOf(m, stored), await this.localUsers(m)] as const)
      : [[], new Map<string, string>()];
    try {
      this.files.apply(
        rows.map((r) => this.fileSet(r, users)),
        removed,
      );
    } catch (err) {
      this.log.error({ err }, 'could not update the cache files; the next start repairs them');
    }
  }

  /** The cached rows of `refs`: read by frontend and entry, 500 entries a query (not one OR term per credential), then by type. */
  private async rowsOf(m: Parameters<Parameters<Db['read']>[0]>[0], refs: CacheRef[]): Promise<CachedCredential[]> {
    const wanted = new Set(refs.map(keyOf));
    const byFrontend = new Map<string, Set<string>>();
    for (const r of refs) {
      const entries = byFrontend.get(r.frontend) ?? new Set<string>();
      entries.add(r.entry);
      byFrontend.set(r.frontend, entries);
    }
    const rows: CachedCredential[] = [];
    for (const [frontend, set] of byFrontend) {
      const entries = [...set];
      for (const slice of chunks(entries)) {
        for (const r of await m.find(CachedCredential, { where: { frontend, entry: In(slice) } })) if (wanted.has(keyOf(r))) rows.push(r);
      }
    }
    return rows;
  }

  private async localUsers(m: Parameters<Parameters<Db['read']>[0]>[0]): Promise<Map<string, string>> {
    return new Map((await m.find(RegisteredFrontend, { select: { name: true, localUser: true } })).map((f) => [f.name, localUserOf(f)]));
  }

  private fileSet(r: CachedCredential, users: Map<string, string>): CacheFileSet {
    const ref = { frontend: r.frontend, entry: r.entry, type: r.type };
    return {
      ref,
      value: Buffer.from(this.sealer.open(r.sealedValue, cachedCredentialAd(r))).toString('utf8'),
      paths: this.files.pathsOf(users.get(r.frontend) ?? r.frontend, ref, groupsOf(r)),
    };
  }
}
