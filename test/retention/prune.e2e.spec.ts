import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { client, removeDir, ROOT, startService, tempDir } from '../support/service.js';

const run = promisify(execFile);

function readmeCommand(needle: string): string {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
  const hits = blocks.filter((b) => b.includes(needle));
  expect(hits).toHaveLength(1);
  return hits[0];
}

const shell = (command: string, env: Record<string, string>) =>
  run('/bin/sh', ['-c', `umask 022; ${command}`], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });

describe('glidekey prune', () => {
  it('runs as the README shows: archives an old audit line to a new 0600 file, prunes it, audits the run, never overwrites', async () => {
    const retention = { GLIDEKEY_RETENTION_AUDIT_DAYS: '30', GLIDEKEY_RETENTION_LEDGER_DAYS: '30' };
    const svc = await startService({ env: retention });
    const backupDir = tempDir('glidekey-prune-');
    try {
      const api = client(svc.api, svc.adminKey);
      expect((await api.post('/sites', { name: 'Pruned' })).status).toBe(201);
      // An audit line from 90 days ago (inserting is what the append-only log allows).
      const Database = createRequire(import.meta.url)('better-sqlite3');
      const db = new Database(join(svc.dataDir, 'glidekey.sqlite'), { timeout: 10_000 });
      db.prepare("INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'old', 'old.thing', 'success')").run(Date.now() - 90 * 86_400_000);
      db.close();

      const env = { GLIDEKEY_DATA_DIR: svc.dataDir, BACKUP_DIR: backupDir, ...retention };
      const r = await shell(readmeCommand('npm run glidekey -- prune'), env);
      const files = readdirSync(backupDir);
      expect(files).toEqual([expect.stringMatching(/^glidekey-prune-\d{8}-\d{6}\.jsonl\.gz$/)]);
      const file = join(backupDir, files[0]);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(r.stderr).toContain(`archived 0 ledger row(s) and 1 audit line(s) to ${file}`);
      const lines = gunzipSync(readFileSync(file))
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toEqual([{ table: 'audit_log', row: expect.objectContaining({ actor: 'old', action: 'old.thing' }) }]);
      const audit = await api.get('/audit?action=retention.prune');
      expect(audit.json.entries).toHaveLength(1);
      expect((await api.get('/audit?action=old.thing')).json.entries).toHaveLength(0);

      const before = readFileSync(file);
      const cli = join(ROOT, 'dist', 'cli.js');
      const over = await run(process.execPath, [cli, 'prune', '--archive', file], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } }).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect([(over as { code: number }).code, (over as { stderr: string }).stderr]).toEqual([1, expect.stringContaining('exists: refusing to overwrite it')]);
      expect(readFileSync(file).equals(before)).toBe(true);

      const dry = await run(process.execPath, [cli, 'prune', '--dry-run'], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
      expect(JSON.parse(dry.stdout)).toMatchObject({ ledgerRows: 0, auditLines: 0, archive: null });
    } finally {
      await svc.stop();
      removeDir(svc.dataDir);
      removeDir(backupDir);
    }
  }, 60_000);
});
