import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { client, removeDir, ROOT, startService, tempDir } from '../support/service.js';

const run = promisify(execFile);
const PG = process.env.GLIDEKEY_TEST_POSTGRES_URL;

/** The README's shell command that contains `needle`, exactly as written there. */
function readmeCommand(needle: string): string {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
  const hits = blocks.filter((b) => b.includes(needle));
  expect(hits).toHaveLength(1);
  return hits[0];
}

/** Runs a README command under the usual umask (022), as an operator would. */
const shell = (command: string, env: Record<string, string>) =>
  run('/bin/sh', ['-c', `umask 022; ${command}`], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });

describe('glidekey backup', () => {
  it("makes the README's SQLite backup of a running service: owner-only, consistent, restorable, never overwriting", async () => {
    const svc = await startService();
    const backupDir = tempDir('glidekey-backup-');
    const restored = tempDir();
    let again: Awaited<ReturnType<typeof startService>> | undefined;
    try {
      const api = client(svc.api, svc.adminKey);
      expect((await api.post('/sites', { name: 'Backed_Up' })).status).toBe(201);
      const minted = await api.post('/sites/Backed_Up/tokens', {});
      expect(minted.status).toBe(201);

      const r = await shell(readmeCommand('npm run glidekey -- backup'), { GLIDEKEY_DATA_DIR: svc.dataDir, BACKUP_DIR: backupDir });
      const files = readdirSync(backupDir);
      expect(files).toEqual([expect.stringMatching(/^glidekey-\d{8}-\d{6}\.sqlite$/)]);
      const copy = join(backupDir, files[0]);
      expect(statSync(copy).mode & 0o777).toBe(0o600);
      expect(r.stderr).toContain(`backed up the database to ${copy}`);

      // Never over an existing file: it stays as it was.
      const before = readFileSync(copy);
      const over = await run(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'backup', copy], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, GLIDEKEY_DATA_DIR: svc.dataDir },
      }).catch((e: { code: number; stderr: string }) => e);
      expect([(over as { code: number }).code, (over as { stderr: string }).stderr]).toEqual([1, expect.stringContaining('exists: refusing to overwrite it')]);
      expect(readFileSync(copy).equals(before)).toBe(true);

      // Restored as the README says (the copy and the same master key), it is the same service.
      copyFileSync(copy, join(restored, 'glidekey.sqlite'));
      copyFileSync(join(svc.dataDir, 'master.key'), join(restored, 'master.key'));
      await svc.stop();
      again = await startService({ dataDir: restored });
      const back = client(again.api, svc.adminKey);
      expect((await back.get('/sites/Backed_Up')).status).toBe(200);
      expect((await back.post('/tokens/verify', { token: minted.json.token })).json.valid).toBe(true);
    } finally {
      await svc.stop();
      await again?.stop();
      removeDir(svc.dataDir);
      removeDir(backupDir);
      removeDir(restored);
    }
  }, 60_000);

  (PG ? it : it.skip)("says to use pg_dump on PostgreSQL, and the README's pg_dump command writes an owner-only file", async () => {
    const name = `glidekey_backup_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG!);
    url.pathname = `/${name}`;
    const backupDir = tempDir('glidekey-backup-');
    const dataDir = tempDir();
    try {
      const refused = await run(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'backup', join(backupDir, 'x.sqlite')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, GLIDEKEY_DATA_DIR: dataDir, GLIDEKEY_DATABASE_URL: url.toString() },
      }).catch((e: { code: number; stderr: string }) => e);
      expect((refused as { code: number }).code).toBe(1);
      expect((refused as { stderr: string }).stderr).toContain('back it up with pg_dump under an owner-only umask');
      expect(readdirSync(backupDir)).toEqual([]);
      await shell(readmeCommand('pg_dump'), { GLIDEKEY_DATABASE_URL: url.toString(), BACKUP_DIR: backupDir });
      const dump = readdirSync(backupDir).filter((f) => f.endsWith('.pgdump'));
      expect(dump).toHaveLength(1);
      expect(statSync(join(backupDir, dump[0])).mode & 0o777).toBe(0o600);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      removeDir(backupDir);
      removeDir(dataDir);
    }
  });
});
