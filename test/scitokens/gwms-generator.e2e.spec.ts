import { execFile, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt, exportJWK, jwtVerify, SignJWT } from 'jose';
import { readmeCommand, shell } from '../support/readme.js';
import { client, freePort, removeDir, ROOT, Service, startService, tempDir } from '../support/service.js';
import { makeTestPki, TestPki } from '../support/tls.js';

/**
 * contrib/glideinwms/glidekey_generator.py run by python3 as GlideinWMS's frontend runs a
 * credential generator (test/support/gwms-generator-driver.py), against the real service over
 * HTTPS: the token it returns is the stored one, its lifetime the seconds to exp, and it raises
 * KeyError and ValueError where GlideinWMS expects them.
 */

const run = promisify(execFile);
const PYTHON = spawnSync('python3', ['--version']).status === 0;
const PLUGIN_DIR = join(ROOT, 'contrib', 'glideinwms');
const DRIVER = join(ROOT, 'test', 'support', 'gwms-generator-driver.py');
const ISSUER = 'https://vo-issuer.example.org';
const OTHER_ISSUER = 'https://other-issuer.example.org';
const WLCG_ANY = 'https://wlcg.cern.ch/jwt/v1/any';
const FACTORY = 'gfactory@factory.example.org';

type Call = [group: string, entry: Record<string, string | null>, trustDomain: string];
type Result = { token?: string; lifetime?: number; error?: string; message?: string };
const entry = (name: string, gatekeeper: string | null): Record<string, string | null> => ({ name, gatekeeper, factory: FACTORY });

(PYTHON ? describe : describe.skip)(`the GlideinWMS credential generator plug-in${PYTHON ? '' : ' (skipped: python3 is not installed)'}`, () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = tempDir('glidekey-gen-');
  let pki: TestPki;
  let fe: Service;
  let readerKeyFile: string;
  let readerKey: string;
  const tokens: Record<string, string> = {};
  const admin = () => client(fe.api, fe.adminKey, { ca: fe.ca });
  /** The service's configuration, for the host CLI. */
  const hostEnv = () => ({
    GLIDEKEY_DATA_DIR: fe.dataDir,
    GLIDEKEY_ROLES: 'frontend',
    GLIDEKEY_TRUST_DOMAIN: 'collector.example.org:9618',
    GLIDEKEY_FRONTEND_NAME: 'frontend.example.org',
  });

  const sign = (key: typeof rsa, iss: string, aud: string | string[], jti: string, lifetime = 6 * 3600) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss, sub: 'vo-pilot', aud, scope: 'compute.create', iat: now, exp: now + lifetime, 'wlcg.ver': '1.0', jti })
      .setProtectedHeader({ alg: 'RS256', kid: key === rsa ? 'k1' : 'k2' })
      .sign(key.privateKey);
  };
  const jwks = async (key: typeof rsa, kid: string) => ({ keys: [{ ...(await exportJWK(key.publicKey)), kid, alg: 'RS256' }] });

  /** One frontend iteration: the calls in one python3 process, with the given environment. */
  const generate = async (calls: Call[], env: Record<string, string> = {}): Promise<{ results: Result[]; log: string[] }> => {
    // No __pycache__ in the checkout.
    const base = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PYTHONDONTWRITEBYTECODE: '1',
      GLIDEKEY_URL: fe.url,
      GLIDEKEY_API_KEY_FILE: readerKeyFile,
      GLIDEKEY_CA_BUNDLE: pki.ca,
    };
    const { stdout } = await run('python3', [DRIVER, PLUGIN_DIR, JSON.stringify(calls)], { env: { ...base, ...env }, timeout: 60_000 });
    return JSON.parse(stdout);
  };
  const handouts = async () => {
    const text = (await client(fe.url, fe.adminKey, { ca: fe.ca }).get('/metrics')).text;
    return Object.fromEntries(
      [...text.matchAll(/^glidekey_gwms_scitoken_handouts_total\{result="(\w+)",scitoken="([^"]*)"\} (\d+)$/gm)].map((m) => [`${m[1]}:${m[2]}`, Number(m[3])]),
    );
  };
  const expectLifetime = (r: Result, token: string) => {
    const left = (decodeJwt(token).exp as number) - Math.floor(Date.now() / 1000);
    expect(Math.abs((r.lifetime ?? -100) - left)).toBeLessThanOrEqual(1);
  };

  beforeAll(async () => {
    pki = makeTestPki(dir);
    fe = await startService({ tls: pki, env: { GLIDEKEY_ROLES: 'frontend', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600', GLIDEKEY_METRICS_CACHE_SECONDS: '0' } });
    expect((await admin().put('/scitoken-issuers/vo', { issuer: ISSUER, jwks: await jwks(rsa, 'k1') })).status).toBe(201);
    expect((await admin().put('/scitoken-issuers/other', { issuer: OTHER_ISSUER, jwks: await jwks(other, 'k2') })).status).toBe(201);
    tokens['osg-ce1'] = await sign(rsa, ISSUER, 'ce1.unl.edu:9619', 'osg-ce1');
    tokens['osg-any'] = await sign(rsa, ISSUER, WLCG_ANY, 'osg-any', 2 * 3600);
    tokens['cms-a'] = await sign(rsa, ISSUER, 'https://cea.cern.ch', 'cms-a');
    tokens['cms-b'] = await sign(other, OTHER_ISSUER, 'ceb.cern.ch:9619', 'cms-b');
    tokens['cms-c'] = await sign(rsa, ISSUER, 'cec.cern.ch', 'cms-c');
    for (const [name, token] of Object.entries(tokens)) {
      expect([name, (await admin().put(`/scitokens/${name}`, { token, trustDomain: name.startsWith('osg') ? 'OSG' : 'CMS' })).status]).toEqual([name, 201]);
    }
    // cms-b turns invalid (its issuer's keys were replaced), cms-c is revoked: neither is handed out.
    expect((await admin().put('/scitoken-issuers/other', { issuer: OTHER_ISSUER, jwks: await jwks(rsa, 'k9') })).status).toBe(200);
    expect((await admin().del('/scitokens/cms-c')).status).toBe(204);
    // The README's host command makes the generator's key.
    const made = await shell(readmeCommand('--role credential-reader'), { KEY_DIR: dir, ...hostEnv() });
    expect(made.stderr).toContain('roles credential-reader');
    readerKeyFile = join(dir, 'glidekey.key');
    readerKey = readFileSync(readerKeyFile, 'utf8').trim();
    expect(readerKey).toMatch(/^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  });

  afterAll(async () => {
    await fe?.stop();
    if (fe) removeDir(fe.dataDir);
    removeDir(dir);
  });

  it('returns the stored token whose aud names the CE (HTCondor-CE gatekeeper form), else the "any" one, with its seconds to exp; one request per CE in an iteration', async () => {
    const before = await handouts();
    const { results, log } = await generate([
      ['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu ce1.unl.edu:9619'), 'OSG'],
      ['main', entry('OSG_US_UNL_ce1_big', 'ce1.unl.edu ce1.unl.edu:9619'), 'OSG'],
      ['main', entry('OSG_US_UNL_ce2', 'ce2.unl.edu ce2.unl.edu:9619'), 'OSG'],
      ['main', entry('CMS_T2_A', 'cea.cern.ch:443'), 'CMS'],
    ]);
    expect(results.map((r) => r.error ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(results.map((r) => r.token)).toEqual([tokens['osg-ce1'], tokens['osg-ce1'], tokens['osg-any'], tokens['cms-a']]);
    for (const r of results) await expect(jwtVerify(r.token!, rsa.publicKey, { issuer: ISSUER })).resolves.toBeDefined();
    results.forEach((r) => expectLifetime(r, r.token!));
    // The second entry on CE1 was answered from the plug-in's cache; the service counted three handouts.
    const after = await handouts();
    expect((after['handed_out:osg-ce1'] ?? 0) - (before['handed_out:osg-ce1'] ?? 0)).toBe(1);
    expect((after['handed_out:osg-any'] ?? 0) - (before['handed_out:osg-any'] ?? 0)).toBe(1);
    expect(log.some((l) => l.includes('SciToken osg-ce1 for entry OSG_US_UNL_ce1_big (cached'))).toBe(true);
    const all = JSON.stringify({ results: results.map((r) => r.lifetime), log });
    for (const secret of [...Object.values(tokens), readerKey]) expect(all).not.toContain(secret.slice(-20));
  });

  it('audits a handout once per key and token version per hour, with the entry and jti and never the token', async () => {
    const lines = async () => (await admin().get('/audit?action=scitoken.handout&target=scitoken:cms-a&limit=10')).json.entries;
    const first = await lines();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      actor: 'api-key:gwms-generator',
      detail: {
        jti: 'cms-a',
        entry: 'CMS_T2_A',
        gatekeeper: 'cea.cern.ch:443',
        factory: FACTORY,
        group: 'main',
        trustDomain: 'CMS',
        match: 'ce',
        unauditedHandouts: 0,
      },
    });
    const before = await handouts();
    const { results } = await generate([['main', entry('CMS_T2_A', 'cea.cern.ch:443'), 'CMS']]);
    expect(results[0].token).toBe(tokens['cms-a']);
    expect((await handouts())['handed_out:cms-a']).toBe(before['handed_out:cms-a'] + 1);
    expect(await lines()).toHaveLength(1);
    expect(JSON.stringify((await admin().get('/audit?action=scitoken.handout&limit=100')).json)).not.toContain(tokens['cms-a'].split('.')[2]);
  });

  it('raises KeyError when no stored token matches: another CE, an invalid or a revoked token, an unknown trust domain, an entry without gatekeeper, no configuration', async () => {
    const before = await handouts();
    const { results } = await generate([
      ['main', entry('CMS_T2_X', 'cex.cern.ch:9619'), 'CMS'],
      ['main', entry('CMS_T2_B', 'ceb.cern.ch:9619'), 'CMS'],
      ['main', entry('CMS_T2_C', 'cec.cern.ch'), 'CMS'],
      ['main', entry('ATLAS_1', 'ce1.unl.edu:9619'), 'ATLAS'],
      ['main', entry('OSG_broken', null), 'OSG'],
    ]);
    expect(results.map((r) => r.error)).toEqual(['KeyError', 'KeyError', 'KeyError', 'KeyError', 'KeyError']);
    expect(results[0].message).toContain('no SciToken for entry CMS_T2_X (gatekeeper cex.cern.ch:9619, trust domain CMS)');
    expect(results[3].message).toContain('no SciToken with trust domain ATLAS');
    expect(results[4].message).toContain('the entry has no gatekeeper');
    expect((await handouts())['no_match:']).toBe((before['no_match:'] ?? 0) + 4);
    const unset = await generate([['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu:9619'), 'OSG']], { GLIDEKEY_URL: '' });
    expect(unset.results[0]).toMatchObject({ error: 'KeyError', message: expect.stringContaining('GLIDEKEY_URL is not set') });
  });

  it('raises ValueError when glidekey is down (a closed port) or its certificate is not from the configured CA, and fails the rest of the iteration at once', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    const down = await generate(
      [
        ['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu:9619'), 'OSG'],
        ['main', entry('OSG_US_UNL_ce2', 'ce2.unl.edu:9619'), 'OSG'],
      ],
      { GLIDEKEY_URL: closed },
    );
    expect(down.results[0]).toMatchObject({ error: 'ValueError', message: expect.stringContaining(`cannot reach glidekey at ${closed}`) });
    expect(down.results[1]).toMatchObject({ error: 'ValueError', message: expect.stringContaining('not retried') });
    const badCa = await generate([['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu:9619'), 'OSG']], { GLIDEKEY_CA_BUNDLE: pki.otherCa });
    expect(badCa.results[0]).toMatchObject({ error: 'ValueError', message: expect.stringContaining('TLS with') });
    const http = await generate([['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu:9619'), 'OSG']], { GLIDEKEY_URL: 'http://glidekey.example.org:8080' });
    expect(http.results[0]).toMatchObject({ error: 'ValueError', message: expect.stringContaining('plain http to another host') });
  });

  it('raises ValueError for an API key of another role, and refuses a loose API key file without sending it', async () => {
    const auditor = (await admin().post('/apikeys', { name: 'gen-auditor', roles: ['auditor'] })).json.apiKey as string;
    const auditorFile = join(dir, 'auditor.key');
    writeFileSync(auditorFile, auditor + '\n', { mode: 0o600 });
    const refused = await generate([['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu:9619'), 'OSG']], { GLIDEKEY_API_KEY_FILE: auditorFile });
    expect(refused.results[0]).toMatchObject({
      error: 'ValueError',
      message: expect.stringContaining('(403 FORBIDDEN): it must be a live key of the credential-reader role'),
    });
    expect(refused.results[0].message).not.toContain(auditor.slice(20));
    const loose = join(dir, 'loose.key');
    writeFileSync(loose, readerKey);
    chmodSync(loose, 0o644);
    const audited = (await admin().get('/audit?action=scitoken.handout&limit=100')).json.entries.length;
    const res = await generate([['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu:9619'), 'OSG']], { GLIDEKEY_API_KEY_FILE: loose });
    expect(res.results[0]).toMatchObject({ error: 'ValueError', message: expect.stringContaining('is open to group or others (mode 0644)') });
    expect((await admin().get('/audit?action=scitoken.handout&limit=100')).json.entries.length).toBe(audited);
  });

  it('reads its settings from the JSON file GLIDEKEY_GENERATOR_CONFIG names', async () => {
    const config = join(dir, 'glidekey-generator.json');
    writeFileSync(config, JSON.stringify({ url: fe.url, api_key_file: readerKeyFile, ca_bundle: pki.ca, timeout_seconds: 10 }));
    const { results } = await generate([['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu ce1.unl.edu:9619'), 'OSG']], {
      GLIDEKEY_URL: '',
      GLIDEKEY_API_KEY_FILE: '',
      GLIDEKEY_CA_BUNDLE: '',
      GLIDEKEY_GENERATOR_CONFIG: config,
    });
    expect(results[0].token).toBe(tokens['osg-ce1']);
    expectLifetime(results[0], tokens['osg-ce1']);
  });

  it('the service refuses a malformed request with 400 naming the field, and a no-match with 404 CREDENTIAL_NO_MATCH', async () => {
    const reader = client(fe.api, readerKey, { ca: fe.ca });
    const bad = await reader.post('/gwms/credentials/scitoken', { group: 'main', entry: { name: 'e' }, trustDomain: 'OSG' });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(bad.json.error.field).toContain('gatekeeper');
    const none = await reader.post('/gwms/credentials/scitoken', { group: 'main', entry: { name: 'e', gatekeeper: 'ce.example.org' }, trustDomain: 'NOPE' });
    expect([none.status, none.json.error.code]).toEqual([404, 'CREDENTIAL_NO_MATCH']);
    const ok = await reader.post('/gwms/credentials/scitoken', { group: 'main', entry: { name: 'e', gatekeeper: 'ce1.unl.edu:9619' }, trustDomain: 'OSG' });
    expect(ok.json).toEqual({
      token: tokens['osg-ce1'],
      lifetimeSeconds: expect.any(Number),
      name: 'osg-ce1',
      expiresAt: new Date((decodeJwt(tokens['osg-ce1']).exp as number) * 1000).toISOString(),
    });
  });

  it("stops working once the README's revoke command revokes its key (within the service's 5 s key cache)", async () => {
    await shell('npx glidekey apikey revoke gwms-generator', hostEnv());
    const deadline = Date.now() + 15_000;
    let last: Result | undefined;
    while (Date.now() < deadline) {
      last = (await generate([['main', entry('OSG_US_UNL_ce1', 'ce1.unl.edu:9619'), 'OSG']])).results[0];
      if (last.error) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(last).toMatchObject({ error: 'ValueError', message: expect.stringContaining('(401 UNAUTHENTICATED)') });
  });

  it('parses as Python 3.9', async () => {
    const src = join(PLUGIN_DIR, 'glidekey_generator.py');
    await expect(run('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read(), feature_version=(3, 9))', src])).resolves.toBeDefined();
  });
});
