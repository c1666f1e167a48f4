import { Injectable, Logger } from '@nestjs/common';
import { existsSync, lstatSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isAtomicTemp, writeFileAtomic, writeFilesAtomic } from '../common/atomic-file.js';
import { Settings } from '../config/settings.js';
import type { CacheRef } from '../events/events.js';

/** One credential's files: its cache key, its bytes, and where GlideinWMS reads it (paths relative to cacheDir). */
export interface CacheFileSet {
  ref: CacheRef;
  value: string;
  paths: string[];
}

const MANIFEST = 'cache-files.json';
/** A credential's key in the manifest and in sets of refs. */
export const cacheKeyOf = (r: CacheRef) => JSON.stringify([r.frontend, r.entry, r.type]);

/**
 * The optional file copy of the factory cache (factory.cacheDir), in GlideinWMS's names:
 * `user_<localUser>/glidein_<instance>/credential_<frontend>.<group>_<entry>.<type>`, one file per
 * frontend group the credential serves (GlideinWMS's ClientName is `<frontend>.<group>`), each
 * written atomically with mode 0600 (directories 0700). The database is the truth; files follow it.
 *
 * Which files glidekey wrote for which credential is kept in `<dataDir>/cache-files.json`, so that
 * a group no longer served, or a changed local user, removes exactly glidekey's own files and never
 * one that GlideinWMS's factory wrote beside them. Before that record existed (an older glidekey),
 * each credential had one file, `user_<frontend>/glidein_<instance>/credential_<frontend>_<entry>.<type>`:
 * a credential with no record owns that one, and it is removed once the new names are written.
 */
@Injectable()
export class CacheFiles {
  private readonly log = new Logger('factory-cache');
  private manifest: Map<string, string[]> | null = null;

  constructor(private readonly settings: Settings) {}

  get enabled(): boolean {
    return Boolean(this.settings.config.factory.cacheDir);
  }

  /** Where a credential's files live, one per group (names are plain names, checked at the edge: no slash, no leading dot). */
  pathsOf(localUser: string, ref: CacheRef, groups: readonly string[]): string[] {
    const dir = join(`user_${localUser}`, `glidein_${this.settings.config.factory.instanceName}`);
    return groups.map((g) => join(dir, `credential_${ref.frontend}.${g}_${ref.entry}.${ref.type}`));
  }

  /** The one file an older glidekey wrote for a credential. */
  legacyPathOf(ref: CacheRef): string {
    return join(`user_${ref.frontend}`, `glidein_${this.settings.config.factory.instanceName}`, `credential_${ref.frontend}_${ref.entry}.${ref.type}`);
  }

  /** The credentials glidekey holds files of (to find those whose rows are gone). */
  refs(): CacheRef[] {
    return [...this.load().keys()].map((k) => {
      const [frontend, entry, type] = JSON.parse(k) as [string, string, CacheRef['type']];
      return { frontend, entry, type };
    });
  }

  /**
   * Makes each credential's files exactly `paths`, holding `value` (rewritten only when they differ
   * or are not 0600), and removes the files of each credential in `removed`, and every file a
   * credential had that it no longer names. Returns how many files it wrote and removed.
   */
  apply(sets: CacheFileSet[], removed: CacheRef[] = []): { written: number; removed: number } {
    const done = { written: 0, removed: 0 };
    if (!this.enabled || (!sets.length && !removed.length)) return done;
    const manifest = this.load();
    const owned = (r: CacheRef) => manifest.get(cacheKeyOf(r)) ?? [this.legacyPathOf(r)];
    sets = this.withoutClashes(sets, manifest);
    // First record every file about to exist, so a crash at any point leaves none unaccounted for.
    for (const s of sets) manifest.set(cacheKeyOf(s.ref), [...new Set([...owned(s.ref), ...s.paths])]);
    this.save(manifest);
    // The files to (re)write, by directory: each written atomically (0600 temp file, fsync, rename),
    // then one fsync of its directory for all of them (writeFilesAtomic), not one per file.
    const byDir = new Map<string, [name: string, data: Buffer, rel: string][]>();
    for (const s of sets) {
      for (const p of s.paths) {
        try {
          if (!this.needsWrite(p, s.value)) continue;
          const path = join(this.settings.config.factory.cacheDir!, p);
          const dir = dirname(path);
          const list = byDir.get(dir) ?? [];
          if (!list.length) byDir.set(dir, list);
          list.push([basename(path), Buffer.from(s.value, 'utf8'), p]);
        } catch (err) {
          this.log.error({ err }, `could not write the cache file ${p}; the next start rewrites it`);
        }
      }
    }
    for (const [dir, files] of byDir) {
      try {
        writeFilesAtomic(
          dir,
          files.map(([name, data]) => [name, data] as const),
          0o600,
        );
        done.written += files.length;
      } catch (err) {
        this.log.error({ err }, `could not write the cache file(s) ${files.map((f) => f[2]).join(', ')}; the next start rewrites them`);
      }
    }
    for (const s of sets) {
      for (const p of manifest.get(cacheKeyOf(s.ref))!) if (!s.paths.includes(p) && this.removeOne(p)) done.removed++;
      manifest.set(cacheKeyOf(s.ref), [...s.paths]);
    }
    for (const r of removed) {
      if (sets.some((s) => cacheKeyOf(s.ref) === cacheKeyOf(r))) continue;
      for (const p of owned(r)) if (this.removeOne(p)) done.removed++;
      manifest.delete(cacheKeyOf(r));
    }
    this.save(manifest);
    return done;
  }

  /**
   * GlideinWMS's names can collide (`credential_<frontend>.<group>_<entry>`: groups and entries may
   * hold `_`, frontend names `.`): a path another credential owns, or that an earlier set of this
   * call claims, is not written for a second one, which would hand a glidein another site's token
   * and let one withdrawal delete the other's file. Logged, so the admin renames one of them.
   */
  private withoutClashes(sets: CacheFileSet[], manifest: Map<string, string[]>): CacheFileSet[] {
    const owner = new Map<string, string>();
    for (const [k, paths] of manifest) for (const p of paths) owner.set(p, k);
    return sets.map((s) => {
      const key = cacheKeyOf(s.ref);
      const paths = s.paths.filter((p) => {
        const other = owner.get(p);
        if (other !== undefined && other !== key) {
          this.log.error(
            `not writing the cache file ${p} for ${key}: it is the file of ${other} (GlideinWMS's file names of the two collide; rename an entry, group or frontend)`,
          );
          return false;
        }
        owner.set(p, key);
        return true;
      });
      return paths.length === s.paths.length ? s : { ...s, paths };
    });
  }

  /** Whether the file must be written: unless it already holds exactly these bytes with mode 0600. */
  private needsWrite(rel: string, value: string): boolean {
    const path = join(this.settings.config.factory.cacheDir!, rel);
    if (existsSync(path)) {
      const st = lstatSync(path);
      if (st.isFile() && (st.mode & 0o777) === 0o600 && readFileSync(path, 'utf8') === value) return false;
    }
    return true;
  }

  private removeOne(rel: string): boolean {
    try {
      unlinkSync(join(this.settings.config.factory.cacheDir!, rel));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err }, `could not remove the cache file ${rel}`);
      return false;
    }
  }

  private load(): Map<string, string[]> {
    if (this.manifest) return this.manifest;
    const path = join(this.settings.dataDir, MANIFEST);
    this.manifest = new Map();
    if (existsSync(path)) {
      try {
        const parsed = JSON.parse(readFileSync(path, 'utf8')) as { v: 1; files: Record<string, string[]> };
        for (const [k, v] of Object.entries(parsed.files)) this.manifest.set(k, v);
      } catch (err) {
        // Files then count as from before the record: the start-up pass rewrites every credential's.
        this.log.error({ err }, `${path} is unreadable; files of groups no longer served may stay behind (remove them by hand)`);
      }
    }
    this.removeOwnTemps(this.manifest);
    return this.manifest;
  }

  /** A crash between writing and renaming leaves `.<name>.<hex>.tmp`, a 0600 copy of a credential: removed at the first use after a start. */
  private removeOwnTemps(manifest: Map<string, string[]>): void {
    const root = this.settings.config.factory.cacheDir;
    if (!root) return;
    const ours = new Set([...manifest.values()].flat());
    for (const dir of new Set([...ours].map((p) => dirname(p)))) {
      let names: string[];
      try {
        names = readdirSync(join(root, dir));
      } catch {
        continue;
      }
      for (const f of names.filter(isAtomicTemp)) {
        if (ours.has(join(dir, f.slice(1).replace(/\.[0-9a-f]{12}\.tmp$/, '')))) this.removeOne(join(dir, f));
      }
    }
  }

  private save(manifest: Map<string, string[]>): void {
    writeFileAtomic(join(this.settings.dataDir, MANIFEST), JSON.stringify({ v: 1, files: Object.fromEntries(manifest) }), 0o600);
  }
}
