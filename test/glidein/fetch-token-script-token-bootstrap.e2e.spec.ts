import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configValue, Glidein, makeGlidein, parseReport, runStep, setConfigValue, setupX509 } from '../support/gwms.js';
import { until } from '../support/pair.js';
import { client, httpCall, removeDir, ROOT, Service, startService, tempDir } from '../support/service.js';
import { makeTestPki, TestPki } from '../support/tls.js';
import { selfRegistered } from '../support/fixtures.js';

/**
 * Issue 14 item 4, for glideins an unpatched GlideinWMS factory submits (one job.condor per entry,
 * `queue N`, no ticket each): with glideinBootstrap "token" on the entry, the custom script
 * bootstraps with the IDTOKEN the factory shipped. The shipped file is the factory cache's own file
 * (factory.cacheDir), copied into the start dir under GlideinWMS's name, as the factory's job
 * transfer does; the script runs under sh against the real service over HTTPS.
 */

const SCRIPT = join(ROOT, 'scripts', 'glidein-fetch-token.sh');
const shipped = (entry: string) => `credential_fe.example.org.main_${entry}.idtoken`;
const glideinTokens = (dir: string) => readdirSync(dir).filter((f) => /^credential_.*\.idtoken$/.test(f));

describe('glidein-fetch-token.sh bootstraps with the factory-shipped IDTOKEN where the entry allows it', () => {
  let work: string;
  let cacheDir: string;
  let pki: TestPki;
  let svc: Service;
  let admin: ReturnType<typeof client>;
  /** The factory cache's file for an entry's IDTOKEN (wherever the factory's naming puts it). */
  const cacheFile = (entry: string) =>
    until(`the cache file of ${entry}`, async () => {
      const hit = readdirSync(cacheDir, { recursive: true, withFileTypes: true }).find((e) => e.isFile() && e.name.endsWith(`_${entry}.idtoken`));
      return hit ? join(hit.parentPath, hit.name) : undefined;
    });
  /** A glidein of `entry` whose start dir holds what the factory shipped: that entry's cached token, or `from`'s. */
  const glidein = async (entry: string, from = entry, x509 = true): Promise<Glidein> => {
    const g = makeGlidein(work, { GLIDEKEY_URL: svc.url, GLIDEKEY_CA_BUNDLE: pki.ca, GLIDEKEY_RETRIES: '0', GLIDEIN_Entry_Name: entry });
    copyFileSync(await cacheFile(from), join(g.start, shipped(entry)));
    if (x509) expect((await setupX509(g)).code).toBe(0);
    return g;
  };
  const run = (g: Glidein, periodic = false) => runStep(g, SCRIPT, { periodic });
  const entry = (site: string, glideinBootstrap?: string) => ({
    site,
    gatekeeper: `ce-${site.length}.example.org ce-${site.length}.example.org:9619`,
    trustDomain: 'OSG',
    authMethod: 'idtoken',
    condorVersion: '23.0.3',
    ...(glideinBootstrap ? { glideinBootstrap } : {}),
  });

  beforeAll(async () => {
    work = tempDir('glidekey-tokboot-');
    cacheDir = join(work, 'client-proxies');
    pki = makeTestPki(work);
    svc = await startService({
      tls: { cert: pki.cert, key: pki.key, ca: pki.ca },
      env: { NODE_EXTRA_CA_CERTS: pki.ca, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600', GLIDEKEY_FACTORY_CACHE_DIR: cacheDir },
    });
    admin = client(svc.api, svc.adminKey, { ca: pki.ca });
    await selfRegistered(admin, svc.url);
    expect((await admin.put('/factory/entries/OSG_T_ce1', entry('T2_Test', 'token'))).json).toMatchObject({ glideinBootstrap: 'token' });
    expect((await admin.put('/factory/entries/OSG_T_ce2', entry('T2_Other'))).json).toMatchObject({ glideinBootstrap: 'ticket' });
    for (const site of ['T2_Test', 'T2_Other']) expect((await admin.post('/sites', { name: site })).status).toBe(201);
    const sync = await admin.post('/factories/self/sync');
    expect([sync.status, sync.json.delivery?.delivered]).toEqual([200, 2]);
  });
  afterAll(async () => {
    await svc?.stop();
    if (work) removeDir(work);
  });

  it('with no ticket: bootstraps with the shipped token, replaces it, publishes, and a periodic run renews', async () => {
    const g = await glidein('OSG_T_ce1');
    const factoryToken = readFileSync(join(g.start, shipped('OSG_T_ce1')), 'utf8');
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN')).toBe(join(g.creds, shipped('OSG_T_ce1')));
    const r = await run(g);
    expect([r.code, r.stdout]).toEqual([0, '']);
    expect(r.stderr).toContain(`glidekey: no ticket: bootstrapping with the factory-shipped ${shipped('OSG_T_ce1')} for entry OSG_T_ce1\n`);
    const ours = 'credential_glidekey_T2_Test.idtoken';
    expect(parseReport(r.report)).toMatchObject({
      status: 'OK',
      metrics: { glidekey_site: 'T2_Test', idtoken: join(g.creds, ours), glidekey_replaced: shipped('OSG_T_ce1') },
    });
    // The factory's token went only after glidekey's was in place: exactly one glidein token, glidekey's.
    expect([glideinTokens(g.start), glideinTokens(g.creds)]).toEqual([[ours], [ours]]);
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN')).toBe(join(g.creds, ours));
    const token = readFileSync(join(g.creds, ours), 'utf8').trim();
    expect((await admin.post('/tokens/verify', { token })).json).toMatchObject({ valid: true, site: 'T2_Test' });
    const renewalFile = join(g.workspace, 'glidekey', 'glidekey.renewal');
    const r0 = readFileSync(renewalFile, 'utf8');
    expect(r0).toMatch(/^gkr_[0-9a-f]{16}_/);
    const seen = [r.stdout, r.stderr, r.report, readFileSync(g.config, 'utf8'), readFileSync(`${g.config}.history`, 'utf8'), svc.output()].join('\n');
    for (const s of [factoryToken, token, r0]) expect(seen).not.toContain(s.trim().slice(-40));
    const chains = (await admin.get('/factory/renewals?entry=OSG_T_ce1')).json;
    expect(chains).toEqual([expect.objectContaining({ id: r0.split('_')[1], bootstrap: 'token', ticket: null, entry: 'OSG_T_ce1' })]);

    // A periodic run once due: renews with the renewal credential, as after a ticket bootstrap.
    setConfigValue(g, 'GLIDEKEY_RENEW_AT', '0');
    const p = await run(g, true);
    expect([p.code, p.stdout, parseReport(p.report).status]).toEqual([0, '', 'OK']);
    expect(readFileSync(renewalFile, 'utf8')).not.toBe(r0);
    expect((await admin.get('/factory/renewals?entry=OSG_T_ce1')).json[0]).toMatchObject({ renewals: 1 });
    expect([glideinTokens(g.start), glideinTokens(g.creds)]).toEqual([[ours], [ours]]);
  });

  it('finds the shipped token in the start dir when GLIDEIN_CONDOR_TOKEN names none', async () => {
    const g = await glidein('OSG_T_ce1', 'OSG_T_ce1', false);
    expect(configValue(g, 'GLIDEIN_CONDOR_TOKEN')).toBe('');
    const r = await run(g);
    expect([r.code, parseReport(r.report).metrics.glidekey_replaced]).toEqual([0, shipped('OSG_T_ce1')]);
    expect([glideinTokens(g.start), glideinTokens(g.creds)]).toEqual([['credential_glidekey_T2_Test.idtoken'], ['credential_glidekey_T2_Test.idtoken']]);
  });

  it("refused (exit 3, error_gen -error, the factory's token left as it was): an entry that takes tickets, another entry's token, a tampered token", async () => {
    const detail = 'glidekey: the factory-shipped token was refused (not one the factory holds for this entry, or it expired)';
    const off =
      'glidekey: the entry takes no token bootstrap, or the factory-shipped token also serves an entry that takes tickets only (HTTP 403 TOKEN_BOOTSTRAP_OFF): give the glidein a ticket';
    const ticketOnly = await glidein('OSG_T_ce2');
    {
      const before = readFileSync(ticketOnly.config, 'utf8');
      const r = await run(ticketOnly);
      expect([r.code, r.stdout, parseReport(r.report)]).toEqual([
        3,
        '',
        { status: 'ERROR', metrics: { failure: 'VO_Proxy', glidekey_exit: '3' }, detail: off },
      ]);
      expect(readFileSync(ticketOnly.config, 'utf8')).toBe(before);
    }
    const cases = [await glidein('OSG_T_ce1', 'OSG_T_ce2')];
    const tampered = await glidein('OSG_T_ce1');
    // Both copies: the script reads the one setup_x509.sh published (GLIDEIN_CONDOR_TOKEN, in cred.d).
    for (const f of [join(tampered.start, shipped('OSG_T_ce1')), join(tampered.creds, shipped('OSG_T_ce1'))]) {
      const t = readFileSync(f, 'utf8');
      writeFileSync(f, t.slice(0, 40) + (t[40] === 'A' ? 'B' : 'A') + t.slice(41));
    }
    cases.push(tampered);
    for (const g of cases) {
      const before = readFileSync(g.config, 'utf8');
      const r = await run(g);
      expect([r.code, r.stdout, parseReport(r.report)]).toEqual([3, '', { status: 'ERROR', metrics: { failure: 'VO_Proxy', glidekey_exit: '3' }, detail }]);
      expect(readFileSync(g.config, 'utf8')).toBe(before);
      expect(glideinTokens(g.start)).toHaveLength(1);
      expect(glideinTokens(g.start)[0]).toMatch(/^credential_fe\.example\.org\.main_/);
    }
  });

  it("the route tells a holder of a ticket-only entry's real token why (403), answers a bad one as a bad ticket, and refuses API keys", async () => {
    const token = readFileSync(await cacheFile('OSG_T_ce2'), 'utf8');
    const sig = token.split('.')[2];
    const tampered = token.slice(0, -sig.length) + (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    const cases: [string, { status: number; code: string }][] = [
      [token, { status: 403, code: 'TOKEN_BOOTSTRAP_OFF' }],
      [tampered, { status: 401, code: 'TICKET_INVALID' }],
      [svc.adminKey, { status: 401, code: 'TICKET_INVALID' }],
    ];
    for (const [bearer, want] of cases) {
      const res = await httpCall(`${svc.api}/glidein/credentials`, {
        method: 'POST',
        ca: pki.ca,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ entry: 'OSG_T_ce2' }),
      });
      expect({ status: res.status, code: JSON.parse(res.text).error.code }).toEqual(want);
    }
  });
});
