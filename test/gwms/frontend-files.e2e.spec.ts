import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { frontendReadsIdtoken, jtiOf, REUSE_WINDOW_SECONDS } from '../support/gwms-frontend.js';
import { readmeCommand, shell } from '../support/readme.js';
import { client, removeDir, Service, startService, tempDir } from '../support/service.js';

/**
 * The files an unmodified GlideinWMS frontend reads, kept by `node dist/main.js`: a frontend home
 * with tokens.d and no passwords.d, read through a model of the frontend's rules
 * (support/gwms-frontend.ts) while sites rotate and renew their tokens every few seconds.
 */

const TICK = 1;
const REFRESH = 2;
/** A file is touched on the first tick after REFRESH: its age peaks near their sum (plus a tick's own run). */
const MAX_AGE = REFRESH + TICK + 1.5;
const GROUPS = ['main', 'cms'];
const ISSUER = 'https://vo-issuer.example.org';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const snapshot = (dir: string, names: string[]) => names.map((n) => `${n}:${readFileSync(join(dir, n), 'hex')}:${statSync(join(dir, n)).mtimeMs}`);

describe('GlideinWMS frontend files kept by glidekey (node dist/main.js)', () => {
  const home = tempDir('gwms-frontend-home-');
  const tokensD = join(home, 'tokens.d');
  const sciDir = join(home, 'scitokens');
  let svc: Service;
  const api = () => client(svc.api, svc.adminKey);
  const groupsOf: Record<string, string[]> = { siteA: ['main'], siteB: GROUPS, siteC: GROUPS };
  const currentJti = async (site: string): Promise<string | null> => (await api().get(`/sites/${site}`)).json.currentToken?.jti ?? null;
  const names = () => readdirSync(tokensD).sort();
  const metric = async (line: string) => {
    const text = (await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${svc.adminKey}` } }).then((r) => r.text())).split('\n');
    const hit = text.find((l) => l.startsWith(line + ' '));
    return hit === undefined ? undefined : Number(hit.slice(line.length + 1));
  };

  // What the admin had before glidekey: the frontend's own token for siteA (stale, as it leaves it), and files glidekey must not touch.
  const foreign = ['notes.txt', 'main.nosuchsite.idtoken', 'other.siteA.idtoken', '.hidden'];
  beforeAll(async () => {
    mkdirSync(tokensD, { mode: 0o700 });
    writeFileSync(join(tokensD, 'main.siteA.idtoken'), 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvbGQifQ.c2lnbmF0dXJl', { mode: 0o600 });
    const twoHoursAgo = Date.now() / 1000 - 7200;
    utimesSync(join(tokensD, 'main.siteA.idtoken'), twoHoursAgo, twoHoursAgo);
    for (const f of foreign) writeFileSync(join(tokensD, f), `not glidekey's: ${f}\n`, { mode: 0o644 });
    mkdirSync(sciDir, { mode: 0o700 });
    writeFileSync(join(sciDir, 'mine.scitoken'), 'the admin own token file\n', { mode: 0o600 });
    svc = await startService({
      env: {
        GLIDEKEY_SCHEDULER_TICK_SECONDS: String(TICK),
        GLIDEKEY_GWMS_FRONTEND_TOKENS_DIR: tokensD,
        GLIDEKEY_GWMS_FRONTEND_GROUPS: GROUPS.join(','),
        GLIDEKEY_GWMS_FRONTEND_REFRESH_SECONDS: String(REFRESH),
        GLIDEKEY_GWMS_FRONTEND_SCITOKENS_DIR: sciDir,
        // Renewed when under 95% of a 60 s lifetime is left: a new current token every few seconds.
        GLIDEKEY_TOKENS_RENEW_FRACTION: '0.95',
        GLIDEKEY_METRICS_CACHE_SECONDS: '0',
      },
    });
  });

  afterAll(async () => {
    await svc?.stop();
    if (svc) removeDir(svc.dataDir);
    removeDir(home);
  });

  it('keeps every group and site file present, current, 0600, without a newline, and younger than the reuse window, across rotations and renewals', async () => {
    const foreignBefore = snapshot(tokensD, foreign);
    expect((await api().post('/sites', { name: 'siteA', lifetimeSeconds: 60, gwmsGroups: ['main'] })).status).toBe(201);
    expect((await api().post('/sites', { name: 'siteB', lifetimeSeconds: 60, rotation: { enabled: true, intervalSeconds: 4, graceSeconds: 0 } })).status).toBe(
      201,
    );
    // siteC's token does not change during the run: only the mtime renewal keeps its files young.
    expect((await api().post('/sites', { name: 'siteC' })).status).toBe(201);
    expect((await api().get('/sites/siteA')).json.gwmsGroups).toEqual(['main']);
    expect((await api().get('/sites/siteB')).json.gwmsGroups).toBeNull();

    const jtis: Record<string, Set<string>> = { siteA: new Set(), siteB: new Set(), siteC: new Set() };
    let maxAge = 0;
    let samples = 0;
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      for (const [site, groups] of Object.entries(groupsOf)) {
        for (const group of groups) {
          // The file follows each commit within moments: compare with a stable API view, for at most 1 s.
          const settle = Date.now() + 1000;
          for (;;) {
            const before = await currentJti(site);
            const read = frontendReadsIdtoken(home, group, site);
            const after = await currentJti(site);
            const current = before !== null && before === after && read.token !== null && jtiOf(read.token) === before;
            if (current || Date.now() > settle) {
              expect([site, group, read.action, read.advertised]).toEqual([site, group, 'reuse', true]);
              expect([site, group, jtiOf(read.token!)]).toEqual([site, group, after]);
              expect(read.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
              expect(statSync(read.path).mode & 0o777).toBe(0o600);
              maxAge = Math.max(maxAge, read.ageSeconds!);
              jtis[site].add(after!);
              samples++;
              break;
            }
            await sleep(50);
          }
        }
      }
      await sleep(150);
    }
    expect(samples).toBeGreaterThan(50);
    expect(maxAge).toBeLessThanOrEqual(MAX_AGE);
    expect(maxAge).toBeLessThan(REUSE_WINDOW_SECONDS);
    // Renewals (siteA, siteB) and rotations (siteB) happened; siteC kept one token throughout.
    expect(jtis.siteA.size).toBeGreaterThanOrEqual(3);
    expect(jtis.siteB.size).toBeGreaterThanOrEqual(3);
    expect(jtis.siteC.size).toBe(1);
    expect((await api().get('/sites/siteB')).json.key.version).toBeGreaterThanOrEqual(3);
    // The frontend's own stale file was taken over; nothing else was touched; passwords.d stays as the frontend made it: empty.
    expect(names()).toEqual([...foreign, 'cms.siteB.idtoken', 'cms.siteC.idtoken', 'main.siteA.idtoken', 'main.siteB.idtoken', 'main.siteC.idtoken'].sort());
    expect(snapshot(tokensD, foreign)).toEqual(foreignBefore);
    expect(readdirSync(join(home, 'passwords.d'))).toEqual([]);
    expect(await metric('glidekey_gwms_frontend_file_changes_total{kind="idtoken",change="claimed"}')).toBe(1);
    expect(await metric('glidekey_gwms_frontend_file_changes_total{kind="idtoken",change="refreshed"}')).toBeGreaterThan(0);
    expect(await metric('glidekey_gwms_frontend_file_max_age_seconds{kind="idtoken"}')).toBeLessThanOrEqual(MAX_AGE);
    await until('the take-over to be logged', () => (/took over main\.siteA\.idtoken/.test(svc.output()) ? true : undefined));
  }, 60_000);

  it('follows a revocation, a group list change and a deletion before the answer, and repairs drift on the next tick', async () => {
    for (const s of ['siteA', 'siteB']) expect((await api().patch(`/sites/${s}`, { rotation: { enabled: false }, lifetimeSeconds: 86400 })).status).toBe(200);
    const foreignBefore = snapshot(tokensD, foreign);
    const file = (g: string, s: string) => join(tokensD, `${g}.${s}.idtoken`);

    // A revoked current token is replaced, and its file with it, before the revocation is answered.
    const revoked = (await currentJti('siteC'))!;
    expect((await api().post(`/tokens/${revoked}/revoke`)).status).toBe(200);
    const replacement = (await currentJti('siteC'))!;
    expect(replacement).not.toBe(revoked);
    for (const g of GROUPS) expect(jtiOf(readFileSync(file(g, 'siteC'), 'utf8'))).toBe(replacement);

    // The site's own group list: files of a group that leaves it go, a new group's come, null is the configured list again, [] none.
    expect((await api().patch('/sites/siteA', { gwmsGroups: ['cms'] })).status).toBe(200);
    expect([existsSync(file('main', 'siteA')), existsSync(file('cms', 'siteA'))]).toEqual([false, true]);
    expect((await api().patch('/sites/siteA', { gwmsGroups: null })).status).toBe(200);
    expect((await api().get('/sites/siteA')).json.gwmsGroups).toBeNull();
    expect([existsSync(file('main', 'siteA')), existsSync(file('cms', 'siteA'))]).toEqual([true, true]);
    expect((await api().patch('/sites/siteA', { gwmsGroups: [] })).status).toBe(200);
    expect([existsSync(file('main', 'siteA')), existsSync(file('cms', 'siteA'))]).toEqual([false, false]);
    const bad = await api().patch('/sites/siteA', { gwmsGroups: ['main', 'a.b'] });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_GWMS_GROUPS']);

    // A deleted site's files go with it.
    expect((await api().del('/sites/siteB')).status).toBe(204);
    expect([existsSync(file('main', 'siteB')), existsSync(file('cms', 'siteB'))]).toEqual([false, false]);

    // Drift: a file deleted, another edited and loosened: back within a few ticks, logged.
    unlinkSync(file('main', 'siteC'));
    writeFileSync(file('cms', 'siteC'), 'edited');
    chmodSync(file('cms', 'siteC'), 0o644);
    await until('the drift to be repaired', () =>
      GROUPS.every(
        (g) =>
          existsSync(file(g, 'siteC')) && jtiOf(readFileSync(file(g, 'siteC'), 'utf8')) === replacement && (statSync(file(g, 'siteC')).mode & 0o777) === 0o600,
      )
        ? true
        : undefined,
    );
    // Repaired by the next sync: a tick's, or one a renewal elsewhere set off.
    await until('the repair to be logged', () => (/(tick|change): repaired [^"]*main\.siteC\.idtoken/.test(svc.output()) ? true : undefined));
    expect(names()).toEqual([...foreign, 'cms.siteC.idtoken', 'main.siteC.idtoken'].sort());
    expect(snapshot(tokensD, foreign)).toEqual(foreignBefore);
    expect(await metric('glidekey_gwms_frontend_file_changes_total{kind="idtoken",change="removed"}')).toBeGreaterThanOrEqual(5);
    expect(await metric('glidekey_gwms_frontend_file_changes_total{kind="idtoken",change="repaired"}')).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('keeps each usable SciToken as <name>.scitoken for absfname, and removes it once deleted or expired', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] };
    expect((await api().put('/scitoken-issuers/vo', { issuer: ISSUER, jwks })).status).toBe(201);
    const sign = (lifetime: number, jti: string) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: ISSUER,
        sub: 'vo-pilot',
        aud: 'https://wlcg.cern.ch/jwt/v1/any',
        scope: 'compute.create',
        iat: now,
        exp: now + lifetime,
        'wlcg.ver': '1.0',
        jti,
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .sign(rsa.privateKey);
    };
    const file = (n: string) => join(sciDir, `${n}.scitoken`);
    const osg = await sign(6 * 3600, 'osg-1');
    expect((await api().put('/scitokens/osg', { token: osg, trustDomain: 'OSG' })).status).toBe(201);
    // GlideinWMS reads absfname whole and strips it; the file holds the token and nothing else.
    expect(readFileSync(file('osg'), 'utf8')).toBe(osg);
    expect(statSync(file('osg')).mode & 0o777).toBe(0o600);
    const osg2 = await sign(7 * 3600, 'osg-2');
    expect((await api().put('/scitokens/osg', { token: osg2, trustDomain: 'OSG' })).status).toBe(200);
    expect(readFileSync(file('osg'), 'utf8')).toBe(osg2);

    // A stored token under the name of the admin's own file: that file is left alone.
    expect((await api().put('/scitokens/mine', { token: await sign(3600, 'mine-1'), trustDomain: 'OSG' })).status).toBe(201);
    expect(readFileSync(file('mine'), 'utf8')).toBe('the admin own token file\n');
    // The log line travels through a pipe: it may arrive after the answer.
    await until('the conflict to be logged', () => (/not writing [^\n]*mine\.scitoken/.test(svc.output()) ? true : undefined));

    // Expiry is noticed by the scheduler tick; a deletion before its answer.
    expect((await api().put('/scitokens/short', { token: await sign(3, 'short-1'), trustDomain: 'OSG' })).status).toBe(201);
    expect(existsSync(file('short'))).toBe(true);
    await until('the expired SciToken file to go', () => (existsSync(file('short')) ? undefined : true));
    expect((await api().del('/scitokens/osg')).status).toBe(204);
    expect(existsSync(file('osg'))).toBe(false);
    expect(readdirSync(sciDir)).toEqual(['mine.scitoken']);
    expect(await metric('glidekey_gwms_frontend_file_changes_total{kind="scitoken",change="removed"}')).toBe(2);
    expect(await metric('glidekey_gwms_frontend_file_conflicts{kind="scitoken"}')).toBe(1);
  }, 60_000);

  it("runs the README's migration as written: the frontend's passwords.d moves in, and the frontend reads glidekey's tokens", async () => {
    const fe = tempDir('gwms-frontend-migrate-');
    const keys = { Nebraska: Buffer.from('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'), UCSD: Buffer.from('s3cret') };
    mkdirSync(join(fe, 'passwords.d'), { mode: 0o700 });
    for (const [site, key] of Object.entries(keys)) writeFileSync(join(fe, 'passwords.d', site), key, { mode: 0o600 });
    // The frontend's own token from 30 minutes ago: it would reuse that until glidekey replaces it.
    mkdirSync(join(fe, 'tokens.d'), { mode: 0o700 });
    writeFileSync(join(fe, 'tokens.d', 'main.Nebraska.idtoken'), 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmcm9udGVuZCJ9.c2ln', { mode: 0o600 });
    const halfHourAgo = Date.now() / 1000 - 1800;
    utimesSync(join(fe, 'tokens.d', 'main.Nebraska.idtoken'), halfHourAgo, halfHourAgo);
    const gk = await startService({ env: { GLIDEKEY_GWMS_FRONTEND_TOKENS_DIR: join(fe, 'tokens.d'), GLIDEKEY_SCHEDULER_TICK_SECONDS: '600' } });
    try {
      const r = await shell(readmeCommand('site import "$FE_HOME/passwords.d"'), {
        FE_HOME: fe,
        GLIDEKEY_URL: gk.url,
        GLIDEKEY_API_KEY_FILE: join(gk.dataDir, 'admin.key'),
      });
      for (const site of Object.keys(keys)) expect(r.stdout).toMatch(new RegExp(`${site} +created`));
      expect(existsSync(join(fe, 'passwords.d'))).toBe(false);
      expect(readdirSync(join(fe, 'passwords.d.before-glidekey')).sort()).toEqual(['Nebraska', 'UCSD']);
      const gkApi = client(gk.api, gk.adminKey);
      for (const site of Object.keys(keys)) {
        const read = frontendReadsIdtoken(fe, 'main', site);
        expect([site, read.action, read.advertised]).toEqual([site, 'reuse', true]);
        expect(jtiOf(read.token!)).toBe((await gkApi.get(`/sites/${site}`)).json.currentToken.jti);
        const verdict = (await gkApi.post('/tokens/verify', { token: read.token })).json;
        expect([verdict.valid, verdict.site]).toEqual([true, site]);
      }
      // The frontend made its passwords.d again, empty: it has nothing to mint with.
      expect(readdirSync(join(fe, 'passwords.d'))).toEqual([]);
    } finally {
      await gk.stop();
      removeDir(gk.dataDir);
      removeDir(fe);
    }
  }, 60_000);
});
