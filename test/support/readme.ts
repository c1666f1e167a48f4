import { ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './service.js';

const run = promisify(execFile);

/** The README's one ```sh block that contains `needle`, exactly as written there. */
export function readmeCommand(needle: string): string {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
  const hits = blocks.filter((b) => b.includes(needle));
  if (hits.length !== 1) throw new Error(`README has ${hits.length} sh blocks containing ${needle}`);
  return hits[0];
}

/** Runs a README command in the checkout under the usual umask (022), as an operator would. */
export const shell = (command: string, env: Record<string, string>) =>
  run('/bin/sh', ['-c', `umask 022; ${command}`], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });

/** A README block's commands: one per line (lines ending in `\` joined), blank and comment lines dropped. */
export function commandsOf(block: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    if (!pending && (!line.trim() || line.trim().startsWith('#'))) continue;
    pending += (pending ? '\n' : '') + line;
    if (!line.endsWith('\\')) {
      out.push(pending);
      pending = '';
    }
  }
  if (pending) out.push(pending);
  return out;
}

export interface BashRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with `bash -euo pipefail` in `cwd` with exactly `env` (a README block stops at its
 * first failing command, as a careful operator would). `detached`: in its own process group, which
 * `kill(-pid)` ends with whatever it left in the background.
 */
export function bash(
  script: string,
  o: { cwd: string; env: Record<string, string>; detached?: boolean; onSpawn?: (p: ChildProcess) => void },
): Promise<BashRun> {
  return new Promise((ok, fail) => {
    const p = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: o.detached });
    o.onSpawn?.(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => ok({ code, stdout, stderr }));
  });
}

const MARK = '@@glidekey-readme-step@@';

/**
 * Runs a README block's commands, as written and in order, in one bash, with a marker printed
 * after each, and returns what each command printed (the commands that ran, up to a failing one).
 */
export async function runSteps(
  block: string,
  o: { cwd: string; env: Record<string, string> },
): Promise<BashRun & { steps: { command: string; out: string }[]; out(needle: string): string }> {
  const commands = commandsOf(block);
  const r = await bash(commands.map((c) => `${c}\nprintf '\\n${MARK}\\n'`).join('\n'), o);
  const pieces = r.stdout.split(`\n${MARK}\n`);
  const steps = pieces.slice(0, -1).map((p, i) => ({ command: commands[i], out: p }));
  return {
    ...r,
    steps,
    out(needle: string) {
      const hits = steps.filter((s) => s.command.includes(needle));
      if (hits.length !== 1) throw new Error(`${hits.length} commands that ran contain ${needle}`);
      return hits[0].out;
    },
  };
}
