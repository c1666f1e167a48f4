import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

/** An archive that cannot be written as asked: the message says why. */
export class ArchiveError extends Error {}

/**
 * A new gzip'd JSON-lines file, written owner-only (0600) to a temporary name beside it, fsynced,
 * then linked to its name (link never replaces an existing file, even one created meanwhile).
 * Each `append` adds one gzip member; gunzip reads concatenated members as one stream.
 */
export class ArchiveFile {
  readonly target: string;
  private readonly tmp: string;
  private fd: number | null;
  private written = false;

  constructor(dest: string) {
    this.target = resolve(dest);
    if (existsSync(this.target)) throw new ArchiveError(`${this.target} exists: refusing to overwrite it; name a new file`);
    if (!existsSync(dirname(this.target))) throw new ArchiveError(`${dirname(this.target)} does not exist`);
    this.tmp = join(dirname(this.target), `.${basename(this.target)}.${process.pid}.tmp`);
    this.fd = openSync(this.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  }

  append(records: unknown[]): void {
    if (!records.length || this.fd === null) return;
    writeSync(this.fd, gzipSync(records.map((r) => JSON.stringify(r) + '\n').join('')));
    this.written = true;
  }

  /** Makes the file durable under its name; returns its SHA-256 (hex). */
  finish(): string {
    if (this.fd === null) throw new Error('archive already finished');
    if (!this.written) writeSync(this.fd, gzipSync(''));
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    try {
      linkSync(this.tmp, this.target);
    } catch (err) {
      unlinkSync(this.tmp);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ArchiveError(`${this.target} exists: refusing to overwrite it; name a new file`);
      throw err;
    }
    unlinkSync(this.tmp);
    const dir = openSync(dirname(this.target), constants.O_RDONLY);
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return createHash('sha256').update(readFileSync(this.target)).digest('hex');
  }

  /** Removes the temporary file of an archive that was not finished. */
  abandon(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    unlinkSync(this.tmp);
  }
}
