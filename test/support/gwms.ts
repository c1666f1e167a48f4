import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './service.js';

/**
 * A glidein's directories as GlideinWMS's glidein_startup.sh lays them out, with the test stand-ins
 * of its helpers (test/support/gwms/: add_config_line.source, error_gen.sh, and the token part of
 * setup_x509.sh). `start` is the batch job's directory (GLIDEIN_START_DIR_ORIG), where the factory's
 * transferred files land; `workspace` (GLIDEIN_WORKSPACE_ORIG) holds glidein_config and is the
 * directory glidein_startup.sh runs its scripts in.
 */
export interface Glidein {
  start: string;
  workspace: string;
  config: string;
  creds: string;
}

const HELPERS = join(ROOT, 'test', 'support', 'gwms');

/** A fresh glidein under `root`: glidein_config with glidein_startup.sh's own lines, then `attrs` (the entry's and frontend's attributes). */
export function makeGlidein(root: string, attrs: Record<string, string>, files: Record<string, string> = {}): Glidein {
  const start = mkdtempSync(join(root, 'job-'));
  const workspace = join(start, 'glide_aBcDeF');
  mkdirSync(join(workspace, 'main'), { recursive: true });
  copyFileSync(join(HELPERS, 'add_config_line.source'), join(workspace, 'add_config_line.source'));
  copyFileSync(join(HELPERS, 'error_gen.sh'), join(workspace, 'main', 'error_gen.sh'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(start, name), content, { mode: 0o600 });
  const lines = [
    '',
    '# --- glidein_startup vals ---',
    'GLIDEIN_Entry_Name OSG_T_ce1',
    'GLIDECLIENT_Name fe.example.org.main',
    `GLIDEIN_START_DIR_ORIG ${start}`,
    `GLIDEIN_WORKSPACE_ORIG ${workspace}`,
    `GLIDEIN_WORK_DIR ${join(workspace, 'main')}`,
    `ADD_CONFIG_LINE_SOURCE ${join(workspace, 'add_config_line.source')}`,
    'GLIDEIN_CONDOR_TOKEN ',
    '# --- User Parameters ---',
    `ERROR_GEN_PATH ${join(workspace, 'main', 'error_gen.sh')}`,
    ...Object.entries(attrs).map(([k, v]) => `${k} ${v}`),
  ];
  const config = join(workspace, 'glidein_config');
  writeFileSync(config, lines.join('\n') + '\n');
  return { start, workspace, config, creds: join(workspace, 'cred.d', 'idtokens') };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** otrb_output.xml that error_gen left in the run's directory ('' when none). */
  report: string;
}

/**
 * Runs `file` the way glidein_startup.sh does (`file glidein_config <id>` in the workspace), or with
 * `periodic` the way script_wrapper.sh does (the absolute glidein_config path, from a fresh directory
 * inside the workspace, GLIDEIN_PERIODIC_SCRIPT=true). Only PATH and `env` reach it.
 */
export function runStep(g: Glidein, file: string, opts: { periodic?: boolean; env?: Record<string, string>; id?: string; shell?: string } = {}): Promise<Run> {
  const cwd = opts.periodic ? mkdtempSync(join(g.workspace, 'tmp-')) : g.workspace;
  const args = [file, opts.periodic ? g.config : 'glidein_config', opts.id ?? 'client'];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(opts.periodic ? { GLIDEIN_PERIODIC_SCRIPT: 'true' } : {}), ...opts.env };
  const report = join(cwd, 'otrb_output.xml');
  if (existsSync(report)) writeFileSync(report, '');
  return new Promise((ok) => {
    const p = spawn(opts.shell ?? 'sh', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => ok({ code, stdout, stderr, report: existsSync(report) ? readFileSync(report, 'utf8') : '' }));
  });
}

/** setup_x509.sh's stand-in, run as GlideinWMS runs it (bash, before any custom script at startup; every 60 s when periodic). */
export const setupX509 = (g: Glidein, periodic = false) => runStep(g, join(HELPERS, 'setup_x509.sh'), { periodic, shell: 'bash', id: 'main' });

/** A glidein_config value as gconfig_get reads it: the rest of the last `KEY ` line. */
export function configValue(g: Glidein, key: string): string | undefined {
  let value: string | undefined;
  for (const line of readFileSync(g.config, 'utf8').split('\n')) if (line.startsWith(`${key} `)) value = line.slice(key.length + 1);
  return value;
}

/** Sets a glidein_config value as gconfig_add does (its other lines dropped, the new one last): the test's way of letting time pass. */
export function setConfigValue(g: Glidein, key: string, value: string): void {
  const kept = readFileSync(g.config, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(`${key} `));
  writeFileSync(g.config, [...kept, `${key} ${value}`].join('\n') + '\n');
}

/** The status and metrics of an error_gen report. */
export function parseReport(xml: string): { status?: string; metrics: Record<string, string>; detail?: string } {
  const metrics: Record<string, string> = {};
  for (const m of xml.matchAll(/<metric name="([^"]*)"[^>]*>([^<]*)<\/metric>/g)) metrics[m[1]] = m[2];
  return { status: /<status>([A-Z]+)<\/status>/.exec(xml)?.[1], metrics, detail: /<detail>\s*([\s\S]*?)\s*<\/detail>/.exec(xml)?.[1] };
}
