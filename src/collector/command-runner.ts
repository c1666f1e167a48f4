import { Injectable } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface CommandOutcome {
  result: 'ok' | 'failed' | 'timeout';
  /** Exit code, or null when a signal ended it or it never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not start (ENOENT, EACCES ...). */
  spawnError?: string;
  /** The end of what it wrote to stderr, for the log only. */
  stderr: string;
  durationMs: number;
}

const STDERR_KEPT = 1000;

/**
 * Runs one command without a shell and waits for it, killing it (with its process group) at the
 * timeout. glidekey's own settings (GLIDEKEY_*: the database URL may hold a password) are not passed on.
 */
@Injectable()
export class CommandRunner {
  run(argv: readonly string[], timeoutMs: number): Promise<CommandOutcome> {
    const started = performance.now();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIDEKEY_')));
    return new Promise((resolve) => {
      let stderr = '';
      let timedOut = false;
      let done = false;
      const finish = (o: Omit<CommandOutcome, 'durationMs' | 'stderr'>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ ...o, stderr: stderr.slice(-STDERR_KEPT), durationMs: Math.round(performance.now() - started) });
      };
      // Its own process group, so a timeout also ends what a wrapper script started.
      const child = spawn(argv[0], argv.slice(1), { shell: false, detached: true, env, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_KEPT)));
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timeoutMs);
      child.once('error', (err: NodeJS.ErrnoException) => finish({ result: 'failed', code: null, signal: null, spawnError: err.code ?? 'spawn failed' }));
      child.once('exit', (code, signal) => finish({ result: timedOut ? 'timeout' : code === 0 ? 'ok' : 'failed', code, signal }));
    });
  }
}
