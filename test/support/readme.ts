import { execFile } from 'node:child_process';
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
