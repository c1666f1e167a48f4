import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { frontendReadsIdtoken, jtiOf } from '../support/gwms-frontend.js';
import { client, removeDir, ROOT, startService, tempDir } from '../support/service.js';

const SYNC = join(ROOT, 'contrib', 'glidekey-gwms-sync');
const asRoot = process.getuid!() === 0;
/** The frontend's user: daemon (1:1) where the test may hand files to it. */
const FRONTEND = asRoot ? '1:1' : `${process.getuid!()}:${process.getgid!()}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * The installed layout end to end: the service (node dist/main.js) keeps gwms.frontend.tokensDir
 * in a staging directory of its own, and the root-side sync makes the frontend's tokens.d of it,
 * read through the model of an unmodified frontend (support/gwms-frontend.ts).
 */
describe("the service staging the frontend's tokens.d + contrib/glidekey-gwms-sync (node dist/main.js)", () => {
  const base = tempDir('gwms-sync-e2e-');
  afterAll(() => removeDir(base));

  it(`the frontend reads each group's and site's current token from files that are its user's, 0600, with the staged bytes and mtime, renewed mtimes included; a deleted site's files go${asRoot ? '' : ' (ownership NOT checked: not running as root)'}`, async () => {
    const staging = join(base, 'var-lib-glidekey', 'gwms', 'tokens.d');
    const home = join(base, 'var-lib-gwms-frontend');
    const tokensD = join(home, 'tokens.d');
    mkdirSync(tokensD, { recursive: true, mode: 0o700 });
    const [uid, gid] = FRONTEND.split(':').map(Number);
    for (const d of [home, tokensD]) chownSync(d, uid, gid);
    const env = {
      PATH: process.env.PATH!,
      GWMS_SYNC_TOKENS_SOURCE: staging,
      GWMS_SYNC_TOKENS_DIR: tokensD,
      GWMS_SYNC_SCITOKENS_SOURCE: '',
      GWMS_SYNC_OWNER: FRONTEND,
      GWMS_SYNC_STATE_DIR: join(base, 'sync-state'),
    };
    const sync = () => {
      const r = spawnSync('sh', [SYNC], { env, encoding: 'utf8' });
      return { code: r.status, stderr: r.stderr };
    };
    const REFRESH = 2;
    const svc = await startService({
      env: {
        GLIDEKEY_GWMS_FRONTEND_TOKENS_DIR: staging,
        GLIDEKEY_GWMS_FRONTEND_GROUPS: 'main,cms',
        GLIDEKEY_GWMS_FRONTEND_REFRESH_SECONDS: String(REFRESH),
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '1',
      },
    });
    try {
      const api = client(svc.api, svc.adminKey);
      for (const name of ['siteA', 'siteB']) expect((await api.post('/sites', { name })).status).toBe(201);
      const want = ['cms.siteA.idtoken', 'cms.siteB.idtoken', 'main.siteA.idtoken', 'main.siteB.idtoken'];
      await until('the staged token files', () => readdirSync(staging).filter((f) => !f.startsWith('.')).length === 4);
      expect(sync()).toEqual({ code: 0, stderr: expect.stringContaining('installed') });
      expect(readdirSync(tokensD).sort()).toEqual(want);

      /**
       * Syncs, then reads each file as the frontend does and compares it with glidekey's current
       * token and the staged file. glidekey may renew a staged mtime between the two (every 2 s
       * here): then it syncs and looks again, at most 5 times; what is wrong at the end is returned.
       */
      const synced = async () => {
        let wrong: unknown[] = [];
        const mtimes: Record<string, number> = {};
        for (let attempt = 0; attempt < 5; attempt++) {
          expect(sync().code).toBe(0);
          wrong = [];
          for (const site of ['siteA', 'siteB']) {
            const jti = (await api.get(`/sites/${site}`)).json.currentToken.jti as string;
            for (const group of ['main', 'cms']) {
              const name = `${group}.${site}.idtoken`;
              const read = frontendReadsIdtoken(home, group, site);
              const st = statSync(read.path);
              const got = [
                name,
                read.action,
                read.advertised,
                jtiOf(read.token!),
                (st.mode & 0o777).toString(8),
                `${st.uid}:${st.gid}`,
                read.token,
                st.mtimeMs,
              ];
              const exp = [name, 'reuse', true, jti, '600', FRONTEND, readFileSync(join(staging, name), 'utf8'), statSync(join(staging, name)).mtimeMs];
              if (JSON.stringify(got) !== JSON.stringify(exp)) wrong.push({ got, exp });
              mtimes[name] = st.mtimeMs;
            }
          }
          if (!wrong.length) break;
        }
        expect(wrong).toEqual([]);
        return mtimes;
      };
      const first = await synced();
      // glidekey renews the staged mtimes (a touch: the same token, the same inode); the next sync carries them over.
      const stagedIno = statSync(join(staging, 'main.siteA.idtoken')).ino;
      await until('glidekey to renew the staged mtimes', () => want.every((n) => statSync(join(staging, n)).mtimeMs > first[n]), 15_000);
      expect(statSync(join(staging, 'main.siteA.idtoken')).ino).toBe(stagedIno);
      const renewed = await synced();
      for (const n of want) expect(renewed[n]).toBeGreaterThan(first[n]);

      // A deleted site's files leave the staging dir, then the frontend's; the frontend's passwords.d stays empty.
      expect((await api.del('/sites/siteA')).status).toBe(204);
      await until('siteA to leave the staging dir', () => !existsSync(join(staging, 'main.siteA.idtoken')));
      expect(sync().code).toBe(0);
      expect(readdirSync(tokensD).sort()).toEqual(['cms.siteB.idtoken', 'main.siteB.idtoken']);
      expect(frontendReadsIdtoken(home, 'main', 'siteA').action).toBe('none');
      expect(readdirSync(join(home, 'passwords.d'))).toEqual([]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  }, 60_000);
});
