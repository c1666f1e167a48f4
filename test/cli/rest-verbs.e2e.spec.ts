import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOUNS } from '../../src/cli/main.js';
import { client, freePort, removeDir, ROOT, Service, startService, tempDir } from '../support/service.js';
import { makeTestPki } from '../support/tls.js';

interface Run {
  code: number | null;
  stdout: Buffer;
  out: string;
  stderr: string;
}

/** Every stderr the CLI wrote in this file: checked at the end for secrets. */
const stderrs: string[] = [];

function spawnCollect(cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => {
      stderrs.push(err);
      const stdout = Buffer.concat(out);
      ok({ code, stdout, out: stdout.toString('utf8'), stderr: err });
    });
  });
}

/** The built CLI as a child process (dist/cli.js, as `npx glidekey` runs it). */
const cli = (env: Record<string, string>, ...args: string[]) => spawnCollect(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], env);

const b64url = (s: string) => Buffer.from(s, 'base64url').toString('utf8');
const parts = (token: string) => {
  const [h, p] = token.split('.');
  return { header: b64url(h), payload: b64url(p), claims: JSON.parse(b64url(p)) as Record<string, unknown> };
};

/** condor's scrambling of a passwords.d file: byte i XOR DE AD BE EF. */
const scramble = (raw: Buffer) => Buffer.from(raw.map((b, i) => b ^ [0xde, 0xad, 0xbe, 0xef][i % 4]));

describe('glidekey CLI against the real service', () => {
  let svc: Service;
  let work: string;
  let env: Record<string, string>;
  let tokenDir: string;

  beforeAll(async () => {
    svc = await startService();
    work = tempDir('glidekey-cli-');
    tokenDir = join(work, 'system-tokens.d');
    // HOME and the system directory both point into the test's directory: condor_token_create uses
    // ~/.condor/tokens.d for a user and SEC_TOKEN_SYSTEM_DIRECTORY for root.
    env = { HOME: work, _CONDOR_SEC_TOKEN_SYSTEM_DIRECTORY: tokenDir, GLIDEKEY_URL: svc.url, GLIDEKEY_API_KEY_FILE: join(svc.dataDir, 'admin.key') };
    if (process.getuid?.() !== 0) tokenDir = join(work, '.condor', 'tokens.d');
    expect(statSync(join(svc.dataDir, 'admin.key')).mode & 0o777).toBe(0o600);
    expect((await client(svc.api, svc.adminKey).post('/sites', { name: 'el7_osg35' })).status).toBe(201);
  });

  afterAll(async () => {
    await svc?.stop();
    removeDir(svc.dataDir);
    removeDir(work);
  });

  it('token create prints a token that verifies and has the claims POST /sites/{site}/tokens gives', async () => {
    const api = client(svc.api, svc.adminKey);
    const r = await cli(
      env,
      'token',
      'create',
      '-identity',
      'pilot@fe.example.org',
      '-key',
      'el7_osg35',
      '-authz',
      'READ',
      '--authz',
      'condor:/ADVERTISE_STARTD',
      '-lifetime',
      '3600',
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = r.out.trim();
    const verdict = (await api.post('/tokens/verify', { token })).json;
    expect(verdict).toMatchObject({ valid: true, site: 'el7_osg35', keyVersion: 1 });

    const rest = await api.post('/sites/el7_osg35/tokens', { subject: 'pilot@fe.example.org', scopes: ['READ', 'ADVERTISE_STARTD'], lifetimeSeconds: 3600 });
    expect(rest.status).toBe(201);
    const a = parts(token);
    const b = parts(rest.json.token);
    expect(a.header).toBe(b.header);
    expect(JSON.parse(a.header)).toEqual({ alg: 'HS256', kid: 'el7_osg35', typ: 'JWT' });
    expect(Object.keys(a.claims)).toEqual(Object.keys(b.claims));
    for (const k of ['sub', 'iss', 'scope']) expect(a.claims[k]).toBe(b.claims[k]);
    expect(a.claims.scope).toBe('condor:/READ condor:/ADVERTISE_STARTD');
    expect(Number(a.claims.exp) - Number(a.claims.iat)).toBe(3600);
    expect(Number(b.claims.exp) - Number(b.claims.iat)).toBe(3600);
    expect(verdict.claims).toEqual(a.claims);

    // Defaults: the site's identity, scopes and lifetime, as an empty POST gives them.
    const d = await cli(env, 'token', 'create', '-key', 'el7_osg35', '--json');
    expect(d.code).toBe(0);
    const minted = JSON.parse(d.out);
    const dflt = (await api.post('/sites/el7_osg35/tokens', {})).json;
    const [x, y] = [parts(minted.token).claims, parts(dflt.token).claims];
    expect([x.sub, x.iss, x.scope, Number(x.exp) - Number(x.iat)]).toEqual([y.sub, y.iss, y.scope, Number(y.exp) - Number(y.iat)]);
    expect(minted).toMatchObject({ kid: 'el7_osg35', jti: x.jti, subject: y.sub });

    // What the policy refuses is the service's code, exit 3; an unknown site likewise.
    const wide = await cli(env, 'token', 'create', '-key', 'el7_osg35', '-authz', 'ADMINISTRATOR');
    expect([wide.code, wide.out]).toEqual([3, '']);
    expect(wide.stderr).toContain('400 SCOPE_TOO_WIDE');
    const pool = await cli(env, 'token', 'create', '-identity', 'a@b');
    expect([pool.code, pool.stderr]).toEqual([3, expect.stringContaining('404 SITE_NOT_FOUND')]);
  });

  it("token create -token writes tokens.d files that token list prints byte for byte as condor_token_list's format", async () => {
    for (const [name, authz] of [
      ['pilot_a', 'READ'],
      ['pilot_b', 'ADVERTISE_MASTER'],
    ]) {
      const r = await cli(env, 'token', 'create', '-identity', `${name}@fe.example.org`, '-key', 'el7_osg35', '-authz', authz, '-token', name);
      expect([r.code, r.out]).toEqual([0, '']);
      expect(r.stderr).toContain(`to ${join(tokenDir, name)}`);
    }
    expect(statSync(tokenDir).mode & 0o777).toBe(0o700);
    for (const f of ['pilot_a', 'pilot_b']) {
      expect(statSync(join(tokenDir, f)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(tokenDir, f), 'utf8')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    }
    // A file HTCondor's LOCAL_CONFIG_DIR_EXCLUDE_REGEXP hides is not listed; a plain path name is refused.
    copyFileSync(join(tokenDir, 'pilot_a'), join(tokenDir, 'pilot_a~'));
    const bad = await cli(env, 'token', 'create', '-key', 'el7_osg35', '-token', '../escape');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('plain file name');

    // condor_token_list (token_list.cpp): per file of the directory, per trimmed token line,
    // printf("Header: %s Payload: %s File: %s\n") of the base64url-decoded parts, verbatim; the path is dir + "/" + name.
    let expected = '';
    for (const name of ['pilot_a', 'pilot_b']) {
      for (const line of readFileSync(join(tokenDir, name), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)) {
        const [h, p] = line.split('.');
        expected += `Header: ${b64url(h)} Payload: ${b64url(p)} File: ${tokenDir}/${name}\n`;
      }
    }
    const listed = await cli(env, 'token', 'list');
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(listed.out).toBe(expected);
    expect(listed.out).toContain('"sub":"pilot_b@fe.example.org"');
    const byDir = await cli({ HOME: work }, 'token', 'list', '-dir', tokenDir);
    expect(byDir.stdout.equals(listed.stdout)).toBe(true);
    const viaEnv = await cli({ HOME: '/nonexistent', _CONDOR_SEC_TOKEN_DIRECTORY: tokenDir }, 'token', 'list', '--json');
    expect(JSON.parse(viaEnv.out).map((t: { file: string; payload: { sub: string } }) => [t.file, t.payload.sub])).toEqual([
      [`${tokenDir}/pilot_a`, 'pilot_a@fe.example.org'],
      [`${tokenDir}/pilot_b`, 'pilot_b@fe.example.org'],
    ]);

    // verify -file checks every token of a file; one revoked makes exit 5.
    const ok = await cli(env, 'token', 'verify', '-file', join(tokenDir, 'pilot_a'));
    expect([ok.code, ok.out]).toEqual([0, expect.stringMatching(/^valid: site el7_osg35, key version 1, sub pilot_a@fe\.example\.org/)]);
    const jti = parts(readFileSync(join(tokenDir, 'pilot_a'), 'utf8').trim()).claims.jti as string;
    expect((await cli(env, 'token', 'revoke', jti)).code).toBe(0);
    const again = await cli(env, 'token', 'revoke', jti);
    expect([again.code, again.stderr]).toEqual([3, expect.stringContaining('409 TOKEN_ALREADY_REVOKED')]);
    const revoked = await cli(env, 'token', 'verify', '-file', join(tokenDir, 'pilot_a'), '--json');
    expect(revoked.code).toBe(5);
    expect(JSON.parse(revoked.out)).toEqual([{ valid: false, reason: 'REVOKED' }]);
    const expr = await cli(env, 'token', 'revocations');
    expect(expr.out).toContain(jti);

    const ledger = await cli(env, 'ledger', '-site', 'el7_osg35', '-state', 'revoked', '--json');
    expect(ledger.code).toBe(0);
    expect(JSON.parse(ledger.out).tokens.map((t: { jti: string }) => t.jti)).toEqual([jti]);
    const table = await cli(env, 'ledger', '-state', 'revoked');
    expect(table.out.split('\n')[0]).toMatch(/^JTI +SITE +KID +SUBJECT +STATE/);
    expect(table.out).toContain(jti);

    const subj = await cli(env, 'token', 'revoke-subject', 'pilot_b@fe.example.org', '-issued-before', String(Math.floor(Date.now() / 1000) + 5));
    expect(subj.code).toBe(0);
    expect((await cli(env, 'token', 'verify', '-file', join(tokenDir, 'pilot_b'))).out).toBe('not valid: REVOKED\n');
  });

  it('imports a passwords.d directory of 10 files (binary, short, POOL) as 10 sites whose key files are the files', async () => {
    const dir = join(work, 'passwords.d');
    mkdirSync(dir, { mode: 0o700 });
    const files: Record<string, Buffer> = {
      POOL: randomBytes(64), // the collector's own key: 64 random bytes
      binary_nul: scramble(Buffer.from([0, 0, 0xff, 0xff, 0, 1, 2, 3, 0xde, 0xad, 0xbe, 0xef, 0, 0xff, 0x0a, 0, 0x20, 0])),
      unscrambles_to_ff: Buffer.alloc(20, 0xff),
      nul_heavy: Buffer.alloc(32, 0),
      short_pw: scramble(Buffer.from('s3cret')), // condor_store_cred add -c -p s3cret
      one_byte: Buffer.from([0x42]),
      openssl_b64: scramble(Buffer.from(randomBytes(48).toString('base64'))), // openssl rand -base64 64 | condor_store_cred -f
      with_newline: scramble(Buffer.from(`${randomBytes(24).toString('hex')}\n`)),
      'ce.example.org': randomBytes(64),
      Site_9: randomBytes(4096),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes, { mode: 0o600 });
    expect(readdirSync(dir)).toHaveLength(10);

    const r = await cli(env, 'site', 'import', dir, '--json');
    expect(r.code).toBe(0);
    const results = JSON.parse(r.out) as { site: string; result: string; code?: string }[];
    expect(results.map((x) => [x.site, x.result]).sort()).toEqual(
      Object.keys(files)
        .map((n) => [n, 'created'])
        .sort(),
    );
    // Under 16 bytes HTCondor still works, so the import goes through with the service's warning.
    expect(
      results
        .filter((x) => x.code === 'KEY_SHORT')
        .map((x) => x.site)
        .sort(),
    ).toEqual(['one_byte', 'short_pw']);

    const api = client(svc.api, svc.adminKey);
    for (const [name, bytes] of Object.entries(files)) {
      const res = await fetch(`${svc.api}/sites/${name}/keyfile`, { headers: { authorization: `Bearer ${svc.adminKey}` } });
      expect([name, res.status, Buffer.from(await res.arrayBuffer()).equals(bytes)]).toEqual([name, 200, true]);
      // ... and the CLI's own keyfile (stdout is not a terminal here) and -out 0600.
      const k = await cli(env, 'site', 'keyfile', name);
      expect(k.stdout.equals(bytes)).toBe(true);
    }
    const out = join(work, 'POOL.out');
    expect((await cli(env, 'site', 'keyfile', 'POOL', '-out', out)).code).toBe(0);
    expect([statSync(out).mode & 0o777, readFileSync(out).equals(files.POOL)]).toEqual([0o600, true]);
    // A token of the imported POOL key verifies (HTCondor doubles the POOL password before HKDF).
    const pool = await cli(env, 'token', 'create', '-identity', 'condor@pool.example.org');
    expect((await api.post('/tokens/verify', { token: pool.out.trim() })).json).toMatchObject({ valid: true, site: 'POOL' });

    // Again: every site exists with this very key, exit 0; a changed file is refused, exit 3; a name condor hides is skipped.
    const same = await cli(env, 'site', 'import', dir);
    expect(same.code).toBe(0);
    expect(same.out.split('\n').filter((l) => / exists +SAME_KEY/.test(l))).toHaveLength(10);
    const other = join(work, 'other.d');
    mkdirSync(other);
    writeFileSync(join(other, 'POOL'), randomBytes(64), { mode: 0o600 });
    writeFileSync(join(other, 'ce.sh'), randomBytes(64), { mode: 0o600 });
    writeFileSync(join(other, 'empty_key'), Buffer.alloc(0), { mode: 0o600 });
    const diff = await cli(env, 'site', 'import', other, '--json');
    expect(diff.code).toBe(3);
    expect(JSON.parse(diff.out).map((x: { site: string; result: string; code: string }) => [x.site, x.result, x.code])).toEqual([
      ['POOL', 'refused', 'SITE_EXISTS'],
      ['ce.sh', 'skipped', 'HIDDEN_BY_CONDOR'],
      ['empty_key', 'refused', 'KEY_EMPTY'],
    ]);
    // A single file under another name.
    const single = await cli(env, 'site', 'import', join(other, 'POOL'), '-name', 'Pool_Copy', '-issuer', 'other.example.org');
    expect(single.code).toBe(0);
    const shown = await cli(env, 'site', 'show', 'Pool_Copy', '--json');
    expect(JSON.parse(shown.out)).toMatchObject({ name: 'Pool_Copy', issuer: 'other.example.org', key: { source: expect.any(String) } });
    const listed = await cli(env, 'site', 'list');
    expect(listed.out.split('\n')[0]).toMatch(/^NAME +KID +VERSION +ISSUER/);
    expect(listed.out.split('\n').filter((l) => /^Pool_Copy +Pool_Copy +1 +other\.example\.org/.test(l))).toHaveLength(1);

    // rotate (immediate) and delete.
    const rot = await cli(env, 'site', 'rotate', 'Pool_Copy', '-grace', '0', '--json');
    expect(rot.code).toBe(0);
    expect(JSON.parse((await cli(env, 'site', 'show', 'Pool_Copy', '--json')).out).key.version).toBe(2);
    expect((await cli(env, 'site', 'delete', 'Pool_Copy')).code).toBe(0);
    expect((await cli(env, 'site', 'show', 'Pool_Copy')).code).toBe(3);
    const created = await cli(env, 'site', 'create', 'made_here', '-authz', 'READ', '-lifetime', '600', '--json');
    expect(JSON.parse(created.out)).toMatchObject({ name: 'made_here', scopes: ['READ'], lifetimeSeconds: 600 });
  });

  it('entries, frontends, factories, SciTokens and issuers over their routes', async () => {
    const e = await cli(
      env,
      'entry',
      'put',
      'OSG_ce1',
      '-site',
      'el7_osg35',
      '-gatekeeper',
      'ce1.example.org ce1.example.org:9619',
      '-trust-domain',
      'OSG',
      '-auth-method',
      'scitoken',
      '-condor-version',
      '23.0.3',
      '--json',
    );
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out)).toMatchObject({ name: 'OSG_ce1', site: 'el7_osg35', condorVersion: '23.0.3' });
    expect((await cli(env, 'entry', 'list')).out).toMatch(/\nOSG_ce1 +el7_osg35 +ce1\.example\.org ce1\.example\.org:9619 +OSG/);
    const tok = await cli(
      env,
      'entry',
      'put',
      'OSG_ce1',
      '-site',
      'el7_osg35',
      '-gatekeeper',
      'ce1.example.org ce1.example.org:9619',
      '-trust-domain',
      'OSG',
      '-auth-method',
      'scitoken',
      '-condor-version',
      '23.0.3',
      '-glidein-bootstrap',
      'token',
      '--json',
    );
    expect([tok.code, JSON.parse(tok.out).glideinBootstrap]).toEqual([0, 'token']);
    expect(JSON.parse(e.out).glideinBootstrap).toBe('ticket');

    const fe = (await client(svc.url).get('/api/v1/frontend/identity')).json;
    const keyOut = join(work, 'frontend.key');
    const reg = await cli(env, 'frontend', 'register', fe.name, '-public-key', fe.publicKey, '-key-out', keyOut);
    expect([reg.code, reg.out]).toEqual([0, '']);
    expect(statSync(keyOut).mode & 0o777).toBe(0o600);
    const feKey = readFileSync(keyOut, 'utf8').trim();
    expect((await client(svc.api, feKey).get('/factory/entries')).status).toBe(200);
    expect((await cli(env, 'frontend', 'list')).out).toContain(fe.fingerprint);

    const fa = (await client(svc.url).get('/api/v1/factory/identity')).json;
    const loose = join(work, 'factory.key');
    writeFileSync(loose, feKey + '\n', { mode: 0o644 });
    chmodSync(loose, 0o644);
    const refused = await cli(env, 'factory', 'register', 'self', '-factory-url', svc.url, '-public-key', fa.publicKey, '-factory-key-file', loose);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('open to group or others (mode 0644)')]);
    chmodSync(loose, 0o600);
    const freg = await cli(env, 'factory', 'register', 'self', '-factory-url', svc.url, '-public-key', fa.publicKey, '-factory-key-file', loose, '--json');
    expect(freg.code).toBe(0);
    expect(freg.out).not.toContain(feKey.slice(20));
    expect((await cli(env, 'factory', 'list')).out).toMatch(/\nself +http:\/\/127\.0\.0\.1:\d+ /);
    const sync = await cli(env, 'factory', 'sync', 'self', '--json');
    expect([sync.code, JSON.parse(sync.out).entries]).toEqual([0, 1]);
    expect(JSON.parse((await cli(env, 'factory', 'deliveries', '--json')).out)).toEqual(expect.any(Object));

    const jwks = join(work, 'jwks.json');
    writeFileSync(
      jwks,
      JSON.stringify({
        keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }],
      }),
    );
    const iss = await cli(env, 'issuer', 'put', 'cilogon', '-issuer', 'https://cilogon.org/osg', '-jwks', jwks);
    expect(iss.code).toBe(0);
    expect((await cli(env, 'issuer', 'list')).out).toMatch(/\ncilogon +https:\/\/cilogon\.org\/osg +k1\n/);
    const st = join(work, 'scitoken');
    writeFileSync(st, 'not.a.token\n', { mode: 0o600 });
    const put = await cli(env, 'scitoken', 'put', 'osg', '-trust-domain', 'OSG', '-file', st);
    expect(put.code).toBe(3);
    expect(put.stderr).toMatch(/400 SCITOKEN_/);
    expect(JSON.parse((await cli(env, 'scitoken', 'list', '--json')).out)).toEqual([]);
    const missing = await cli(env, 'scitoken', 'show', 'osg');
    expect(missing.code).toBe(3);
    expect((await cli(env, 'entry', 'delete', 'OSG_ce1')).code).toBe(0);
  });

  it('updates and deletes factories, frontends, issuers and sites over their routes', async () => {
    const api = client(svc.api, svc.adminKey);
    const fe = (await client(svc.url).get('/api/v1/frontend/identity')).json;
    const oldKey = readFileSync(join(work, 'frontend.key'), 'utf8').trim();

    // The factory admin rotates the frontend's API key: the old one stops at once, the new one is in a 0600 file.
    expect((await cli(env, 'frontend', 'update', fe.name, '-key-out', join(work, 'x.key'))).code).toBe(2);
    expect((await cli(env, 'frontend', 'update', fe.name)).code).toBe(2);
    const newKeyFile = join(work, 'frontend-2.key');
    const rot = await cli(env, 'frontend', 'update', fe.name, '-rotate-api-key', '-key-out', newKeyFile, '--json');
    expect(rot.code).toBe(0);
    expect(JSON.parse(rot.out)).toMatchObject({ name: fe.name, apiKeyFile: newKeyFile });
    expect(statSync(newKeyFile).mode & 0o777).toBe(0o600);
    const newKey = readFileSync(newKeyFile, 'utf8').trim();
    expect(rot.out).not.toContain(newKey.slice(20));
    expect((await client(svc.api, oldKey).get('/factory/entries')).status).toBe(401);
    expect((await client(svc.api, newKey).get('/factory/entries')).status).toBe(200);
    const repin = await cli(env, 'frontend', 'update', fe.name, '-public-key', fe.publicKey);
    expect([repin.code, repin.out]).toEqual([0, expect.stringContaining(fe.fingerprint)]);

    // The frontend admin gives its factory registration the new key (from a 0600 file) and a new URL.
    expect((await cli(env, 'factory', 'sync', 'self', '--json')).code).toBe(0);
    expect((await api.get('/factories')).json[0].syncError).toMatch(/^UNAUTHENTICATED/);
    expect((await cli(env, 'factory', 'update', 'self')).code).toBe(2);
    const upd = await cli(
      env,
      'factory',
      'update',
      'self',
      '-factory-key-file',
      newKeyFile,
      '-factory-url',
      `http://localhost:${new URL(svc.url).port}`,
      '--json',
    );
    expect(upd.code).toBe(0);
    expect(JSON.parse(upd.out)).toMatchObject({ name: 'self', url: `http://localhost:${new URL(svc.url).port}` });
    expect(upd.out).not.toContain(newKey.slice(20));
    expect(JSON.parse((await cli(env, 'factory', 'sync', 'self', '--json')).out)).toMatchObject({ error: null });
    const insecure = await cli(env, 'factory', 'update', 'self', '-factory-url', 'http://factory.example.org');
    expect([insecure.code, insecure.stderr]).toEqual([3, expect.stringContaining('400 FACTORY_URL_INSECURE')]);
    const unknown = await cli(env, 'factory', 'update', 'nowhere', '-factory-url', 'https://factory.example.org');
    expect([unknown.code, unknown.stderr]).toEqual([3, expect.stringContaining('404 FACTORY_NOT_FOUND')]);

    // An issuer no longer trusted.
    expect((await cli(env, 'issuer', 'delete', 'cilogon')).code).toBe(0);
    expect(JSON.parse((await cli(env, 'issuer', 'list', '--json')).out)).toEqual([]);
    const gone = await cli(env, 'issuer', 'delete', 'cilogon');
    expect([gone.code, gone.stderr]).toEqual([3, expect.stringContaining('404 ISSUER_NOT_FOUND')]);

    // A site's policy.
    expect((await cli(env, 'site', 'update', 'el7_osg35')).code).toBe(2);
    expect((await cli(env, 'site', 'update', 'el7_osg35', '-rotate-every', '86400', '-no-rotation')).code).toBe(2);
    const before = (await api.get('/sites/el7_osg35')).json;
    const life = await cli(env, 'site', 'update', 'el7_osg35', '-lifetime', '7200', '-row-version', String(before.rowVersion), '--json');
    expect(life.code).toBe(0);
    expect(JSON.parse(life.out)).toMatchObject({ lifetimeSeconds: 7200, rowVersion: before.rowVersion + 1 });
    const rotation = await cli(env, 'site', 'update', 'el7_osg35', '-rotate-every', '86400', '-rotation-grace', '3600', '--json');
    expect(JSON.parse(rotation.out).rotation).toMatchObject({ enabled: true, intervalSeconds: 86400, graceSeconds: 3600 });
    const stale = await cli(env, 'site', 'update', 'el7_osg35', '-lifetime', '3600', '-row-version', String(before.rowVersion));
    expect([stale.code, stale.stderr]).toEqual([3, expect.stringContaining('409 STALE_VERSION')]);
    expect((await api.get('/sites/el7_osg35')).json.lifetimeSeconds).toBe(7200);

    const staleFactory = await cli(env, 'factory', 'update', 'self', '-factory-url', svc.url, '-row-version', '999');
    expect([staleFactory.code, staleFactory.stderr]).toEqual([3, expect.stringContaining('409 STALE_VERSION')]);

    // Both registrations forgotten.
    expect((await cli(env, 'factory', 'delete', 'self')).code).toBe(0);
    expect(JSON.parse((await cli(env, 'factory', 'list', '--json')).out)).toEqual([]);
    const feGone = await cli(env, 'frontend', 'delete', fe.name);
    expect([feGone.code, feGone.stderr]).toEqual([0, `deleted frontend ${fe.name}\n`]);
    expect(JSON.parse((await cli(env, 'frontend', 'list', '--json')).out)).toEqual([]);
    expect((await client(svc.api, newKey).get('/factory/entries')).status).toBe(401);
    expect((await cli(env, 'frontend', 'delete', fe.name)).code).toBe(3);
  });

  it('exit codes, refusals of the key file, TLS with --ca, and no secret on stderr', async () => {
    const usage = await cli(env, 'site', 'frobnicate');
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('unknown verb site frobnicate')]);
    expect((await cli(env, 'site', 'list', '-bogus')).code).toBe(2);
    expect((await cli(env)).code).toBe(2);

    const noKey = await cli({ ...env, GLIDEKEY_API_KEY_FILE: '' }, 'site', 'list');
    expect([noKey.code, noKey.stderr]).toEqual([1, expect.stringContaining('no API key: set GLIDEKEY_API_KEY_FILE')]);
    const absent = await cli(env, 'site', 'list', '--api-key-file', join(work, 'nope'));
    expect([absent.code, absent.stderr]).toEqual([1, expect.stringContaining('ENOENT')]);
    const loose = join(work, 'loose.key');
    writeFileSync(loose, svc.adminKey + '\n');
    for (const mode of [0o640, 0o604]) {
      chmodSync(loose, mode);
      const r = await cli({ ...env, GLIDEKEY_API_KEY_FILE: loose }, 'site', 'list');
      expect([r.code, r.out]).toEqual([1, '']);
      expect(r.stderr).toContain('refusing to use it; chmod 600');
    }
    chmodSync(loose, 0o600);
    expect((await cli({ ...env, GLIDEKEY_API_KEY_FILE: loose }, 'site', 'list', '--json')).code).toBe(0);
    writeFileSync(loose, 'gk_0000000000000000_' + 'A'.repeat(43) + '\n');
    const wrong = await cli({ ...env, GLIDEKEY_API_KEY_FILE: loose }, 'site', 'list');
    expect([wrong.code, wrong.stderr]).toEqual([3, expect.stringContaining('401 ')]);

    const down = await cli({ ...env, GLIDEKEY_URL: `http://127.0.0.1:${await freePort()}` }, 'site', 'list');
    expect([down.code, down.stderr]).toEqual([4, expect.stringContaining('ECONNREFUSED')]);
    const clear = await cli({ ...env, GLIDEKEY_URL: 'http://glidekey.example.org:8080' }, 'site', 'list');
    expect([clear.code, clear.stderr]).toEqual([2, expect.stringContaining('in clear')]);
    // A key file is never printed to a terminal (script(1) from util-linux gives the CLI one).
    const tty = await spawnCollect('script', ['-qec', `${process.execPath} ${join(ROOT, 'dist', 'cli.js')} site keyfile el7_osg35`, '/dev/null'], env);
    expect([tty.code, tty.out]).toEqual([2, expect.stringContaining('refusing to print a key to a terminal')]);
    const bad = await cli(env, 'token', 'verify', 'eyJ.not.atoken');
    expect([bad.code, bad.out]).toEqual([5, 'not valid: MALFORMED\n']);

    // Over TLS: --ca names the bundle; without it the certificate is not trusted (exit 4).
    const pkiDir = tempDir('glidekey-cli-pki-');
    const pki = makeTestPki(pkiDir);
    const tls = await startService({ tls: pki });
    try {
      const tenv = { ...env, GLIDEKEY_URL: tls.url, GLIDEKEY_API_KEY_FILE: join(tls.dataDir, 'admin.key') };
      const ok = await cli(tenv, 'site', 'list', '--ca', pki.ca, '--json');
      expect([ok.code, ok.out]).toEqual([0, '[]\n']);
      expect((await cli({ ...tenv, GLIDEKEY_CA: pki.ca }, 'site', 'list')).code).toBe(0);
      const untrusted = await cli(tenv, 'site', 'list');
      expect(untrusted.code).toBe(4);
      expect((await cli(tenv, 'site', 'list', '--ca', pki.otherCa)).code).toBe(4);
    } finally {
      await tls.stop();
      removeDir(tls.dataDir);
      removeDir(pkiDir);
    }

    // Whatever ran above: no API key, token or key bytes on any stderr.
    const secrets = [svc.adminKey, svc.adminKey.slice(20)];
    for (const name of existsSync(tokenDir) ? readdirSync(tokenDir) : []) secrets.push(readFileSync(join(tokenDir, name), 'utf8').trim());
    for (const e of stderrs) for (const s of secrets) expect(e.includes(s)).toBe(false);
    expect(stderrs.join('').match(/eyJ[\w-]{10,}\.[\w-]{10,}/)).toBeNull();
  });

  it('answers --help on every noun and verb, on stdout with exit 0', async () => {
    const overview = await cli({}, '--help');
    expect(overview.code).toBe(0);
    for (const [noun, n] of Object.entries(NOUNS)) {
      const nh = await cli({}, noun, '--help');
      if (!n.verbs['']) expect([noun, nh.code, nh.out.startsWith(`usage: glidekey ${noun} <verb>`)]).toEqual([noun, 0, true]);
      for (const verb of Object.keys(n.verbs)) {
        const line = `${noun}${verb ? ' ' + verb : ''}`;
        expect(overview.out).toContain(`  ${line} `);
        const r = await cli({}, ...line.split(' '), '--help');
        expect([line, r.code, r.out.startsWith(`usage: glidekey ${line}`), r.out]).toEqual([line, 0, true, expect.stringContaining('exit codes:')]);
        expect((await cli({}, ...line.split(' '), '-h')).out).toBe(r.out);
      }
    }
  }, 180_000);

  it('config check prints the effective settings without secrets, and names a bad setting', async () => {
    const good = join(work, 'good.yaml');
    writeFileSync(good, 'port: 9443\ndatabase:\n  url: postgres://glidekey:hunter2secret@db.example.org/glidekey\n');
    const r = await cli({}, 'config', 'check', good);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.out).toContain('port: 9443\n');
    expect(r.out).toContain('database.url: postgres://glidekey:***@db.example.org/glidekey\n');
    expect(r.out).not.toContain('hunter2');
    expect(JSON.parse((await cli({}, 'config', 'check', good, '--json')).out)).toMatchObject({ port: 9443, tokens: { maxLifetimeSeconds: 604800 } });
    const badFile = join(work, 'bad.yaml');
    writeFileSync(badFile, 'tokens:\n  maxLifetimeSeconds: -5\n');
    const b = await cli({}, 'config', 'check', badFile);
    expect([b.code, b.out]).toEqual([5, '']);
    expect(b.stderr).toContain('tokens.maxLifetimeSeconds (env GLIDEKEY_TOKENS_MAX_LIFETIME_SECONDS)');
    expect((await cli({}, 'config', 'check', join(work, 'absent.yaml'))).code).toBe(1);
  });

  it("runs the README's CLI example as written: a passwords.d moves in, a pilot token lands in tokens.d", async () => {
    const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
    const hits = blocks.filter((b) => b.includes('npx glidekey site import'));
    expect(hits).toHaveLength(1);
    const fresh = await startService();
    const home = tempDir('glidekey-cli-readme-');
    try {
      // The frontend's passwords.d, found the HTCondor way: a condor_config_val on PATH that names it.
      const pw = join(home, 'passwords.d');
      mkdirSync(pw, { mode: 0o700 });
      const keys = { el7_osg35: randomBytes(64), POOL: randomBytes(64), ce_site2: scramble(Buffer.from('s3cret')) };
      for (const [name, bytes] of Object.entries(keys)) writeFileSync(join(pw, name), bytes, { mode: 0o600 });
      const bin = join(home, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'condor_config_val'), `#!/bin/sh\n[ "$1" = SEC_PASSWORD_DIRECTORY ] && echo '${pw}'\n`, { mode: 0o755 });
      const system = join(home, 'system-tokens.d');
      const r = await spawnCollect('/bin/bash', ['-euo', 'pipefail', '-c', `umask 022\n${hits[0]}`], {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: home,
        _CONDOR_SEC_TOKEN_SYSTEM_DIRECTORY: system,
        GLIDEKEY_URL: fresh.url,
        GLIDEKEY_API_KEY_FILE: join(fresh.dataDir, 'admin.key'),
      });
      expect([r.code, r.stderr.replace(/^npm warn.*\n/gm, '')]).toEqual([0, expect.stringContaining('wrote token')]);
      const dir = process.getuid?.() === 0 ? system : join(home, '.condor', 'tokens.d');
      const token = readFileSync(join(dir, 'el7_osg35'), 'utf8');
      expect(statSync(join(dir, 'el7_osg35')).mode & 0o777).toBe(0o600);
      const { header, payload, claims } = parts(token.trim());
      // import: one line per file, all created; token list: condor_token_list's line; the ledger: the token, active.
      for (const name of Object.keys(keys)) expect(r.out).toMatch(new RegExp(`${pw}/${name} +${name} +created`));
      expect(r.out).toContain(`Header: ${header} Payload: ${payload} File: ${dir}/el7_osg35\n`);
      expect(r.out).toMatch(new RegExp(`\n${claims.jti} +el7_osg35 +el7_osg35 +pilot@frontend\\.example\\.org +active `));
      expect(Number(claims.exp) - Number(claims.iat)).toBe(172800);
      const res = await fetch(`${fresh.api}/sites/el7_osg35/keyfile`, { headers: { authorization: `Bearer ${fresh.adminKey}` } });
      expect(Buffer.from(await res.arrayBuffer()).equals(keys.el7_osg35)).toBe(true);
    } finally {
      await fresh.stop();
      removeDir(fresh.dataDir);
      removeDir(home);
    }
  });

  it('keeps the host verbs working through the bin wrapper (bin/glidekey.js)', async () => {
    const dir = tempDir();
    try {
      const made = await spawnCollect(join(ROOT, 'bin', 'glidekey.js'), ['apikey', 'create', '--init', '--name', 'ops', '--role', 'auditor'], {
        GLIDEKEY_DATA_DIR: dir,
      });
      expect(made.code).toBe(0);
      expect(made.out.trim()).toMatch(/^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const listed = await spawnCollect(join(ROOT, 'bin', 'glidekey.js'), ['apikey', 'list'], { GLIDEKEY_DATA_DIR: dir });
      expect(JSON.parse(listed.out)).toEqual([expect.objectContaining({ name: 'ops', roles: ['auditor'] })]);
    } finally {
      removeDir(dir);
    }
  });
});
