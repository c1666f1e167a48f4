import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { configValue, Glidein, makeGlidein, parseReport, Run, runStep, setConfigValue, setupX509 } from '../support/gwms.js';
import { client, freePort, removeDir, ROOT, Service, startService, tempDir } from '../support/service.js';
import { makeTestPki, TestPki } from '../support/tls.js';
import { selfRegistered } from '../support/fixtures.js';

/**
 * Issue 14 item 4: scripts/glidein-fetch-token.sh as a GlideinWMS custom script. Each glidein is laid
 * out as glidein_startup.sh lays it out, with stand-ins of GlideinWMS's helpers written from their
 * documented interface (test/support/gwms/: bash-only add_config_line.source, error_gen.sh, and the
 * token part of setup_x509.sh, which runs before every custom script). The script runs under sh
 * (dash here, as on a worker node) against the real service over HTTPS.
 */

const SCRIPT = join(ROOT, 'scripts', 'glidein-fetch-token.sh');
const OURS = 'credential_glidekey_T2_Test.idtoken';
/** What the factory ships today: the frontend's token as credential_<ClientName>_<entry>.idtoken, and a CE collector token. */
const FACTORY = 'credential_fe.example.org.main_OSG_T_ce1.idtoken';
const shipped = { [FACTORY]: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWN0b3J5In0.factory-shipped\n', 'ce_collector.idtoken': 'eyJh.eyJj.ce-token\n' };
const glideinTokens = (dir: string) => readdirSync(dir).filter((f) => /^credential_.*\.idtoken$/.test(f));

describe('glidein-fetch-token.sh as a GlideinWMS custom script: glidein_config, gconfig_*, error_gen, setup_x509.sh', () => {
  let work: string;
  let pki: TestPki;
  let svc: Service;
  let admin: ReturnType<typeof client>;
  let frontend: string;
  const ticket = async (): Promise<string> => {
    const res = await admin.post('/factory/entries/OSG_T_ce1/tickets', { frontend, count: 1 });
    expect(res.status).toBe(201);
    return res.json.tickets[0];
  };
  const glidein = (attrs: Record<string, string> = {}, files: Record<string, string> = {}) =>
    makeGlidein(work, { GLIDEKEY_URL: svc.url, GLIDEKEY_CA_BUNDLE: pki.ca, GLIDEKEY_RETRIES: '0', ...attrs }, files);
  const fetchToken = (g: Glidein, env: Record<string, string> = {}, periodic = false) => runStep(g, SCRIPT, { env, periodic });
  const verify = async (token: string) => (await admin.post('/tokens/verify', { token })).json;
  /** Nothing secret in what the script printed or reported, nor in glidein_config and its history. */
  const noSecrets = (g: Glidein, r: Run, secrets: string[]) => {
    const seen = [r.stdout, r.stderr, r.report, readFileSync(g.config, 'utf8'), readFileSync(`${g.config}.history`, 'utf8')].join('\n');
    for (const s of secrets) expect(seen).not.toContain(s.trim().slice(-40));
  };

  beforeAll(async () => {
    work = tempDir('glidekey-gwms-');
    pki = makeTestPki(work);
    svc = await startService({
      tls: { cert: pki.cert, key: pki.key, ca: pki.ca },
      env: { NODE_EXTRA_CA_CERTS: pki.ca, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' },
    });
    admin = client(svc.api, svc.adminKey, { ca: pki.ca });
    // Both roles in one process: the frontend forwards T2_Test's token to its own factory role.
    ({ frontendName: frontend } = await selfRegistered(admin, svc.url));
    const entry = { site: 'T2_Test', gatekeeper: 'ce1.example.org ce1.example.org:9619', trustDomain: 'OSG', authMethod: 'idtoken', condorVersion: '23.0.3' };
    expect((await admin.put('/factory/entries/OSG_T_ce1', entry)).status).toBe(201);
    expect((await admin.post('/sites', { name: 'T2_Test' })).status).toBe(201);
    const sync = await admin.post('/factories/self/sync');
    expect([sync.status, sync.json.delivery?.delivered]).toEqual([200, 1]);
  });
  afterAll(async () => {
    await svc?.stop();
    if (work) removeDir(work);
  });

  it("replaces the factory-shipped glidein token: one credential_*.idtoken, published, reported -ok, and setup_x509.sh's refresh keeps it so", async () => {
    const g = glidein({}, shipped);
    expect((await setupX509(g)).code).toBe(0);
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN')).toBe(join(g.creds, FACTORY));

    const r = await fetchToken(g, { GLIDEKEY_TICKET: await ticket() });
    expect([r.code, r.stdout]).toEqual([0, '']);
    expect(r.stderr).toMatch(new RegExp(`^glidekey: GLIDEIN_CONDOR_TOKEN=${join(g.creds, OURS)} \\(site T2_Test, expires \\S+Z, next renewal at \\d+\\)\n$`));
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN')).toBe(join(g.creds, OURS));
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN_ORIG')).toBe(join(g.start, OURS));
    expect(Number(configValue(g, 'GLIDEKEY_RENEW_AT'))).toBeGreaterThan(Date.now() / 1000 + 3600);
    expect(configValue(g, 'GLIDEKEY_TOKEN_EXPIRES_AT')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    // Exactly one glidein token in each place, glidekey's, 0600; the CE collector token untouched.
    expect(glideinTokens(g.start)).toEqual([OURS]);
    expect(glideinTokens(g.creds)).toEqual([OURS]);
    expect(readFileSync(join(g.creds, 'ce_collector.idtoken'), 'utf8')).toBe(shipped['ce_collector.idtoken']);
    const token = readFileSync(join(g.creds, OURS), 'utf8');
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(readFileSync(join(g.start, OURS), 'utf8')).toBe(token);
    for (const f of [join(g.creds, OURS), join(g.start, OURS), join(g.workspace, 'glidekey', 'glidekey.renewal')]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(g.workspace, 'glidekey'))).toEqual(['glidekey.renewal']);
    expect(await verify(token.trim())).toMatchObject({ valid: true, site: 'T2_Test' });
    expect(parseReport(r.report)).toEqual({
      status: 'OK',
      metrics: {
        glidekey_site: 'T2_Test',
        idtoken: join(g.creds, OURS),
        glidekey_expires_at: configValue(g, 'GLIDEKEY_TOKEN_EXPIRES_AT'),
        glidekey_renew_at: configValue(g, 'GLIDEKEY_RENEW_AT'),
        glidekey_replaced: FACTORY,
      },
      detail: undefined,
    });
    noSecrets(g, r, [token, readFileSync(join(g.workspace, 'glidekey', 'glidekey.renewal'), 'utf8')]);

    // setup_x509.sh's periodic run copies the start dir's *.idtoken again: still one glidein token, glidekey's.
    expect((await setupX509(g, true)).code).toBe(0);
    expect(glideinTokens(g.creds)).toEqual([OURS]);
    expect(readFileSync(join(g.creds, OURS), 'utf8')).toBe(token);
  });

  it("with no factory-shipped token, installs and publishes glidekey's; the ticket may come from glidein_config", async () => {
    const g = glidein({ GLIDEKEY_TICKET: await ticket() });
    expect((await setupX509(g)).code).toBe(0);
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN')).toBe('');
    const r = await fetchToken(g);
    expect([r.code, r.stdout, parseReport(r.report).status]).toEqual([0, '', 'OK']);
    expect(parseReport(r.report).metrics.glidekey_replaced).toBeUndefined();
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN')).toBe(join(g.creds, OURS));
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN_ORIG')).toBe(join(g.start, OURS));
    expect([glideinTokens(g.start), glideinTokens(g.creds)]).toEqual([[OURS], [OURS]]);
    expect(await verify(readFileSync(join(g.creds, OURS), 'utf8').trim())).toMatchObject({ valid: true });
  });

  it("a refused ticket or an unreachable service: error_gen -error with its category, exit non-zero, the factory's token left as it was", async () => {
    const used = await ticket();
    expect((await fetchToken(glidein(), { GLIDEKEY_TICKET: used })).code).toBe(0);
    const g = glidein({}, shipped);
    await setupX509(g);
    const before = readFileSync(g.config, 'utf8');
    const refused = await fetchToken(g, { GLIDEKEY_TICKET: used });
    expect([refused.code, refused.stdout]).toEqual([3, '']);
    expect(parseReport(refused.report)).toEqual({
      status: 'ERROR',
      metrics: { failure: 'VO_Proxy', glidekey_exit: '3' },
      detail: 'glidekey: the ticket was refused (unknown, already used, or expired)',
    });
    expect(readFileSync(g.config, 'utf8')).toBe(before);
    expect([glideinTokens(g.start), glideinTokens(g.creds)]).toEqual([[FACTORY], [FACTORY]]);

    const down = glidein({ GLIDEKEY_URL: `https://127.0.0.1:${await freePort()}` }, shipped);
    await setupX509(down);
    const r = await fetchToken(down, { GLIDEKEY_TICKET: await ticket() });
    expect(r.code).toBe(6);
    expect(parseReport(r.report)).toMatchObject({ status: 'ERROR', metrics: { failure: 'Network', glidekey_exit: '6' } });
    expect(parseReport(r.report).detail).toMatch(/^glidekey: cannot reach https:\/\/127\.0\.0\.1:\d+ after 1 attempts \(curl exit 7/);
    expect(glideinTokens(down.creds)).toEqual([FACTORY]);

    const none = glidein();
    const missing = await fetchToken(none);
    expect([missing.code, parseReport(missing.report).metrics.failure]).toEqual([2, 'VO_Config']);
    expect(parseReport(missing.report).detail).toContain("no ticket: GLIDEKEY_TICKET is neither in the glidein's environment nor in");
  });

  it('without GLIDEKEY_URL in glidein_config glidekey is off: -ok, nothing changed', async () => {
    const g = makeGlidein(work, {}, shipped);
    await setupX509(g);
    const before = readFileSync(g.config, 'utf8');
    const r = await fetchToken(g, { GLIDEKEY_TICKET: await ticket(), GLIDEKEY_URL: svc.url });
    expect([r.code, r.stdout, parseReport(r.report)]).toEqual([0, '', { status: 'OK', metrics: { glidekey: 'off' }, detail: undefined }]);
    expect(readFileSync(g.config, 'utf8')).toBe(before);
    expect(glideinTokens(g.creds)).toEqual([FACTORY]);
  });

  it('periodic runs renew once GLIDEKEY_RENEW_AT has passed, replacing the token by a rename; renewals that ended stay ended', async () => {
    const g = glidein({}, shipped);
    await setupX509(g);
    expect((await fetchToken(g, { GLIDEKEY_TICKET: await ticket() })).code).toBe(0);
    const renewal = join(g.workspace, 'glidekey', 'glidekey.renewal');
    const r0 = readFileSync(renewal, 'utf8');
    const due0 = configValue(g, 'GLIDEKEY_RENEW_AT');

    // Not due yet: reported, nothing spent.
    const early = await fetchToken(g, {}, true);
    expect([early.code, early.stdout, parseReport(early.report)]).toEqual([0, '', { status: 'OK', metrics: { glidekey_renew_at: due0 }, detail: undefined }]);
    expect(readFileSync(renewal, 'utf8')).toBe(r0);

    // Due (as if the time had come): the renewal credential rotates, both token copies are new files.
    setConfigValue(g, 'GLIDEKEY_RENEW_AT', '0');
    const inodes = [statSync(join(g.creds, OURS)).ino, statSync(join(g.start, OURS)).ino];
    const r = await fetchToken(g, {}, true);
    expect([r.code, r.stdout, parseReport(r.report).status]).toEqual([0, '', 'OK']);
    expect(readFileSync(renewal, 'utf8')).not.toBe(r0);
    expect(statSync(join(g.creds, OURS)).ino).not.toBe(inodes[0]);
    expect(statSync(join(g.start, OURS)).ino).not.toBe(inodes[1]);
    expect(Number(configValue(g, 'GLIDEKEY_RENEW_AT'))).toBeGreaterThan(Date.now() / 1000 + 3600);
    expect([glideinTokens(g.start), glideinTokens(g.creds), statSync(join(g.creds, OURS)).mode & 0o777]).toEqual([[OURS], [OURS], 0o600]);
    expect(await verify(readFileSync(join(g.creds, OURS), 'utf8').trim())).toMatchObject({ valid: true, site: 'T2_Test' });
    expect(readFileSync(`${g.config}.history`, 'utf8')).toMatch(/^ADD\d+ GLIDEKEY_RENEW_AT \d+$/m);

    // The factory admin revokes this glidein: the next due run is refused (3), and later runs say so without asking.
    expect((await admin.post(`/factory/renewals/${readFileSync(renewal, 'utf8').split('_')[1]}/revoke`)).json).toEqual({ revoked: 1 });
    setConfigValue(g, 'GLIDEKEY_RENEW_AT', '0');
    const revoked = await fetchToken(g, {}, true);
    expect([revoked.code, parseReport(revoked.report)]).toEqual([
      3,
      {
        status: 'ERROR',
        metrics: { failure: 'VO_Proxy', glidekey_exit: '3' },
        detail: 'glidekey: the renewal credential was revoked by the factory admin; no more renewals',
      },
    ]);
    expect(configValue(g, 'GLIDEKEY_RENEWALS_ENDED')).toBe('3');
    const logged = svc.output().length;
    const after = await fetchToken(g, {}, true);
    expect([after.code, parseReport(after.report).detail]).toEqual([
      3,
      'glidekey: renewals ended in an earlier run (exit 3); the token stays until it expires',
    ]);
    expect(svc.output().slice(logged)).not.toContain('/glidein/credentials/renew');
    expect(glideinTokens(g.creds)).toEqual([OURS]);
  });
});

describe('README step 4 snippets', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const step = readme.slice(readme.indexOf('### Step 4:'), readme.indexOf('\n## ', readme.indexOf('### Step 4:')));
  const xml = [...step.matchAll(/```xml\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
  const attrsOf = (el: string) => Object.fromEntries([...el.matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));

  it('the <file> element uses only GlideinWMS file attributes, as an executable periodic script', () => {
    const files = [...xml.matchAll(/<file\s[^>]*\/>/g)].map((m) => attrsOf(m[0]));
    expect(files).toHaveLength(1);
    // GlideinWMS's cWParams file_defaults, plus after_entry and after_group (cvWParams, cgWParams)
    const known = ['absfname', 'relfname', 'const', 'executable', 'wrapper', 'untar', 'period', 'prefix', 'type', 'time', 'after_entry', 'after_group'];
    expect(Object.keys(files[0]).filter((k) => !known.includes(k))).toEqual([]);
    expect(files[0]).toMatchObject({ executable: 'True', const: 'True', wrapper: 'False', untar: 'False' });
    expect(Number(files[0].period)).toBeGreaterThan(0);
  });

  it('every <attr> it shows is one the script reads from glidein_config', () => {
    const script = readFileSync(SCRIPT, 'utf8');
    const read = new Set([...script.matchAll(/gwms_get (GLIDEKEY_[A-Z_]+)/g)].map((m) => m[1]));
    const names = [...xml.matchAll(/<attr\s[^>]*\/>/g)].map((m) => attrsOf(m[0]).name);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(read).toContain(n);
  });
});
