import { closeSync, constants, fchmodSync, futimesSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, Stats, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isAtomicTemp, writeFileAtomic } from '../common/atomic-file.js';

export interface ManagedDirReport {
  /** New files, and files whose credential changed. */
  written: string[];
  /** Files of a name glidekey keeps that it had not written (the frontend's own, before glidekey): now glidekey's. */
  claimed: string[];
  /** Files that had drifted (deleted, edited, loosened) and were put back. */
  repaired: string[];
  /** Unchanged files whose mtime was renewed. */
  refreshed: string[];
  removed: string[];
  /** Files glidekey wrote that an empty database no longer names: kept (see sync). */
  kept?: string[];
  /** Names glidekey would keep, held by something it did not write and may not take over (or not a regular file): left alone. */
  conflicts: string[];
}

export interface DesiredFiles {
  /** File name -> exact content. */
  files: Map<string, Buffer>;
  /** Whether a file of this desired name that glidekey did not write may be taken over. */
  mayClaim: (name: string) => boolean;
  /** A file unchanged for this long gets a new mtime. */
  refreshMs: number;
  now: number;
  /** The database holds no sites or tokens at all (an emptied or replaced database, or a fresh one). */
  databaseEmpty: boolean;
}

interface Manifest {
  dir: string;
  files: string[];
  /** The identity of the database whose credentials these are. */
  database?: string;
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const lstat = (p: string): Stats | null => {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
};

/**
 * A directory where glidekey keeps some files for another program (GlideinWMS's frontend) beside
 * files it must never touch. Which names glidekey wrote is recorded in a manifest kept outside
 * the directory (in the data directory); only those are ever rewritten or removed. Each file is
 * written atomically with mode 0600 and exactly the desired bytes. Writes are idempotent: replicas
 * keeping the same directory write the same bytes.
 */
export class ManagedDir {
  /** SHA-256 of what this process last wrote per name: tells a change of credential from an edit (drift). */
  private readonly lastWritten = new Map<string, string>();

  constructor(
    readonly dir: string,
    private readonly manifestPath: string,
    private readonly databaseId: () => string | undefined,
  ) {}

  sync(want: DesiredFiles, startup: boolean): ManagedDirReport {
    const report: ManagedDirReport = { written: [], claimed: [], repaired: [], refreshed: [], removed: [], conflicts: [] };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const manifest = this.loadManifest();
    const managed = new Set(manifest.files);
    if (startup) this.removeOwnTemps(managed, want.files);
    for (const [name, bytes] of want.files) this.keep(name, bytes, managed, want, report);
    const doomed = [...managed].filter((n) => !want.files.has(n));
    // An empty database that did not write the manifest is a lost or replaced one, not credentials
    // deleted here: emptying the directory would leave the frontend with nothing to send.
    const lost = doomed.length === managed.size && want.databaseEmpty && manifest.database !== this.databaseId();
    if (doomed.length && lost) report.kept = doomed;
    else {
      for (const name of doomed) {
        const path = join(this.dir, name);
        // Something else put there since (a link, a directory) is not ours to remove.
        if (lstat(path)?.isFile()) unlinkSync(path);
        managed.delete(name);
        this.lastWritten.delete(name);
        this.saveManifest(managed);
        report.removed.push(name);
      }
    }
    return report;
  }

  /** The names glidekey keeps there now, and their mtimes (for the age metric). */
  ages(now: number): number[] {
    const out: number[] = [];
    for (const name of this.loadManifest().files) {
      const st = lstat(join(this.dir, name));
      if (st?.isFile()) out.push(Math.max(0, (now - st.mtimeMs) / 1000));
    }
    return out;
  }

  private keep(name: string, bytes: Buffer, managed: Set<string>, want: DesiredFiles, report: ManagedDirReport): void {
    const path = join(this.dir, name);
    const st = lstat(path);
    const ours = managed.has(name);
    if (st && (!st.isFile() || (!ours && !want.mayClaim(name)))) {
      report.conflicts.push(name);
      return;
    }
    if (!ours) {
      // Recorded before writing: a crash in between leaves a manifest entry, never an orphan file.
      managed.add(name);
      this.saveManifest(managed);
    }
    const sum = digest(bytes);
    if (!st) {
      writeFileAtomic(path, bytes, 0o600);
      (ours ? report.repaired : report.written).push(name);
    } else if (!readFileSync(path).equals(bytes)) {
      const held = digest(readFileSync(path));
      writeFileAtomic(path, bytes, 0o600);
      if (!ours) report.claimed.push(name);
      else if (this.lastWritten.get(name) === held) report.written.push(name);
      else report.repaired.push(name);
    } else if ((st.mode & 0o777) !== 0o600) {
      onFile(path, (fd) => fchmodSync(fd, 0o600));
      report.repaired.push(name);
    } else if (want.now - st.mtimeMs >= want.refreshMs) {
      const t = want.now / 1000;
      onFile(path, (fd) => futimesSync(fd, t, t));
      report.refreshed.push(name);
    }
    this.lastWritten.set(name, sum);
  }

  /** A crash between writing and renaming leaves `.<name>.<hex>.tmp`: removed when `<name>` is one glidekey keeps. */
  private removeOwnTemps(managed: Set<string>, desired: Map<string, Buffer>): void {
    for (const f of readdirSync(this.dir).filter(isAtomicTemp)) {
      const base = f.slice(1).replace(/\.[0-9a-f]{12}\.tmp$/, '');
      if (managed.has(base) || desired.has(base)) unlinkSync(join(this.dir, f));
    }
  }

  private loadManifest(): Manifest {
    try {
      const m = JSON.parse(readFileSync(this.manifestPath, 'utf8')) as Manifest;
      if (m.dir === this.dir && Array.isArray(m.files)) return { dir: m.dir, files: m.files.filter((f) => typeof f === 'string'), database: m.database };
    } catch {
      // none yet, or unreadable: nothing is known to be ours
    }
    return { dir: this.dir, files: [] };
  }

  private saveManifest(files: Set<string>): void {
    const manifest: Manifest = { dir: this.dir, files: [...files].sort(), database: this.databaseId() };
    writeFileAtomic(this.manifestPath, JSON.stringify(manifest, null, 1) + '\n', 0o600);
  }
}

/**
 * Changes a file's mode or times through a descriptor opened without following a symlink: the
 * directory's owner (the frontend's account) may swap the checked file for a link meanwhile.
 */
function onFile(path: string, change: (fd: number) => void): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    change(fd);
  } finally {
    closeSync(fd);
  }
}
