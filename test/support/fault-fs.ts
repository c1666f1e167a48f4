import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * Small real file systems for fault tests: a tmpfs that fills up, an ext4 image on a loop device
 * that the kernel turns read-only. Mounting needs root (CI runs as root); without it these helpers
 * throw with a message saying so: a fault test never passes by not running.
 */
function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function needRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} needs root to mount a file system (CI runs the suite as root); run the suite as root`);
}

export interface FaultFs {
  dir: string;
  unmount(): void;
}

/** A tmpfs of `size` (e.g. '6m') on a fresh directory. */
export function mountTmpfs(size: string): FaultFs {
  needRoot('the disk-full test');
  const dir = mkdtempSync(join(tmpdir(), 'glidekey-tmpfs-'));
  try {
    sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not mount a tmpfs on ${dir}: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
  return { dir, unmount: () => unmountQuietly(dir) };
}

export interface Ext4Fs extends FaultFs {
  /** What ext4 does on a real I/O error with errors=remount-ro: the kernel makes the mounted file system read-only at once. */
  forceReadOnly(): void;
  /** Unmounts, checks with e2fsck and mounts again read-write (the service must be stopped). */
  repair(): void;
}

/** An ext4 image of `mib` MiB on a loop device, mounted with errors=remount-ro. */
export function mountExt4(mib: number): Ext4Fs {
  needRoot('the read-only disk test');
  const work = mkdtempSync(join(tmpdir(), 'glidekey-ext4-'));
  const image = join(work, 'disk.img');
  const dir = join(work, 'mnt');
  const mount = () => sh('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  try {
    sh('truncate', ['-s', `${mib}M`, image]);
    sh('mkfs.ext4', ['-q', '-F', image]);
    sh('mkdir', ['-m', '0700', dir]);
    mount();
    sh('chmod', ['0700', dir]);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`could not mount an ext4 loop image: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
  const sysfs = () => {
    // /sys/fs/ext4/<loopN>: the device the image is mounted from.
    const dev = sh('findmnt', ['-n', '-o', 'SOURCE', dir]).trim();
    return join('/sys/fs/ext4', basename(dev));
  };
  return {
    dir,
    forceReadOnly: () => sh('sh', ['-c', `echo 1 > ${join(sysfs(), 'trigger_fs_error')}`]),
    repair: () => {
      sh('umount', [dir]);
      try {
        sh('e2fsck', ['-fy', image]);
      } catch {
        // e2fsck exits 1 when it fixed something (the error flag): expected here
      }
      mount();
    },
    unmount: () => {
      unmountQuietly(dir);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function unmountQuietly(dir: string): void {
  try {
    sh('umount', [dir]);
  } catch {
    try {
      sh('umount', ['-l', dir]);
    } catch {
      // not mounted
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Fills the file system holding `dir` with ballast files until it is full; the returned function frees it. */
export function fillDisk(dir: string): () => void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  const names: string[] = [];
  for (let i = 0; ; i++) {
    const name = join(dir, `ballast-${i}`);
    let fd: number;
    try {
      fd = openSync(name, 'w');
    } catch {
      break;
    }
    names.push(name);
    let full = false;
    try {
      for (let n = 0; n < 16; n++) writeSync(fd, chunk);
    } catch {
      full = true;
    } finally {
      closeSync(fd);
    }
    if (full) break;
  }
  // The last few bytes too: small writes can still fit in a partial page.
  for (let size = 32 * 1024; size >= 512; size /= 2) {
    const name = join(dir, `ballast-small-${size}`);
    try {
      const fd = openSync(name, 'w');
      names.push(name);
      try {
        while (writeSync(fd, Buffer.alloc(size)) > 0);
      } catch {
        // full
      } finally {
        closeSync(fd);
      }
    } catch {
      break;
    }
  }
  return () => {
    for (const n of names) unlinkSync(n);
  };
}

export const ballastLeft = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('ballast-'));
