import { Logger } from '@nestjs/common';
import { join, resolve } from 'node:path';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { DesiredFiles, ManagedDir, ManagedDirReport } from './managed-dir.js';
import { FileKind, GwmsMetrics } from './gwms.metrics.js';

export type SyncReason = 'startup' | 'change' | 'tick';

/**
 * One directory glidekey keeps for the GlideinWMS frontend: one sync at a time, each a full
 * comparison with the database (a few files per site), a log line per change, and metrics.
 */
export abstract class FrontendFiles {
  protected readonly managed: ManagedDir | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private lastProblem = '';
  /** The database's identity (set by the subclass at init): stamped in the manifest. */
  protected databaseId: string | undefined;

  protected constructor(
    protected readonly kind: FileKind,
    protected readonly log: Logger,
    dir: string | undefined,
    manifest: string,
    protected readonly clock: Clock,
    protected readonly settings: Settings,
    private readonly metrics: GwmsMetrics,
  ) {
    this.managed = dir ? new ManagedDir(resolve(dir), join(settings.dataDir, manifest), () => this.databaseId) : undefined;
    if (this.managed) metrics.track(kind, () => this.managed!.ages(this.clock.now()));
  }

  get enabled(): boolean {
    return this.managed !== undefined;
  }

  /** What the directory must hold now. */
  protected abstract desired(): Promise<Omit<DesiredFiles, 'now' | 'refreshMs'>>;

  /** Brings the directory in line with the database; one sync at a time. */
  sync(reason: SyncReason): Promise<ManagedDirReport | undefined> {
    const run = this.running.then(() => this.syncNow(reason));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async syncNow(reason: SyncReason): Promise<ManagedDirReport | undefined> {
    if (!this.managed) return undefined;
    const want = await this.desired();
    const now = this.clock.now();
    const r = this.managed.sync({ ...want, now, refreshMs: this.settings.config.gwms.frontend.refreshSeconds * 1000 }, reason === 'startup');
    for (const b of want.files.values()) b.fill(0);
    this.metrics.record(this.kind, r);
    this.report(reason, r);
    return r;
  }

  private report(reason: SyncReason, r: ManagedDirReport): void {
    const dir = this.managed!.dir;
    const problem = JSON.stringify([r.conflicts, r.kept ?? []]);
    if (problem !== this.lastProblem) {
      if (r.conflicts.length)
        this.log.error(
          `not writing ${r.conflicts.map((n) => join(dir, n)).join(', ')}: held by file(s) glidekey did not write (or not regular files); move them away`,
        );
      if (r.kept?.length)
        this.log.error(`keeping ${r.kept.length} file(s) in ${dir}: the database holds nothing and did not write them; restore it, or remove them by hand`);
    }
    this.lastProblem = problem;
    if (r.claimed.length) this.log.warn(`took over ${r.claimed.join(', ')} in ${dir}: not written by glidekey before; glidekey keeps them from now on`);
    // Drift someone else caused is a warning; writes that follow the database (here or on another replica) are news.
    if (r.repaired.length) this.log.warn(`${reason}: repaired ${r.repaired.join(', ')} in ${dir} (deleted, edited or loosened since glidekey wrote them)`);
    if (r.written.length || r.removed.length)
      this.log.log(`${reason}: wrote ${r.written.join(', ') || 'nothing'}, removed ${r.removed.join(', ') || 'nothing'} in ${dir}`);
    if (r.refreshed.length) this.log.debug(`renewed the mtime of ${r.refreshed.length} file(s) in ${dir}`);
  }
}
