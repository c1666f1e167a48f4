import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAtomicTemp, writeFileAtomic, writeFilesAtomic } from '../common/atomic-file.js';
import { DomainError } from '../common/errors.js';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { DATABASE_ID } from '../database/identity.js';
import { metaStore } from '../database/meta.store.js';
import { EventBus, ORDER } from '../events/event-bus.js';
import { inPasswordsDir, maySign } from '../sites/key-usability.js';
import { sitesStore } from '../sites/sites.store.js';
import { SiteKeysService } from '../sites/site-keys.service.js';

export interface SyncReport {
  written: string[];
  repaired: string[];
  removed: string[];
  /** Managed keys whose name is taken by a file glidekey did not write, holding other bytes: their tokens fail at the collector. */
  conflicts: string[];
  /** Managed keys whose name is taken by a file glidekey did not write, holding the same key (the collector's own POOL, say): left alone. */
  foreign: string[];
}

interface Manifest {
  dir: string;
  files: string[];
  /** The identity of the database whose keys these are (absent in manifests older than it). */
  database?: string;
}

/**
 * Keeps frontend.passwordsDir holding exactly the usable keys glidekey manages (active, and in
 * grace), in HTCondor's scrambled format, each written atomically with mode 0600; retired keys'
 * files go. Which files glidekey wrote is recorded in <dataDir>/passwords-dir.json (not in the
 * directory, where HTCondor would see it); any other file there is never touched, and a file of
 * the same name that glidekey did not write is reported, never taken over, rewritten or removed,
 * even when it holds the very key glidekey has (the collector's own POOL imported as a site).
 */
@Injectable()
export class PasswordsDirService implements OnModuleInit {
  private readonly log = new Logger('passwords.d');
  private readonly dir: string | undefined;
  private readonly manifestPath: string;
  private running: Promise<unknown> = Promise.resolve();
  private databaseId: string | undefined;
  private lastForeign = '';

  constructor(
    private readonly db: Db,
    private readonly keys: SiteKeysService,
    private readonly clock: Clock,
    private readonly events: EventBus,
    settings: Settings,
  ) {
    this.dir = settings.config.frontend.passwordsDir ? resolve(settings.config.frontend.passwordsDir) : undefined;
    this.manifestPath = resolve(settings.dataDir, 'passwords-dir.json');
  }

  async onModuleInit(): Promise<void> {
    this.databaseId = (await this.db.read((m) => metaStore.get(m, DATABASE_ID)))?.value;
    this.events.on(
      'keys.changed',
      async () => {
        await this.sync('change');
      },
      ORDER.files,
    );
  }

  get enabled(): boolean {
    return this.dir !== undefined;
  }

  /**
   * Writes a new key version's file before the rotation that creates it commits, so no token of the
   * new version exists before the collector can read its key. If the rotation then fails, the next
   * sync removes the file (it is in the manifest, not in the database).
   */
  prewrite(kid: string, scrambled: Buffer): void {
    if (!this.dir) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const manifest = this.loadManifest();
    const managed = new Set(manifest.dir === this.dir ? manifest.files : []);
    const path = join(this.dir, kid);
    if (existsSync(path) && !managed.has(kid)) {
      // Not ours: the rotation must not commit a key the collector would never get.
      throw new DomainError('PASSWORDS_DIR_CONFLICT', `${path} exists and was not written by glidekey; move it away to rotate this site`);
    }
    managed.add(kid);
    this.saveManifest(this.dir, managed);
    writeFileAtomic(path, scrambled, 0o600);
    // Before the rotation commits, like the file itself (a subscriber's failure is logged by the bus).
    void this.events.emit('collector.files', { keysWritten: [kid] });
  }

  /**
   * The kids among `kids` whose file in the directory was not written by glidekey. glidekey must not
   * rotate such a key: it could neither replace the file nor remove it when the old key retires,
   * so the collector would keep accepting tokens glidekey reports retired.
   */
  foreignFiles(kids: string[]): string[] {
    if (!this.dir) return [];
    const manifest = this.loadManifest();
    const managed = new Set(manifest.dir === this.dir ? manifest.files : []);
    return kids.filter((kid) => !managed.has(kid) && existsSync(join(this.dir!, kid)));
  }

  /** Brings the directory in line with the database; one sync at a time. */
  sync(reason: 'startup' | 'change' | 'tick'): Promise<SyncReport> {
    const run = this.running.then(() => this.syncNow(reason));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async syncNow(reason: string): Promise<SyncReport> {
    const report: SyncReport = { written: [], repaired: [], removed: [], conflicts: [], foreign: [] };
    if (!this.dir) return report;
    const dir = this.dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (reason === 'startup') {
      // A crash between writing and renaming leaves our temp file behind (a name only we use).
      for (const f of readdirSync(dir).filter(isAtomicTemp)) {
        unlinkSync(join(dir, f));
        report.removed.push(f);
      }
    }
    const desired = await this.desired();
    const manifest = this.loadManifest();
    const managed = new Set(manifest.dir === dir ? manifest.files : []);
    // Never adopted, even with equal bytes: whoever made a file glidekey did not write (the
    // collector, for its POOL) owns it, and a later delete or rotation must not remove or replace it.
    const notOurs = new Set([...desired.keys()].filter((kid) => !managed.has(kid) && existsSync(join(dir, kid))));
    const fresh = [...desired.keys()].filter((kid) => !managed.has(kid) && !notOurs.has(kid));
    if (fresh.length) {
      // Record before writing: a crash in between leaves manifest entries, never an orphan file.
      // All new names in one manifest write (one per name made a first sync of n sites O(n^2)).
      for (const kid of fresh) managed.add(kid);
      this.saveManifest(dir, managed);
    }
    // Missing or differing files are written together: one directory fsync for all of them.
    const writes: [kid: string, bytes: Buffer, as: 'written' | 'repaired'][] = [];
    try {
      for (const [kid, bytes] of desired) {
        const path = join(dir, kid);
        if (notOurs.has(kid)) {
          (readFileSync(path).equals(bytes) ? report.foreign : report.conflicts).push(kid);
          continue;
        }
        if (!existsSync(path)) writes.push([kid, bytes, reason === 'startup' ? 'repaired' : 'written']);
        else if (!readFileSync(path).equals(bytes)) writes.push([kid, bytes, 'repaired']);
        else if ((statSync(path).mode & 0o777) !== 0o600) {
          chmodSync(path, 0o600);
          report.repaired.push(kid);
        }
      }
      writeFilesAtomic(
        dir,
        writes.map(([kid, bytes]) => [kid, bytes] as const),
        0o600,
      );
      for (const [kid, , as] of writes) report[as].push(kid);
    } finally {
      for (const bytes of desired.values()) bytes.fill(0);
    }
    const doomed = [...managed].filter((kid) => !desired.has(kid));
    if (doomed.length && doomed.length === managed.size && manifest.database !== this.databaseId && (await this.db.read((m) => sitesStore.count(m))) === 0) {
      // A database with no sites, and a manifest it did not write: an emptied or replaced database,
      // not sites deleted here. Removing the files would lock every glidein out of the collector.
      this.log.error(
        `refusing to remove all ${doomed.length} key file(s) glidekey manages in ${dir}: the database holds no sites and ${this.manifestPath} was not written for it. ` +
          'If the database was lost, restore it from backup; if these keys are retired on purpose, remove the files and the manifest by hand.',
      );
      return report;
    }
    if (managed.size && manifest.database !== this.databaseId && !doomed.length) this.saveManifest(dir, managed);
    for (const kid of doomed) {
      const path = join(dir, kid);
      if (existsSync(path)) unlinkSync(path);
      managed.delete(kid);
      report.removed.push(kid);
    }
    // After the files: a crash in between leaves entries whose file is gone, which the next sync drops.
    if (doomed.length) this.saveManifest(dir, managed);
    // Our own leftover temp files were never keys the collector could read.
    await this.events.emit('collector.files', {
      keysWritten: [...report.written, ...report.repaired],
      keysRemoved: report.removed.filter((f) => !isAtomicTemp(f)),
    });
    const foreign = report.foreign.join(',');
    if (foreign && foreign !== this.lastForeign) {
      this.log.warn(
        `leaving ${report.foreign.map((k) => join(dir, k)).join(', ')} alone: not written by glidekey, though holding the same key; glidekey will not rotate these sites`,
      );
    }
    this.lastForeign = foreign;
    if (report.conflicts.length) {
      this.log.error(`not overwriting ${report.conflicts.map((k) => join(dir, k)).join(', ')}: file(s) not written by glidekey hold a different key`);
    }
    if (report.repaired.length || (reason !== 'change' && (report.written.length || report.removed.length))) {
      this.log.warn(`${reason}: repaired ${JSON.stringify({ ...report, conflicts: undefined, foreign: undefined })} in ${dir}`);
    } else if (report.written.length || report.removed.length) {
      this.log.log(`wrote ${report.written.join(', ') || 'nothing'}, removed ${report.removed.join(', ') || 'nothing'} in ${dir}`);
    }
    return report;
  }

  /** kid -> scrambled bytes of every usable key. */
  private async desired(): Promise<Map<string, Buffer>> {
    const now = this.clock.now();
    const rows = await this.db.read((m) => sitesStore.liveKeys(m, true));
    const out = new Map<string, Buffer>();
    // An active key wins a name it shares with an older version.
    rows.sort((a, b) => (a.state === b.state ? 0 : maySign(a) ? -1 : 1));
    for (const k of rows) {
      if (!inPasswordsDir(k, now)) continue;
      if (!out.has(k.kid)) out.set(k.kid, this.keys.keyFile(k));
    }
    return out;
  }

  private loadManifest(): Manifest {
    try {
      const m = JSON.parse(readFileSync(this.manifestPath, 'utf8')) as Manifest;
      return typeof m.dir === 'string' && Array.isArray(m.files) ? m : { dir: '', files: [] };
    } catch {
      return { dir: '', files: [] };
    }
  }

  private saveManifest(dir: string, files: Set<string>): void {
    const manifest: Manifest = { dir, files: [...files].sort(), database: this.databaseId };
    writeFileAtomic(this.manifestPath, JSON.stringify(manifest, null, 1) + '\n', 0o600);
  }
}
