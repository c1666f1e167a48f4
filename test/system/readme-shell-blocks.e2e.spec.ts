import { exportJWK, SignJWT } from 'jose';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bash, commandsOf, readmeCommand, runSteps } from '../support/readme.js';
import { client, freePort, removeDir, ROOT, tempDir } from '../support/service.js';
import { collectorAccepts, vector } from '../support/vectors.js';

/**
 * The README's shell blocks, taken from README.md at run time and run as written with bash, curl
 * and jq: the Quick start's `npm start` (the service every other block talks to, on a free port
 * with a temporary data directory), the Walk-through, the glidein bootstrap's issuing, fetch and
 * renewal examples (the Install section's scripts/install.sh: test/system/readme-install.spec.ts). They are
 * parameterised only by variables the README names (GLIDEKEY_URL, GLIDEKEY_API_KEY_FILE,
 * PASSWORDS_D, FACTORY_ADMIN_KEY, GLIDEKEY_TICKET, GLIDEKEY_ALLOW_HTTP, the GLIDEKEY_*
 * settings), HOME and PATH. `npm test` itself is not run here: it is the suite (.ci/run runs it).
 * The CLI example block is run by test/cli/rest-verbs.e2e.spec.ts.
 */
const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
/** Debian's jq; .ci/run installs it. */
const jq = has('jq');
const withJq = jq ? it : it.skip;
const JQ_SKIP = jq ? '' : ' (SKIPPED: jq is not installed; .ci/run installs Debian package jq)';
const git = has('git') && existsSync(join(ROOT, '.git'));
const gitStatus = () => (git ? execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: ROOT, encoding: 'utf8' }) : '');

/** Every file and directory under `dir` with group or other permission bits. */
function loose(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.mode & 0o077) out.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) out.push(...loose(p));
  }
  return out;
}

describe("the README's shell blocks, as written, against `npm start`", () => {
  const work = tempDir('glidekey-readme-');
  const dataDir = join(work, 'data');
  let url = '';
  let npm: ChildProcess | undefined;
  let npmOut = '';
  let exited: Promise<unknown> = Promise.resolve();
  const statusBefore = gitStatus();
  const admin = () => client(`${url}/api/v1`, readFileSync(join(dataDir, 'admin.key'), 'utf8').trim());
  const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', GLIDEKEY_URL: url });

  beforeAll(async () => {
    const line = readmeCommand('npm start')
      .split('\n')
      .find((l) => l.startsWith('npm start'))!;
    const port = await freePort();
    mkdirSync(join(work, 'npm-home'));
    npm = spawn('bash', ['-c', line], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: join(work, 'npm-home'),
        GLIDEKEY_DATA_DIR: dataDir,
        GLIDEKEY_PORT: String(port),
        GLIDEKEY_FRONTEND_NAME: 'frontend.example.org',
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
        // The renewal loop below must wake within seconds: a short SciToken sets its pace.
        GLIDEKEY_TICKETS_MIN_TOKEN_LIFETIME_SECONDS: '1',
        GLIDEKEY_FORWARDING_MIN_LIFETIME_SECONDS: '1',
      },
    });
    npm.stdout!.on('data', (d: Buffer) => (npmOut += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (npmOut += d.toString()));
    exited = new Promise((ok) => npm!.once('exit', ok));
    url = `http://127.0.0.1:${port}`;
    for (const deadline = Date.now() + 45_000; ; await new Promise((r) => setTimeout(r, 150))) {
      if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}:\n${npmOut}`);
      if (Date.now() > deadline) throw new Error(`npm start did not become ready:\n${npmOut}`);
      if (
        await fetch(`${url}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        )
      )
        break;
    }
  }, 60_000);
  afterAll(async () => {
    if (npm?.pid && npm.exitCode === null) process.kill(-npm.pid, 'SIGTERM');
    await exited;
    removeDir(work);
  });

  it('quick start: npm start serves both roles, with master.key and admin.key (0600) in the data directory', async () => {
    for (const f of ['master.key', 'admin.key']) expect(statSync(join(dataDir, f)).mode & 0o777).toBe(0o600);
    // The log line naming the file may follow readiness by a moment (the logger writes asynchronously).
    for (const deadline = Date.now() + 5000; !npmOut.includes(join(dataDir, 'admin.key')) && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 50));
    expect(npmOut).toContain(join(dataDir, 'admin.key'));
    expect(npmOut).not.toContain(readFileSync(join(dataDir, 'admin.key'), 'utf8').trim());
    expect((await admin().get('/apikeys')).json[0].roles).toEqual(['frontend-admin', 'factory-admin']);
  });

  withJq(`walk-through: every step answers 2xx, and every file it leaves is owner-only${JQ_SKIP}`, async () => {
    const dir = join(work, 'walk');
    const [cwd, home, passwordsD, bin] = ['cwd', 'home', 'passwords.d', 'bin'].map((d) => join(dir, d));
    for (const d of [cwd, home, passwordsD, bin]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const imported = Buffer.from(vector('site-ascii').scrambled_file_hex, 'hex');
    writeFileSync(join(passwordsD, 'ce_site2'), imported, { mode: 0o600 });
    // HTCondor is not installed here: a stand-in condor_reconfig records how it was called.
    const reconfigLog = join(dir, 'condor_reconfig.log');
    const path = has('condor_reconfig') ? process.env.PATH! : `${bin}:${process.env.PATH}`;
    writeFileSync(join(bin, 'condor_reconfig'), `#!/bin/sh\necho "$*" >> '${reconfigLog}'\n`, { mode: 0o755 });
    const block = readmeCommand('"${gk[@]}" "$API/sites/el7_osg35/tokens"');
    const env = { PATH: path, HOME: home, GLIDEKEY_URL: url, GLIDEKEY_API_KEY_FILE: join(dataDir, 'admin.key'), PASSWORDS_D: passwordsD };
    const r = await runSteps(block, { cwd, env });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.steps).toHaveLength(commandsOf(block).length);

    expect(JSON.parse(r.out('"name":"el7_osg35"'))).toMatchObject({ name: 'el7_osg35', issuer: 'collector.example.org:9618', key: { version: 1, length: 64 } });
    expect(JSON.parse(r.out('ce_site2'))).toMatchObject({ name: 'ce_site2', key: { source: 'condor', length: 64 } });
    const api = admin();
    const exported = async (site: string) =>
      Buffer.from(
        await (
          await fetch(`${url}/api/v1/sites/${site}/keyfile`, {
            headers: { authorization: `Bearer ${readFileSync(join(dataDir, 'admin.key'), 'utf8').trim()}` },
          })
        ).arrayBuffer(),
      );
    expect((await exported('ce_site2')).equals(imported)).toBe(true);
    // Step 2: the collector's file, as HTCondor takes it (owned by the user installing it, 0600); none left behind.
    const keyFile = readFileSync(join(passwordsD, 'el7_osg35'));
    expect(keyFile.equals(await exported('el7_osg35'))).toBe(true);
    expect(statSync(join(passwordsD, 'el7_osg35')).uid).toBe(process.getuid!());
    if (!has('condor_reconfig')) expect(readFileSync(reconfigLog, 'utf8')).toBe('-daemon collector\n');
    // Step 3: the token only in token.json; the terminal shows the rest.
    const token = JSON.parse(readFileSync(join(cwd, 'token.json'), 'utf8'));
    const shown = JSON.parse(r.out('-o token.json'));
    expect(shown).toEqual(expect.objectContaining({ jti: token.jti, kid: 'el7_osg35', subject: 'el7_osg35@frontend.example.org' }));
    expect(shown.token).toBeUndefined();
    expect(token.expiresAt - token.issuedAt).toBe(172800);
    expect(collectorAccepts(token.token, keyFile, 'el7_osg35')).toBe(true);
    expect(JSON.parse(r.out('/tokens/verify'))).toMatchObject({ valid: true, site: 'el7_osg35', claims: { jti: token.jti } });
    expect(readFileSync(join(home, '.condor', 'tokens.d', 'el7_osg35'), 'utf8')).toBe(`${token.token}\n`);
    // Step 6: a body-less POST with the block's Content-Type header is taken.
    expect(JSON.parse(r.out('/revoke'))).toMatchObject({ jti: token.jti, state: 'revoked' });
    expect(r.out('/revocations/condor')).toContain(token.jti);
    const ledger = JSON.parse(r.out('state=active'));
    expect(ledger.tokens.length).toBeGreaterThan(0);
    expect(
      ledger.tokens.every((t: { site: string; state: string; jti: string }) => t.site === 'el7_osg35' && t.state === 'active' && t.jti !== token.jti),
    ).toBe(true);
    const audit = JSON.parse(r.out('/audit?target=site:el7_osg35'));
    expect(audit.entries.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['site.create', 'site.keyfile.export', 'token.mint', 'token.revoke']),
    );
    expect(r.out('state=active') + r.out('/audit')).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);

    expect(readdirSync(cwd)).toEqual(['token.json']);
    expect([...loose(cwd), ...loose(home), ...loose(passwordsD)]).toEqual([]);
    expect((await api.get('/sites/el7_osg35')).status).toBe(200);
  });

  withJq(`walk-through: a refused call stops it visibly, with the error body and curl's exit 22${JQ_SKIP}`, async () => {
    const cwd = join(work, 'walk-refused');
    mkdirSync(cwd);
    const badKey = join(cwd, 'bad.key');
    writeFileSync(badKey, `gk_0000000000000000_${'A'.repeat(43)}\n`, { mode: 0o600 });
    const block = readmeCommand('"${gk[@]}" "$API/sites/el7_osg35/tokens"');
    const r = await runSteps(block, { cwd, env: { PATH: process.env.PATH!, HOME: cwd, GLIDEKEY_URL: url, GLIDEKEY_API_KEY_FILE: badKey, PASSWORDS_D: cwd } });
    expect(r.code).toBe(22);
    expect(r.stdout).toContain('"code":"UNAUTHENTICATED"');
    expect(r.stderr).toMatch(/curl: \(22\) .*401/);
    expect(readdirSync(cwd)).toEqual(['bad.key']);
  });

  it('glidein bootstrap: issues tickets, bootstraps a glidein with one, and its renewal loop renews until revoked', async () => {
    const api = admin();
    const entry = 'OSG_US_Nebraska_ce1';
    // The forwarding flow, both roles in one process (see Forwarding): the factory holds the site's
    // IDTOKEN and a 20-second SciToken, whose expiry makes the loop wake within seconds.
    const fe = (await api.get('/frontend/identity')).json;
    const reg = await api.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey });
    expect([reg.status, fe.name]).toEqual([201, 'frontend.example.org']);
    expect(
      (await api.post('/factories', { name: 'self', url, apiKey: reg.json.apiKey, publicKey: (await api.get('/factory/identity')).json.publicKey })).status,
    ).toBe(201);
    expect((await api.post('/sites', { name: 'T2_US_Nebraska' })).status).toBe(201);
    const entryBody = {
      site: 'T2_US_Nebraska',
      gatekeeper: 'ce.example.org:9619',
      trustDomain: 'OSG',
      authMethod: 'grid_proxy,scitoken',
      condorVersion: '23.0.3',
      glideinScitoken: true,
    };
    expect((await api.put(`/factory/entries/${entry}`, entryBody)).status).toBe(201);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const issuer = 'https://vo.example.org';
    expect((await api.put('/scitoken-issuers/vo', { issuer, jwks: { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] } })).status).toBe(
      201,
    );
    const now = Math.floor(Date.now() / 1000);
    const sci = await new SignJWT({
      iss: issuer,
      sub: 'vo-pilot',
      aud: 'https://ce.example.org',
      scope: 'compute.create',
      iat: now,
      nbf: now,
      exp: now + 20,
      'wlcg.ver': '1.0',
      jti: 'readme-1',
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(rsa.privateKey);
    expect((await api.put('/scitokens/vo', { token: sci, trustDomain: 'OSG' })).status).toBe(201);
    expect((await api.post('/factories/self/sync')).status).toBe(200);
    const cache = (await api.get(`/factory/cache?entry=${entry}`)).json;
    expect(JSON.stringify(cache)).toMatch(/"type":"scitoken".*"state":"(valid|expiring)"|"state":"(valid|expiring)".*"type":"scitoken"/);

    // Issuing, as the factory admin.
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const issued = await bash(readmeCommand('OSG_US_Nebraska_ce1/tickets'), { cwd: work, env: { ...baseEnv(), FACTORY_ADMIN_KEY: adminKey } });
    expect([issued.code, issued.stderr]).toEqual([0, '']);
    const batch = JSON.parse(issued.stdout);
    expect(batch).toMatchObject({ entry, frontend: 'frontend.example.org', count: 100 });

    // The glidein: the bootstrap and then the renewal loop in one shell, from a glidein directory
    // holding scripts/glidein-fetch-token.sh; the ticket comes from the job's environment.
    // GLIDEKEY_ALLOW_HTTP=1: the test service serves plain HTTP (test/glidein/fetch-token-script.e2e.spec.ts covers HTTPS).
    const glidein = join(work, 'glidein');
    mkdirSync(join(glidein, 'scripts'), { recursive: true });
    copyFileSync(join(ROOT, 'scripts', 'glidein-fetch-token.sh'), join(glidein, 'scripts', 'glidein-fetch-token.sh'));
    // GLIDEKEY_URL reaches bash from the test, but the script must get it from the README's lines:
    // as in a glidein, it is a value of the startup script, not of the job's environment.
    const bootstrap = readmeCommand('scripts/glidein-fetch-token.sh "$PWD/tokens.d")');
    const script = [
      'export -n GLIDEKEY_URL',
      bootstrap,
      `printf 'exported %s %s %s\\n' "$GLIDEIN_CONDOR_TOKEN" "$BEARER_TOKEN_FILE" "$GLIDEKEY_RENEW_IN"`,
      readmeCommand('--renew "$PWD/tokens.d"); rc=$?'),
      // (The harness: under errexit, `wait` returning the loop's status would end the shell unreported.)
      'rc=0; wait $! || rc=$?; echo "loop exited $rc"',
    ].join('\n');
    let proc: ChildProcess | undefined;
    const run = bash(script, {
      cwd: glidein,
      env: { ...baseEnv(), HOME: glidein, GLIDEKEY_TICKET: batch.tickets[0], GLIDEKEY_ALLOW_HTTP: '1' },
      detached: true,
      onSpawn: (p) => (proc = p),
    });
    try {
      let renewals: { id: string; renewals: number }[] = [];
      for (const deadline = Date.now() + 30_000; !(renewals[0]?.renewals >= 1); await new Promise((r) => setTimeout(r, 200))) {
        if (Date.now() > deadline || proc?.exitCode !== null) throw new Error(`no renewal: ${JSON.stringify(await Promise.race([run, 'running']))}`);
        renewals = (await api.get(`/factory/renewals?entry=${entry}`)).json;
      }
      expect(renewals).toHaveLength(1);
      expect((await api.post(`/factory/renewals/${renewals[0].id}/revoke`)).json).toEqual({ revoked: 1 });
      const r = await run;
      const dir = join(glidein, 'tokens.d');
      const [, idPath, sciPath, renewIn] = r.stdout.match(/^exported (\S+) (\S+) (\d+)$/m) ?? [];
      expect([idPath, sciPath]).toEqual([join(dir, 'T2_US_Nebraska.idtoken'), join(dir, 'T2_US_Nebraska.scitoken')]);
      expect(Number(renewIn)).toBeLessThanOrEqual(14);
      expect(r.stdout).toContain('loop exited 3\n');
      expect(r.stderr).toContain('revoked by the factory admin');
      expect(r.code).toBe(0);
      expect(readFileSync(sciPath, 'utf8')).toBe(`${sci}\n`);
      const verified = await api.post('/tokens/verify', { token: readFileSync(idPath, 'utf8').trim() });
      expect(verified.json).toMatchObject({ valid: true, site: 'T2_US_Nebraska' });
      expect(readdirSync(dir).sort()).toEqual(['T2_US_Nebraska.idtoken', 'T2_US_Nebraska.scitoken', 'glidekey.renewal']);
      expect(loose(dir)).toEqual([]);

      // A failed bootstrap (the ticket is spent now) stops the startup script with the script's status.
      const again = await bash(`export -n GLIDEKEY_URL\n${bootstrap}\necho still running`, {
        cwd: glidein,
        env: { ...baseEnv(), HOME: glidein, GLIDEKEY_TICKET: batch.tickets[0], GLIDEKEY_ALLOW_HTTP: '1' },
      });
      expect([again.code, again.stdout, again.stderr]).toEqual([3, '', 'glidekey: the ticket was refused (unknown, already used, or expired)\n']);
    } finally {
      if (proc?.pid && proc.exitCode === null) process.kill(-proc.pid, 'SIGKILL');
    }
  });

  it('leaves the repository tree as it found it (git status)', () => {
    expect(gitStatus()).toBe(statusBefore);
  });
});
