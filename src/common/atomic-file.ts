import { accessSync, closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const TEMP_SUFFIX = '.tmp';

/** The temporary files writeFileAtomic leaves behind if the process dies before the rename. */
export const isAtomicTemp = (name: string) => /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);

/**
 * Writes a file so that readers see either the old or the new content, never a torn one:
 * a temp file in the same directory created with the final mode (0600 by default, so a secret is
 * never readable by others even for an instant), fsync, rename, fsync of the directory.
 */
/**
 * Throws EROFS when `path`'s file system has gone read-only. Linux's ext4 answers fsync() with
 * success once it has remounted itself read-only after an I/O error (errors=remount-ro), though what
 * was written just before is only in memory and is lost: a write acknowledged across that moment
 * would not be on disk. So after every fsync that acknowledges something, ask again (access(2) with
 * W_OK reports EROFS without writing).
 */
export function assertStillWritable(path: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EROFS') throw err;
  }
}

export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Not the injected Random: the temp name is no secret, only unlikely to collide (O_EXCL catches the rest), and start-up and the CLI write files before the container exists.
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  fsyncDir(dir);
  assertStillWritable(dir);
}

/**
 * writeFileAtomic for many files of one directory: every temp file written and fsynced, then all
 * renamed, then one fsync of the directory for all of them (instead of one per file, which made
 * rewriting a directory of n files cost n directory fsyncs). A reader still sees each file whole,
 * old or new; until the directory fsync a crash may undo any of the renames, as it may undo the
 * rename of writeFileAtomic before its own. Temp files left by a failure are removed.
 */
export function writeFilesAtomic(dir: string, files: readonly (readonly [name: string, data: Uint8Array])[], mode = 0o600): void {
  if (!files.length) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pending: [tmp: string, path: string][] = [];
  try {
    for (const [name, data] of files) {
      const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
      pending.push([tmp, join(dir, name)]);
      try {
        const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    while (pending.length) {
      const [tmp, path] = pending[0];
      renameSync(tmp, path);
      pending.shift();
    }
  } catch (err) {
    for (const [tmp] of pending) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
    throw err;
  }
  fsyncDir(dir);
  assertStillWritable(dir);
}
