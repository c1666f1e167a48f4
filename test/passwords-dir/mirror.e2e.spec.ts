import { chmodSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, removeDir, Service, startService, tempDir } from '../support/service.js';

interface KeyView {
  version: number;
  kid: string;
  state: string;
}

/**
 * What the database says passwords.d must hold: kid -> exported key file bytes, for every usable key;
 * null when a listed key stopped being usable before its file was fetched (look again).
 */
async function expected(svc: Service, sites: string[]): Promise<Map<string, Buffer> | null> {
  const api = client(svc.api, svc.adminKey);
  const out = new Map<string, Buffer>();
  for (const site of sites) {
    const keys: KeyView[] = (await api.get(`/sites/${site}`)).json.keys;
    for (const k of keys) {
      const res = await fetch(`${svc.api}/sites/${site}/keyfile?version=${k.version}`, { headers: { authorization: `Bearer ${svc.adminKey}` } });
      if (res.status === 404) return null;
      expect(res.status).toBe(200);
      out.set(k.kid, Buffer.from(await res.arrayBuffer()));
    }
  }
  return out;
}

/** The directory's files other than the admin's own. */
function actual(dir: string, unmanaged: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(dir).filter((f) => !unmanaged.includes(f))) {
    expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    out.set(f, readFileSync(join(dir, f)));
  }
  return out;
}

const flat = (m: Map<string, Buffer>) =>
  [...m]
    .map(([k, v]) => `${k}=${v.toString('hex')}`)
    .sort()
    .join(',');
const same = (a: Map<string, Buffer>, b: Map<string, Buffer>) => flat(a) === flat(b);
const sameFiles = (a: Map<string, Buffer>, b: Map<string, Buffer>) =>
  expect([...a].map(([k, v]) => `${k}=${v.toString('hex')}`).sort()).toEqual([...b].map(([k, v]) => `${k}=${v.toString('hex')}`).sort());

describe('passwords.d kept in line with the database (node dist/main.js)', () => {
  it('matches the database after every rotation, removes retired keys, leaves the admin file alone, repairs drift at start', async () => {
    const dir = tempDir('passwords.d-');
    const revocationFile = join(tempDir('condor-config-'), '99-glidekey-revocation.conf');
    const pool = Buffer.from("the admin POOL key, not glidekey's");
    writeFileSync(join(dir, 'POOL'), pool, { mode: 0o600 });
    const env = { GLIDEKEY_FRONTEND_PASSWORDS_DIR: dir, GLIDEKEY_FRONTEND_REVOCATION_FILE: revocationFile, GLIDEKEY_SCHEDULER_TICK_SECONDS: '1' };
    let svc = await startService({ env });
    const api = client(svc.api, svc.adminKey);
    expect((await api.post('/sites', { name: 'fast', rotation: { enabled: true, intervalSeconds: 2, graceSeconds: 3 } })).status).toBe(201);
    expect((await api.post('/sites', { name: 'blunt', rotation: { enabled: true, intervalSeconds: 2, graceSeconds: 0 } })).status).toBe(201);
    const sites = ['fast', 'blunt'];

    const seen = new Set<string>();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (seen.size < 6 || !seen.has('fast:grace-gone'))) {
      // The files follow each commit within moments (a new key's file even precedes it): compare a
      // stable database view with the directory, re-reading both until they agree, for at most 5 s
      // (a rotation's file is written before its COMMIT; on a loaded 2-core CI machine the COMMIT
      // behind it, or the next tick's sync after a rollback, has been seen to take over 2 s).
      const settle = Date.now() + 5000;
      let want: Map<string, Buffer> | null;
      for (;;) {
        const before = JSON.stringify(await Promise.all(sites.map(async (x) => (await api.get(`/sites/${x}`)).json.keys)));
        want = await expected(svc, sites);
        const after = JSON.stringify(await Promise.all(sites.map(async (x) => (await api.get(`/sites/${x}`)).json.keys)));
        if ((want && before === after && same(actual(dir, ['POOL']), want)) || Date.now() > settle) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(want).not.toBeNull();
      sameFiles(actual(dir, ['POOL']), want!);
      for (const s of sites) seen.add(`${s}:v${(await api.get(`/sites/${s}`)).json.key.version}`);
      const fastKeys: KeyView[] = (await api.get('/sites/fast')).json.keys;
      if (fastKeys.some((k) => k.state === 'grace')) seen.add('fast:grace-seen');
      if (seen.has('fast:grace-seen') && (await api.get('/sites/fast')).json.key.version >= 4) seen.add('fast:grace-gone');
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(seen.has('fast:grace-seen')).toBe(true);
    expect([...seen].filter((s) => s.startsWith('blunt:v')).length).toBeGreaterThanOrEqual(3);
    expect(readFileSync(join(dir, 'POOL')).equals(pool)).toBe(true);
    expect(readFileSync(revocationFile, 'utf8')).toMatch(/^# Written by glidekey[^\n]*\nSEC_TOKEN_REVOCATION_EXPR = false\n$/);

    // Stop rotating and let the last grace end, so no key's grace runs out while the service is
    // down (a restart with an hour's tick would not retire it, and the comparison below would race).
    for (const s of sites) expect((await api.patch(`/sites/${s}`, { rotation: { enabled: false } })).status).toBe(200);
    const quiet = Date.now() + 10_000;
    while (Date.now() < quiet && ((await api.get('/sites/fast')).json.keys as KeyView[]).some((k) => k.state === 'grace'))
      await new Promise((r) => setTimeout(r, 200));
    expect(((await api.get('/sites/fast')).json.keys as KeyView[]).some((k) => k.state === 'grace')).toBe(false);

    // Drift while stopped: a managed file deleted, another edited, a stale one left behind.
    await svc.stop();
    const files = readdirSync(dir).filter((f) => f !== 'POOL');
    unlinkSync(join(dir, files[0]));
    writeFileSync(join(dir, files[1]), 'tampered');
    chmodSync(join(dir, files[1]), 0o644);
    svc = await startService({ env: { ...env, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' }, dataDir: svc.dataDir });
    expect(svc.output()).toMatch(/startup: repaired/);
    sameFiles(actual(dir, ['POOL']), (await expected(svc, sites))!);
    expect(readFileSync(join(dir, 'POOL')).equals(pool)).toBe(true);

    // A revocation reaches the config snippet.
    const minted = await client(svc.api, svc.adminKey).post('/sites/blunt/tokens', {});
    await client(svc.api, svc.adminKey).post(`/tokens/${minted.json.jti}/revoke`);
    expect(readFileSync(revocationFile, 'utf8')).toContain(`SEC_TOKEN_REVOCATION_EXPR = jti =?= "${minted.json.jti}"\n`);
    await svc.stop();
    removeDir(svc.dataDir);
    removeDir(dir);
  }, 60_000);
});
