import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, removeDir, startService, tempDir } from '../support/service.js';

interface KeyView {
  version: number;
  kid: string;
  state: string;
}

/** Longer than the test: no grace ends while it compares files, so every check is exact. */
const GRACE = 300;

describe('crash safety (SIGKILL during rotations)', () => {
  it('after every kill: one active key per site, no acknowledged rotation lost, passwords.d matching the database', async () => {
    const dir = tempDir('passwords.d-');
    const env = { GLIDEKEY_FRONTEND_PASSWORDS_DIR: dir, GLIDEKEY_SCHEDULER_TICK_SECONDS: '1', GLIDEKEY_LOG_LEVEL: 'warn' };
    let svc = await startService({ env });
    const adminKey = svc.adminKey;
    const sites = ['crash-a', 'crash-b', 'crash-c'];
    for (const [i, name] of sites.entries()) {
      const res = await client(svc.api, adminKey).post('/sites', { name, rotation: { enabled: true, intervalSeconds: 1, graceSeconds: i === 0 ? 0 : GRACE } });
      expect(res.status).toBe(201);
    }
    const acknowledged = new Map<string, number>(sites.map((s) => [s, 1]));
    for (let round = 0; round < 6; round++) {
      const api = client(svc.api, adminKey);
      // Manual rotations in flight while the scheduler rotates too; kill at a random moment.
      const stopAt = Date.now() + 300 + Math.floor(Math.random() * 700);
      const workers = sites.map(async (site, i) => {
        while (Date.now() < stopAt) {
          const r = await api.post(`/sites/${site}/rotate`, { graceSeconds: i === 0 ? 0 : GRACE }).catch(() => undefined);
          if (r?.status === 200) acknowledged.set(site, Math.max(acknowledged.get(site)!, r.json.toVersion));
          else if (r) expect([site, r.status, r.json?.error?.code]).toEqual([site, 409, 'STALE_VERSION']);
        }
      });
      await new Promise((r) => setTimeout(r, stopAt - Date.now()));
      await svc.stop('SIGKILL');
      await Promise.allSettled(workers);

      // Check what the restart found, with no scheduled rotation moving things while we look.
      svc = await startService({ env: { ...env, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' }, dataDir: svc.dataDir });
      const after = client(svc.api, adminKey);
      for (const site of sites) {
        const view = (await after.get(`/sites/${site}`)).json;
        const keys: KeyView[] = view.keys;
        expect([site, keys.filter((k) => k.state === 'active').length]).toEqual([site, 1]);
        expect([site, view.key.version >= acknowledged.get(site)!]).toEqual([site, true]);
        // Start-up reconciliation has brought passwords.d in line before the service answers.
        for (const k of keys) {
          const res = await fetch(`${svc.api}/sites/${site}/keyfile?version=${k.version}`, { headers: { authorization: `Bearer ${adminKey}` } });
          if (res.status === 404) {
            // Its grace ended while we looked: it must have left the site's usable keys.
            const now: KeyView[] = (await after.get(`/sites/${site}`)).json.keys;
            expect([site, k.version, now.some((x) => x.version === k.version)]).toEqual([site, k.version, false]);
            continue;
          }
          const want = Buffer.from(await res.arrayBuffer());
          expect([site, k.kid, readFileSync(join(dir, k.kid)).equals(want)]).toEqual([site, k.kid, true]);
        }
      }
      // Nothing else is left behind: a new version's file written just before a commit the kill prevented is removed at start.
      const usable = new Set((await Promise.all(sites.map(async (s) => (await after.get(`/sites/${s}`)).json.keys as KeyView[]))).flat().map((k) => k.kid));
      expect(readdirSync(dir).filter((f) => !usable.has(f))).toEqual([]);
      await svc.stop('SIGKILL');
      svc = await startService({ env, dataDir: svc.dataDir });
    }
    // The rounds really rotated: many acknowledged versions per site, all kept.
    expect(Math.min(...acknowledged.values())).toBeGreaterThan(5);
    await svc.stop();
    removeDir(svc.dataDir);
    removeDir(dir);
  }, 120_000);
});
