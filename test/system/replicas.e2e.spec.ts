import { copyFileSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config/config.loader.js';
import { Settings } from '../../src/config/settings.js';
import { openDatabase } from '../../src/database/data-source.js';
import { client, removeDir, startService, tempDir } from '../support/service.js';

const PG = process.env.GLIDEKEY_TEST_POSTGRES_URL;

/** A site.rotate audit line: its time and its detail's fields. */
interface RotationLine {
  at: number;
  fromVersion: number;
  toVersion: number;
  trigger: string;
}

// Two replicas need PostgreSQL (.ci/run provides it when a server answers on 127.0.0.1:5432).
const suite = PG ? describe : describe.skip;
suite(`two replicas on one PostgreSQL database${PG ? '' : ' (SKIPPED: GLIDEKEY_TEST_POSTGRES_URL is not set)'}`, () => {
  it('rotates each due site exactly once per due time', async () => {
    const name = `glidekey_replicas_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG!);
    url.pathname = `/${name}`;
    const env = { GLIDEKEY_DATABASE_URL: url.toString(), GLIDEKEY_SCHEDULER_TICK_SECONDS: '1', GLIDEKEY_LOG_LEVEL: 'warn' };
    const a = await startService({ env });
    // The second replica shares the database and the master key, nothing else.
    const bDir = tempDir();
    copyFileSync(join(a.dataDir, 'master.key'), join(bDir, 'master.key'));
    chmodSync(join(bDir, 'master.key'), 0o600);
    const b = await startService({ env: { ...env, GLIDEKEY_MASTER_KEY_FILE: join(bDir, 'master.key') }, dataDir: bDir });
    expect(b.adminKey).toBe(''); // the database had keys: the second replica hands out no admin key
    const api = client(a.api, a.adminKey);
    const sites = ['rep-1', 'rep-2', 'rep-3'];
    for (const s of sites) expect((await api.post('/sites', { name: s, rotation: { enabled: true, intervalSeconds: 2 } })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 9000));
    await a.stop();
    await b.stop();

    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    try {
      for (const s of sites) {
        const res = await db.query(`SELECT at, detail FROM audit_log WHERE action = 'site.rotate' AND target = $1 AND result = 'success' ORDER BY at`, [
          `site:${s}`,
        ]);
        const lines = res.rows.map((r: { at: string; detail: string }) => ({ at: Number(r.at), ...JSON.parse(r.detail) })) as RotationLine[];
        expect(lines.length).toBeGreaterThanOrEqual(3);
        // Every version came from exactly one rotation, in order...
        expect(lines.map((l) => l.toVersion)).toEqual(lines.map((_, i) => i + 2));
        // ...and no due time was served twice: consecutive rotations are a full interval apart (less tick jitter).
        for (let i = 1; i < lines.length; i++) expect([s, lines[i].at - lines[i - 1].at >= 1500]).toEqual([s, true]);
        const keys = await db.query(`SELECT COUNT(*) AS n FROM site_keys k JOIN sites x ON x.id = k.site_id WHERE x.name = $1 AND k.state = 'active'`, [s]);
        expect(Number(keys.rows[0].n)).toBe(1);
      }
    } finally {
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
    removeDir(a.dataDir);
    removeDir(bDir);
  }, 60_000);

  it('comes up when two replicas start on one new database at the same moment', async () => {
    const name = `glidekey_replicas_start_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG!);
    url.pathname = `/${name}`;
    // The replicas share the database and a master key provisioned beforehand, nothing else.
    const keyDir = tempDir();
    const masterKey = join(keyDir, 'master.key');
    writeFileSync(masterKey, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    const env = { GLIDEKEY_DATABASE_URL: url.toString(), GLIDEKEY_MASTER_KEY_FILE: masterKey, GLIDEKEY_LOG_LEVEL: 'warn' };
    // Migrated beforehand, so no replica waits for another's migrations and all reach the first-start work together.
    const ds = await openDatabase(new Settings(loadConfig({ GLIDEKEY_DATA_DIR: keyDir, ...env })));
    await ds.destroy();
    const started = await Promise.allSettled([0, 1].map(() => startService({ env })));
    try {
      expect(started.map((s) => (s.status === 'rejected' ? String(s.reason).slice(0, 2000) : 'up'))).toEqual(['up', 'up']);
      const svcs = started.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof startService>>>).value);
      // Exactly one of them created the admin key, and it works on both.
      const holders = svcs.filter((s) => existsSync(join(s.dataDir, 'admin.key')));
      expect(holders).toHaveLength(1);
      for (const s of svcs) expect((await client(s.api, holders[0].adminKey).get('/apikeys')).json).toEqual([expect.objectContaining({ name: 'admin' })]);
    } finally {
      for (const s of started)
        if (s.status === 'fulfilled') {
          await s.value.stop();
          removeDir(s.value.dataDir);
        }
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      removeDir(keyDir);
    }
  }, 60_000);
  it('rotates the frontend identity once when two replicas are asked at the same moment, and both then read the new key from the database', async () => {
    const name = `glidekey_replicas_identity_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG!);
    url.pathname = `/${name}`;
    const env = { GLIDEKEY_DATABASE_URL: url.toString(), GLIDEKEY_ROLES: 'frontend', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600', GLIDEKEY_LOG_LEVEL: 'warn' };
    const a = await startService({ env });
    const bDir = tempDir();
    copyFileSync(join(a.dataDir, 'master.key'), join(bDir, 'master.key'));
    chmodSync(join(bDir, 'master.key'), 0o600);
    const b = await startService({ env: { ...env, GLIDEKEY_MASTER_KEY_FILE: join(bDir, 'master.key') }, dataDir: bDir });
    try {
      const before = (await client(a.api).get('/frontend/identity')).json;
      const answers = await Promise.all([a, b].map((r) => client(r.api, a.adminKey).post('/frontend/identity/rotate')));
      // One rotation; the other is refused with a stable 409, never a second key or a 500.
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(['IDENTITY_TRANSITION_PENDING', 'CONFLICT']).toContain(answers.find((r) => r.status === 409)!.json.error.code);
      const won = answers.find((r) => r.status === 200)!.json;
      for (const r of [a, b])
        expect((await client(r.api).get('/frontend/identity')).json).toMatchObject({
          fingerprint: won.fingerprint,
          previous: { fingerprint: before.fingerprint },
        });
      const lines = await client(a.api, a.adminKey).get('/audit?action=frontend.identity.rotate&result=success');
      expect(lines.json.entries).toHaveLength(1);
    } finally {
      await a.stop();
      await b.stop();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      removeDir(a.dataDir);
      removeDir(bDir);
    }
  }, 60_000);
});
