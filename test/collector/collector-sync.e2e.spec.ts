import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, removeDir, ROOT, startService, tempDir } from '../support/service.js';

const SYNC = join(ROOT, 'contrib', 'glidekey-collector-sync');
const asRoot = process.getuid!() === 0;

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The installed layout end to end: the service (node dist/main.js) keeps its staging copies
 * (frontend.passwordsDir, frontend.revocationFile) in its own directory, and the root-side sync
 * puts them where the collector reads them.
 */
describe('the service staging its collector files + contrib/glidekey-collector-sync (node dist/main.js)', () => {
  const base = tempDir('collector-sync-e2e-');
  afterAll(() => removeDir(base));

  it(`the collector's passwords.d holds exactly the usable keys, as root-owned 0600 files, beside its own POOL; the snippet is the service's${asRoot ? '' : ' (root ownership NOT checked: not running as root)'}`, async () => {
    const staging = join(base, 'var-lib-glidekey', 'collector');
    const dst = join(base, 'etc-condor', 'passwords.d');
    const confDir = join(base, 'etc-condor', 'config.d');
    mkdirSync(dst, { recursive: true, mode: 0o700 });
    mkdirSync(confDir, { mode: 0o755 });
    writeFileSync(join(dst, 'POOL'), "the collector's own POOL", { mode: 0o600 });
    const calls = join(base, 'reconfig.calls');
    const reconfig = join(base, 'condor_reconfig');
    writeFileSync(reconfig, `#!/bin/sh\necho "$*" >> '${calls}'\n`, { mode: 0o755 });
    const env = {
      PATH: process.env.PATH!,
      COLLECTOR_SYNC_SOURCE: join(staging, 'passwords.d'),
      COLLECTOR_SYNC_REVOCATION_SOURCE: join(staging, '99-glidekey-revocation.conf'),
      COLLECTOR_SYNC_PASSWORDS_DIR: dst,
      COLLECTOR_SYNC_REVOCATION_FILE: join(confDir, '99-glidekey-revocation.conf'),
      COLLECTOR_SYNC_STATE_DIR: join(base, 'sync-state'),
      COLLECTOR_SYNC_RECONFIG: reconfig,
      ...(asRoot ? {} : { COLLECTOR_SYNC_KEY_OWNER: `${process.getuid!()}:${process.getgid!()}` }),
    };
    const sync = () => {
      const r = spawnSync('sh', [SYNC], { env, encoding: 'utf8' });
      return { code: r.status, stderr: r.stderr };
    };

    const svc = await startService({
      env: {
        GLIDEKEY_FRONTEND_PASSWORDS_DIR: env.COLLECTOR_SYNC_SOURCE,
        GLIDEKEY_FRONTEND_REVOCATION_FILE: env.COLLECTOR_SYNC_REVOCATION_SOURCE,
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
      },
    });
    const api = client(svc.api, svc.adminKey);
    for (const name of ['alpha', 'beta']) expect((await api.post('/sites', { name })).status).toBe(201);
    expect((await api.post('/sites/beta/rotate', { graceSeconds: 3600 })).status).toBe(200);
    const minted = await api.post('/sites/alpha/tokens', {});
    expect(minted.status).toBe(201);
    expect((await api.post(`/tokens/${minted.json.jti}/revoke`)).status).toBe(200);

    /** kid -> the keyfile bytes the service exports, for every usable version. */
    const usable = async (sites: string[]) => {
      const out: Record<string, string> = {};
      for (const site of sites) {
        for (const k of (await api.get(`/sites/${site}`)).json.keys as { version: number; kid: string }[]) {
          const res = await fetch(`${svc.api}/sites/${site}/keyfile?version=${k.version}`, { headers: { authorization: `Bearer ${svc.adminKey}` } });
          expect(res.status).toBe(200);
          out[k.kid] = Buffer.from(await res.arrayBuffer()).toString('hex');
        }
      }
      return out;
    };
    const collector = () =>
      Object.fromEntries(
        readdirSync(dst)
          .filter((f) => f !== 'POOL')
          .sort()
          .map((f) => {
            const st = lstatSync(join(dst, f));
            expect([f, st.isFile(), (st.mode & 0o777).toString(8), asRoot ? `${st.uid}:${st.gid}` : 'n/a']).toEqual([f, true, '600', asRoot ? '0:0' : 'n/a']);
            return [f, readFileSync(join(dst, f)).toString('hex')];
          }),
      );

    const want = await usable(['alpha', 'beta']);
    expect(Object.keys(want).sort()).toEqual(['alpha', 'beta', 'beta_v2']);
    await until(
      'the staged key files',
      () => readdirSync(env.COLLECTOR_SYNC_SOURCE).filter((f) => !f.startsWith('.')).length === 3 && existsSync(env.COLLECTOR_SYNC_REVOCATION_SOURCE),
    );
    const first = sync();
    expect([first.code, first.stderr]).toEqual([0, expect.stringContaining('installed')]);
    expect(collector()).toEqual(want);
    expect(readFileSync(join(dst, 'POOL'), 'utf8')).toBe("the collector's own POOL");
    const expr = (await api.get('/revocations/condor')).text.trim();
    expect(expr).toContain(minted.json.jti);
    const installed = readFileSync(env.COLLECTOR_SYNC_REVOCATION_FILE, 'utf8');
    expect(installed).toBe(readFileSync(env.COLLECTOR_SYNC_REVOCATION_SOURCE, 'utf8'));
    expect(installed).toContain(`\nSEC_TOKEN_REVOCATION_EXPR = ${expr}\n`);
    expect(readFileSync(calls, 'utf8')).toBe('\n');

    // A deleted site's file leaves the staging dir, then the collector's; nothing else moves.
    expect((await api.del('/sites/alpha')).status).toBe(204);
    await until('alpha to leave the staging dir', () => !existsSync(join(env.COLLECTOR_SYNC_SOURCE, 'alpha')));
    expect(sync().code).toBe(0);
    expect(collector()).toEqual(await usable(['beta']));
    expect(readdirSync(dst).sort()).toEqual(['POOL', 'beta', 'beta_v2']);
    expect(sync()).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(calls, 'utf8')).toBe('\n\n');
    expect(await svc.stop()).toBe(0);
  });
});
