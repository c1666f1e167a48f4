import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PasswordsDirService } from '../../src/passwords-dir/passwords-dir.service.js';
import { startTestApp } from '../support/app.js';
import { client, removeDir, runServiceOnce, startService, tempDir } from '../support/service.js';

/** Every file in the directories, by path, with its content hash and mode. */
function snapshot(...dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of dirs) {
    for (const f of readdirSync(d)) {
      if (f.startsWith('glidekey.sqlite')) continue;
      const p = join(d, f);
      out[p] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${(statSync(p).mode & 0o777).toString(8)}`;
    }
  }
  return out;
}

const dropDatabase = (dataDir: string) => {
  for (const f of ['glidekey.sqlite', 'glidekey.sqlite-wal', 'glidekey.sqlite-shm']) rmSync(join(dataDir, f), { force: true });
};

describe('a database that does not belong to the data directory', () => {
  it('restarts a normal install, and refuses an emptied database beside the files of its earlier life, touching none of them', async () => {
    const pwd = tempDir('passwords.d-');
    const env = { GLIDEKEY_FRONTEND_PASSWORDS_DIR: pwd };
    const first = await startService({ env });
    const dataDir = first.dataDir;
    expect((await client(first.api, first.adminKey).post('/sites', { name: 'CMS_T2_Example' })).status).toBe(201);
    await first.stop();
    expect(readdirSync(pwd)).toEqual(['CMS_T2_Example']);

    // A normal restart works, and the first admin key still does.
    const again = await startService({ env, dataDir });
    expect((await client(again.api, first.adminKey).get('/sites')).status).toBe(200);
    await again.stop();

    const before = snapshot(dataDir, pwd);
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining([join(dataDir, 'master.key'), join(dataDir, 'admin.key'), join(dataDir, 'passwords-dir.json'), join(pwd, 'CMS_T2_Example')]),
    );
    dropDatabase(dataDir);
    const r = await runServiceOnce({ GLIDEKEY_DATA_DIR: dataDir, GLIDEKEY_PORT: '0', GLIDEKEY_TRUST_DOMAIN: 'collector.example.org:9618', ...env });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`the database ${join(dataDir, 'glidekey.sqlite')} is new (empty)`);
    for (const f of ['master.key', 'admin.key', 'passwords-dir.json']) expect(r.output).toContain(join(dataDir, f));
    expect(r.output).toContain('restore it from backup');
    expect(r.output).not.toContain(first.adminKey);
    expect(snapshot(dataDir, pwd)).toEqual(before);

    // Any one leftover is enough: the admin key alone (master key and manifest moved away).
    for (const f of ['master.key', 'passwords-dir.json', 'database-id']) rmSync(join(dataDir, f));
    dropDatabase(dataDir);
    const alone = await runServiceOnce({ GLIDEKEY_DATA_DIR: dataDir, GLIDEKEY_PORT: '0', ...env });
    expect(alone.code).toBe(1);
    expect(alone.output).toContain(`${join(dataDir, 'admin.key')} is from an earlier database`);
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    expect(readdirSync(pwd)).toEqual(['CMS_T2_Example']);
    removeDir(dataDir);
    removeDir(pwd);
  });

  it('refuses a data directory that belongs to another database', async () => {
    const svc = await startService();
    await svc.stop();
    const idFile = join(svc.dataDir, 'database-id');
    expect(readFileSync(idFile, 'utf8').trim()).toMatch(/^[0-9a-f]{32}$/);
    writeFileSync(idFile, 'aaaaaaaabbbbbbbbccccccccdddddddd\n', { mode: 0o600 });
    const r = await runServiceOnce({ GLIDEKEY_DATA_DIR: svc.dataDir, GLIDEKEY_PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`${idFile} says ${svc.dataDir} belongs to database aaaaaaaabbbbbbbbccccccccdddddddd`);
    removeDir(svc.dataDir);
  });

  it('never removes every managed key file because the database holds no sites', async () => {
    const pwd = tempDir('passwords.d-');
    const t = await startTestApp({ env: { GLIDEKEY_FRONTEND_PASSWORDS_DIR: pwd } });
    try {
      // Key files and a manifest another database wrote (an earlier life's), beside this empty one.
      writeFileSync(join(pwd, 'OldSite'), 'old key', { mode: 0o600 });
      writeFileSync(join(t.dataDir, 'passwords-dir.json'), JSON.stringify({ dir: pwd, files: ['OldSite'], database: 'ffffffffffffffffffffffffffffffff' }), {
        mode: 0o600,
      });
      const report = await t.app.get(PasswordsDirService).sync('tick');
      expect(report.removed).toEqual([]);
      expect(readFileSync(join(pwd, 'OldSite'), 'utf8')).toBe('old key');
      expect(t.logs()).toContain(`refusing to remove all 1 key file(s) glidekey manages in ${pwd}`);

      // Sites this database created and then deleted do take their files with them, the last one too.
      rmSync(join(pwd, 'OldSite'));
      rmSync(join(t.dataDir, 'passwords-dir.json'));
      const api = client(t.api, t.adminKey);
      expect((await api.post('/sites', { name: 'Last' })).status).toBe(201);
      expect(readdirSync(pwd)).toEqual(['Last']);
      expect((await api.del('/sites/Last')).status).toBe(204);
      expect(readdirSync(pwd)).toEqual([]);
    } finally {
      await t.close();
      removeDir(pwd);
    }
  });
});
