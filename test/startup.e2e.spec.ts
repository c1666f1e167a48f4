import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { client, freePort, removeDir, ROOT, runServiceOnce, startService, tempDir } from './support/service.js';

const run = promisify(execFile);
const cli = (dataDir: string, ...args: string[]) =>
  run(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH, GLIDEKEY_DATA_DIR: dataDir } });

describe('start-up and the host CLI', () => {
  it('creates, lists and revokes API keys from the host CLI', async () => {
    const dir = tempDir();
    const made = await cli(dir, 'apikey', 'create', '--name', 'alice', '--role', 'frontend-admin', '--role', 'auditor');
    const secret = made.stdout.trim();
    expect(secret).toMatch(/^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toContain('alice');
    expect(made.stderr).not.toContain(secret);
    const listed = await cli(dir, 'apikey', 'list');
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'alice', roles: ['frontend-admin', 'auditor'], createdBy: expect.stringMatching(/^cli:/) })]);
    expect(listed.stdout).not.toContain(secret.slice(20));

    // The service on the same data dir honours the key, and with a key present creates no admin key.
    const port = String(await freePort());
    const proc = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], { cwd: ROOT, env: { PATH: process.env.PATH, GLIDEKEY_DATA_DIR: dir, GLIDEKEY_PORT: port }, stdio: 'ignore' });
    try {
      let status = 0;
      // A loaded CI machine can take well over 10 s to start a service.
      for (const end = Date.now() + 30_000; Date.now() < end && status !== 200; ) {
        await new Promise((r) => setTimeout(r, 100));
        status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
      }
      expect(status).toBe(200);
      expect(existsSync(join(dir, 'admin.key'))).toBe(false);
      expect((await client(`http://127.0.0.1:${port}/api/v1`, secret).get('/sites')).status).toBe(200);
      await cli(dir, 'apikey', 'revoke', 'alice');
      // Revoked by another process: the service honours it within its 5 s lookup cache.
      const revokedAt = Date.now();
      let after = 200;
      while (after !== 401 && Date.now() - revokedAt < 8000) {
        await new Promise((r) => setTimeout(r, 250));
        after = (await client(`http://127.0.0.1:${port}/api/v1`, secret).get('/sites')).status;
      }
      expect(after).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(6500);
    } finally {
      proc.kill('SIGKILL');
      removeDir(dir);
    }
  });

  it('refuses to start when the master key is readable by others', async () => {
    const dir = tempDir();
    const key = join(dir, 'mk');
    writeFileSync(key, randomBytes(32).toString('base64') + '\n', { mode: 0o644 });
    chmodSync(key, 0o644);
    const r = await runServiceOnce({ GLIDEKEY_DATA_DIR: dir, GLIDEKEY_MASTER_KEY_FILE: key, GLIDEKEY_PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('readable by group or others');
    expect(r.output).toContain(`chmod 600 ${key}`);
    removeDir(dir);
  });

  it('refuses a master key that is not the one the database was sealed with, and a missing one', async () => {
    const svc = await startService();
    await svc.stop();
    const mk = join(svc.dataDir, 'master.key');
    const original = statSync(mk);
    expect(original.mode & 0o777).toBe(0o600);
    const other = join(svc.dataDir, 'other.key');
    writeFileSync(other, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    const wrong = await runServiceOnce({ GLIDEKEY_DATA_DIR: svc.dataDir, GLIDEKEY_MASTER_KEY_FILE: other, GLIDEKEY_PORT: '0' });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain('is not the key this database was sealed with');
    const missing = await runServiceOnce({ GLIDEKEY_DATA_DIR: svc.dataDir, GLIDEKEY_MASTER_KEY_FILE: join(svc.dataDir, 'gone.key'), GLIDEKEY_PORT: '0' });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('is missing, but this database holds secrets sealed with it');
    removeDir(svc.dataDir);
    const fresh = tempDir();
    const absent = await runServiceOnce({ GLIDEKEY_DATA_DIR: fresh, GLIDEKEY_MASTER_KEY_FILE: join(fresh, 'nowhere.key'), GLIDEKEY_PORT: '0' });
    expect(absent.code).toBe(1);
    expect(absent.output).toContain('nowhere.key, which does not exist');
    removeDir(fresh);
  });

  it('refuses a bad setting, naming it and never printing a secret value', async () => {
    const dir = tempDir();
    const r = await runServiceOnce({ GLIDEKEY_DATA_DIR: dir, GLIDEKEY_PORT: 'eighty', GLIDEKEY_DATABASE_URL: 'mysql://glidekey:Hunter2Secret@db/glidekey' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('port (env GLIDEKEY_PORT)');
    expect(r.output).toContain('database.url (env GLIDEKEY_DATABASE_URL)');
    expect(r.output).not.toContain('Hunter2Secret');
    removeDir(dir);
  });

  it('runs one role alone: a factory-only service has no frontend routes and an admin key of its own role', async () => {
    const svc = await startService({ env: { GLIDEKEY_ROLES: 'factory' } });
    const api = client(svc.api, svc.adminKey);
    expect((await api.get('/sites')).status).toBe(404);
    const keys = await api.get('/apikeys');
    expect(keys.json).toEqual([expect.objectContaining({ name: 'admin', roles: ['factory-admin'] })]);
    await svc.stop();
    removeDir(svc.dataDir);
  });
});
