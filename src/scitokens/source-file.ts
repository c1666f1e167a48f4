import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { DomainError } from '../common/errors.js';

/** A SciToken file is a few kilobytes; anything larger is not one. */
const MAX_SOURCE_BYTES = 16 * 1024;

/**
 * Reads a followed SciToken file safely: the file itself must not be a symlink (O_NOFOLLOW), its
 * directory must still resolve under one of `roots`, it must be a regular file (a FIFO or a device
 * never blocks or floods the process: O_NONBLOCK, fstat), and it must be small. Every failure is a
 * code, never the file's content.
 */
export function readSourceFile(path: string, roots: string[]): string {
  let dir: string;
  try {
    dir = realpathSync(dirname(path));
  } catch {
    throw new DomainError('SOURCE_MISSING', 'the source file does not exist');
  }
  if (!roots.some((r) => dir === r || dir.startsWith(r + sep)))
    throw new DomainError('SOURCE_OUTSIDE', 'the source file is no longer under scitokens.sourceDirs');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DomainError('SOURCE_MISSING', 'the source file does not exist');
    if (code === 'ELOOP') throw new DomainError('SOURCE_NOT_A_FILE', 'the source file is a symbolic link');
    throw new DomainError('SOURCE_UNREADABLE', 'the source file cannot be read');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DomainError('SOURCE_NOT_A_FILE', 'the source is not a regular file');
    if (st.size > MAX_SOURCE_BYTES) throw new DomainError('SOURCE_TOO_LARGE', `the source file is larger than ${MAX_SOURCE_BYTES} bytes`);
    const buf = Buffer.alloc(MAX_SOURCE_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    if (n > MAX_SOURCE_BYTES) throw new DomainError('SOURCE_TOO_LARGE', `the source file is larger than ${MAX_SOURCE_BYTES} bytes`);
    return buf.subarray(0, n).toString('utf8').trim();
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new DomainError('SOURCE_UNREADABLE', 'the source file cannot be read');
  } finally {
    closeSync(fd);
  }
}
