import { execFileSync } from 'node:child_process';
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, importPKCS8, SignJWT } from 'jose';
import { SchedulerService } from '../../src/scheduler/scheduler.service.js';
import { SciTokensService } from '../../src/scitokens/scitokens.service.js';
import { startTestApp, TestApp } from '../support/app.js';
import { client, tempDir } from '../support/service.js';

const ISSUER = 'https://issuer.example.org';
const HOUR = 3600;

/** Debian's scitokens-cpp ships scitokens-create; .ci/run installs it. */
const scitokensCreate = (() => {
  try {
    execFileSync('scitokens-create', ['--help'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // Not found is ENOENT (its status is null, not undefined); one that ran has a numeric exit status
    // (--help exits non-zero on some versions).
    return typeof (err as { status?: unknown }).status === 'number';
  }
})();

describe('SciTokens', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let sourceDir: string;
  const keys = tempDir('scitoken-keys-');
  // An EC P-256 key (openssl, as the Debian scitokens-create signs with EC only) and an RSA key.
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(keys, 'ec.sec1')]);
  execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', join(keys, 'ec.sec1'), '-out', join(keys, 'ec.key')]);
  execFileSync('openssl', ['ec', '-in', join(keys, 'ec.key'), '-pubout', '-out', join(keys, 'ec.pub')], { stdio: 'ignore' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  const pem = (f: string) => readFileSync(join(keys, f), 'utf8');
  /** The issuer's public keys, as a JWKS. */
  const jwks = async () => ({
    keys: [
      { ...createPublicKey(pem('ec.pub')).export({ format: 'jwk' }), kid: 'key-es256', alg: 'ES256' },
      { ...(await exportJWK(rsa.publicKey)), kid: 'key-rs256', alg: 'RS256' },
    ],
  });

  /** A token signed by one of our keys with jose; `claims` override the defaults. */
  const sign = async (claims: Record<string, unknown>, opts: { alg?: 'RS256' | 'ES256'; key?: unknown; kid?: string } = {}) => {
    const now = Math.floor(t.clock.now() / 1000);
    const alg = opts.alg ?? 'RS256';
    const key = opts.key ?? (alg === 'RS256' ? rsa.privateKey : await importPKCS8(pem('ec.key'), 'ES256'));
    return new SignJWT({
      iss: ISSUER,
      sub: 'vo-pilot',
      aud: 'https://ce.example.org',
      scope: 'compute.create',
      iat: now,
      nbf: now,
      exp: now + 2 * 24 * HOUR,
      'wlcg.ver': '1.0',
      jti: `j-${Math.random()}`,
      ...claims,
    })
      .setProtectedHeader({ alg, kid: opts.kid ?? (alg === 'RS256' ? 'key-rs256' : 'key-es256') })
      .sign(key as Parameters<SignJWT['sign']>[0]);
  };

  beforeAll(async () => {
    sourceDir = tempDir('scitoken-sources-');
    t = await startTestApp({
      env: { GLIDEKEY_SCITOKENS_EXPIRING_SECONDS: '300', GLIDEKEY_SCITOKENS_SOURCE_DIRS: sourceDir, GLIDEKEY_METRICS_CACHE_SECONDS: '0' },
    });
    api = client(t.api, t.adminKey);
    const put = await api.put('/scitoken-issuers/test-issuer', { issuer: ISSUER, jwks: await jwks() });
    expect(put.status).toBe(201);
    expect(put.json.keys.map((k: { kid: string }) => k.kid)).toEqual(['key-es256', 'key-rs256']);
  });
  afterAll(async () => {
    await t.close();
    rmSync(keys, { recursive: true, force: true });
    rmSync(sourceDir, { recursive: true, force: true });
  });

  (scitokensCreate ? describe : describe.skip)(
    `interoperability with scitokens-create (scitokens-cpp)${scitokensCreate ? '' : ' (SKIPPED: scitokens-create is not installed; .ci/run installs Debian package scitokens-cpp)'}`,
    () => {
      it.each([
        ['wlcg', 'wlcg'],
        ['scitokens2', 'scitokens2'],
      ])('stores an ES256 token of the %s profile and reports its claims and state', async (profile, expected) => {
        const token = execFileSync('scitokens-create', [
          '--cred',
          join(keys, 'ec.pub'),
          '--key',
          join(keys, 'ec.key'),
          '--keyid',
          'key-es256',
          '--issuer',
          ISSUER,
          '--profile',
          profile,
          '--claim',
          'sub=vo-pilot',
          '--claim',
          'aud=https://ce.example.org',
          '--claim',
          'scope=compute.create compute.read',
        ])
          .toString()
          .trim();
        const res = await api.put(`/scitokens/cpp-${profile}`, { token, trustDomain: 'OSG', securityClass: 'frontend' });
        expect(res.status).toBe(201);
        expect(res.json).toMatchObject({
          name: `cpp-${profile}`,
          trustDomain: 'OSG',
          securityClass: 'frontend',
          state: 'valid',
          issuer: ISSUER,
          subject: 'vo-pilot',
          audience: ['https://ce.example.org'],
          scope: 'compute.create compute.read',
          profile: expected,
          alg: 'ES256',
          kid: 'key-es256',
        });
        // scitokens-create issues 600 s tokens: valid, then expiring (under 300 s left), then expired.
        expect(res.json.secondsToExpiry).toBeGreaterThan(590);
        t.clock.advance(res.json.secondsToExpiry - 299);
        expect((await api.get(`/scitokens/cpp-${profile}`)).json.state).toBe('expiring');
        t.clock.advance(299);
        expect((await api.get(`/scitokens/cpp-${profile}`)).json.state).toBe('expired');
        t.clock.advance(-600);
        expect(JSON.stringify((await api.get('/scitokens')).json)).not.toContain(token.split('.')[2]);
      });
    },
  );

  it('stores an RS256 WLCG token and a SciTokens 2.0 ES256 token made with jose', async () => {
    const rs = await api.put('/scitokens/rs', { token: await sign({}), trustDomain: 'OSG' });
    expect(rs.json).toMatchObject({ state: 'valid', alg: 'RS256', profile: 'wlcg' });
    const esToken = await sign({ 'wlcg.ver': undefined, ver: 'scitoken:2.0' }, { alg: 'ES256' });
    const es = await api.put('/scitokens/es', { token: esToken, trustDomain: 'OSG' });
    expect(es.json).toMatchObject({ state: 'valid', alg: 'ES256', profile: 'scitokens2' });
    // Neither token, nor its signature, is anywhere but in the sealed column.
    const signature = esToken.split('.')[2];
    expect((await api.get('/scitokens')).text).not.toContain(signature);
    expect((await api.get('/audit?limit=1000')).text).not.toContain(signature);
    expect(await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text()).not.toContain(signature);
    expect(t.logs()).not.toContain(signature);
  });

  it("refuses one trusted issuer's key signing for another trusted issuer", async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const second = { ...other.publicKey.export({ format: 'jwk' }), kid: 'second-key', alg: 'ES256' };
    expect((await api.put('/scitoken-issuers/second', { issuer: 'https://second.example.org', jwks: { keys: [second] } })).status).toBe(201);
    // Signed with the first issuer's EC key, claiming the second issuer (and its kid).
    const forged = await sign({ iss: 'https://second.example.org' }, { alg: 'ES256', kid: 'second-key' });
    expect((await api.put('/scitokens/forged', { token: forged, trustDomain: 'OSG' })).json.error.code).toBe('SCITOKEN_BAD_SIGNATURE');
  });

  describe('refuses, with a stable code, and stores nothing', () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const cases: [string, () => Promise<string>, number, string][] = [
      ['alg none', async () => `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, exp: 4_000_000_000, 'wlcg.ver': '1.0' })}.`, 400, 'SCITOKEN_MALFORMED'],
      [
        'alg none with a signature segment',
        async () => `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, exp: 4_000_000_000, 'wlcg.ver': '1.0' })}.AAAA`,
        400,
        'SCITOKEN_BAD_ALG',
      ],
      [
        'HS256 keyed with the public key',
        async () => {
          const h = b64({ alg: 'HS256', kid: 'key-rs256' });
          const p = b64({ iss: ISSUER, exp: Math.floor(t.clock.now() / 1000) + HOUR, 'wlcg.ver': '1.0' });
          const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
          return `${h}.${p}.${createHmac('sha256', pem).update(`${h}.${p}`).digest('base64url')}`;
        },
        400,
        'SCITOKEN_BAD_ALG',
      ],
      ['a signature by a key not in the JWKS', () => sign({}, { alg: 'ES256', key: stranger.privateKey, kid: 'key-es256' }), 400, 'SCITOKEN_BAD_SIGNATURE'],
      ['an untrusted issuer', () => sign({ iss: 'https://evil.example.org' }), 400, 'SCITOKEN_UNKNOWN_ISSUER'],
      ['no exp', () => sign({ exp: undefined }), 400, 'SCITOKEN_NO_EXPIRY'],
      [
        'expired',
        () => sign({ iat: Math.floor(t.clock.now() / 1000) - 600, nbf: Math.floor(t.clock.now() / 1000) - 600, exp: Math.floor(t.clock.now() / 1000) - 1 }),
        400,
        'SCITOKEN_EXPIRED',
      ],
      ['not valid for an hour', () => sign({ nbf: Math.floor(t.clock.now() / 1000) + HOUR }), 400, 'SCITOKEN_NOT_YET_VALID'],
      ['no profile', () => sign({ 'wlcg.ver': undefined }), 400, 'SCITOKEN_UNKNOWN_PROFILE'],
      ['truncated', async () => (await sign({})).slice(0, 120), 400, 'SCITOKEN_MALFORMED'],
      ['a non-JSON payload', async () => `${b64({ alg: 'RS256' })}.${Buffer.from('not json').toString('base64url')}.AAAA`, 400, 'SCITOKEN_MALFORMED'],
      ['iat later than exp', () => sign({ iat: Math.floor(t.clock.now() / 1000) + 50, exp: Math.floor(t.clock.now() / 1000) + 40 }), 400, 'SCITOKEN_MALFORMED'],
      [
        'an unencoded payload header (b64: false)',
        async () => `${b64({ alg: 'RS256', b64: false, crit: ['b64'] })}.${b64({ iss: ISSUER })}.AAAA`,
        400,
        'SCITOKEN_MALFORMED',
      ],
    ];
    it.each(cases)('%s', async (_label, make, status, code) => {
      const res = await api.put('/scitokens/refused', { token: await make(), trustDomain: 'OSG' });
      expect([res.status, res.json.error.code]).toEqual([status, code]);
      expect((await api.get('/scitokens/refused')).status).toBe(404);
    });

    it('a 1 MB body', async () => {
      const res = await api.raw('PUT', '/scitokens/refused', JSON.stringify({ token: 'x'.repeat(1_000_000), trustDomain: 'OSG' }));
      expect([res.status, res.json.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expect((await api.get('/scitokens/refused')).status).toBe(404);
    });

    it('a private key or a symmetric key in an issuer JWKS', async () => {
      const priv = { ...(await exportJWK(rsa.privateKey)), kid: 'oops' };
      expect((await api.put('/scitoken-issuers/leaky', { issuer: 'https://leaky.example.org', jwks: { keys: [priv] } })).json.error.code).toBe('INVALID_JWKS');
      expect(
        (await api.put('/scitoken-issuers/sym', { issuer: 'https://sym.example.org', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } })).json.error.code,
      ).toBe('INVALID_JWKS');
      const slow = { ...(await exportJWK(rsa.publicKey)), e: 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB', kid: 'slow' };
      expect((await api.put('/scitoken-issuers/slow', { issuer: 'https://slow.example.org', jwks: { keys: [slow] } })).json.error.code).toBe('INVALID_JWKS');
      expect((await api.get('/scitoken-issuers')).json.map((i: { id: string }) => i.id)).not.toEqual(expect.arrayContaining(['leaky', 'sym', 'slow']));
    });
  });

  it('moves through valid, expiring (at the boundary), expired; refuses an earlier-expiring replacement unless forced', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    expect((await api.put('/scitokens/timed', { token: await sign({ exp: now + 1000 }), trustDomain: 'OSG' })).json.state).toBe('valid');
    t.clock.advance(700); // 300 s left: not less than the threshold
    expect((await api.get('/scitokens/timed')).json.state).toBe('valid');
    t.clock.advance(1);
    expect((await api.get('/scitokens/timed')).json).toMatchObject({ state: 'expiring', secondsToExpiry: 299 });
    t.clock.advance(299);
    expect((await api.get('/scitokens/timed')).json).toMatchObject({ state: 'expired', secondsToExpiry: 0 });
    t.clock.advance(-1000);
    const shorter = await sign({ exp: now + 500 });
    const kept = (await api.get('/scitokens/timed')).json.jti;
    expect((await api.put('/scitokens/timed', { token: shorter, trustDomain: 'OSG' })).json.error.code).toBe('SCITOKEN_OLDER');
    expect((await api.get('/scitokens/timed')).json.jti).toBe(kept);
    expect((await api.put('/scitokens/timed', { token: shorter, trustDomain: 'OSG', force: true })).status).toBe(200);
  });

  it('reads invalid when its issuer replaces its keys, and revoked (token wiped) after DELETE', async () => {
    expect((await api.put('/scitokens/doomed', { token: await sign({}), trustDomain: 'OSG' })).json.state).toBe('valid');
    const other = { ...(await exportJWK(stranger.publicKey)), kid: 'other', alg: 'ES256' };
    expect((await api.put('/scitoken-issuers/test-issuer', { issuer: ISSUER, jwks: { keys: [other] } })).status).toBe(200);
    expect((await api.get('/scitokens/doomed')).json).toMatchObject({ state: 'invalid', reason: 'SCITOKEN_BAD_SIGNATURE' });
    expect((await api.put('/scitoken-issuers/test-issuer', { issuer: ISSUER, jwks: await jwks() })).status).toBe(200);
    expect((await api.get('/scitokens/doomed')).json.state).toBe('valid');
    expect((await api.del('/scitokens/doomed')).status).toBe(204);
    expect((await api.get('/scitokens/doomed')).json.state).toBe('revoked');
    const row = await t.db.dataSource.query(`SELECT sealed_token FROM scitokens WHERE name = 'doomed'`);
    expect(row[0].sealed_token).toBeNull();
  });

  it('follows a source file: a newer token replaces, a broken one or a deleted file keeps the old and says why', async () => {
    const tick = () => t.app.get(SchedulerService).tick();
    const file = join(sourceDir, 'vo.token');
    const first = await sign({ jti: 'first' });
    writeFileSync(file, first + '\n');
    const put = await api.put('/scitokens/followed', { sourcePath: file, trustDomain: 'OSG' });
    expect(put.json).toMatchObject({ state: 'valid', jti: 'first', refreshError: null });
    t.clock.advance(60);
    writeFileSync(file, (await sign({ jti: 'second' })) + '\n');
    await tick();
    expect((await api.get('/scitokens/followed')).json).toMatchObject({ state: 'valid', jti: 'second', refreshError: null });
    writeFileSync(file, 'this is not a token\n');
    await tick();
    expect((await api.get('/scitokens/followed')).json).toMatchObject({ state: 'valid', jti: 'second', refreshError: { code: 'SCITOKEN_MALFORMED' } });
    rmSync(file);
    await tick();
    expect((await api.get('/scitokens/followed')).json).toMatchObject({ state: 'valid', jti: 'second', refreshError: { code: 'SOURCE_MISSING' } });
    const audit = (await api.get('/audit?action=scitoken.refresh&target=scitoken:followed')).json.entries.map(
      (e: { result: string; code: string | null; actor: string }) => `${e.actor} ${e.result}:${e.code}`,
    );
    expect(audit).toEqual([
      'system:scheduler failure:SOURCE_MISSING',
      'system:scheduler failure:SCITOKEN_MALFORMED',
      'system:scheduler success:null',
      'api-key:admin success:null', // the first read, when the admin named the file
    ]);
    expect((await api.put('/scitokens/outside', { sourcePath: '/etc/passwd', trustDomain: 'OSG' })).json.error.code).toBe('INVALID_SOURCE_PATH');
    // What a followed path may turn into later is read safely: never through a link, never a FIFO,
    // a device or a directory, never a large file; each is a code, the service keeps running.
    writeFileSync(file, (await sign({ jti: 'third', exp: Math.floor(t.clock.now() / 1000) + 3 * 24 * HOUR })) + '\n');
    await tick();
    expect((await api.get('/scitokens/followed')).json).toMatchObject({ jti: 'third', refreshError: null });
    const swap = async (make: () => void, code: string) => {
      rmSync(file, { recursive: true, force: true });
      make();
      await tick();
      expect([code, (await api.get('/scitokens/followed')).json.refreshError?.code]).toEqual([code, code]);
      expect((await api.get('/scitokens/followed')).json.jti).toBe('third');
    };
    await swap(() => symlinkSync('/etc/hostname', file), 'SOURCE_NOT_A_FILE');
    await swap(() => execFileSync('mkfifo', [file]), 'SOURCE_NOT_A_FILE');
    await swap(() => mkdirSync(file), 'SOURCE_NOT_A_FILE');
    await swap(() => writeFileSync(file, 'x'.repeat(20_000)), 'SOURCE_TOO_LARGE');
    rmSync(file, { recursive: true, force: true });
    expect((await api.put('/scitokens/relative', { sourcePath: 'vo.token', trustDomain: 'OSG' })).json.error.code).toBe('INVALID_SOURCE_PATH');
  });

  it('lets a revocation win over a refresh that was already under way', async () => {
    const file = join(sourceDir, 'race.token');
    writeFileSync(file, await sign({ jti: 'race-1' }));
    expect((await api.put('/scitokens/race', { sourcePath: file, trustDomain: 'OSG' })).json.jti).toBe('race-1');
    writeFileSync(file, await sign({ jti: 'race-2', exp: Math.floor(t.clock.now() / 1000) + 3 * 24 * HOUR }));
    const refreshing = t.app.get(SciTokensService).refresh('race');
    expect((await api.del('/scitokens/race')).status).toBe(204);
    await refreshing;
    expect((await api.get('/scitokens/race')).json).toMatchObject({ state: 'revoked' });
    const row = await t.db.dataSource.query(`SELECT sealed_token FROM scitokens WHERE name = 'race'`);
    expect(row[0].sealed_token).toBeNull();
  });

  it('warns once when a SciToken becomes expiring or expired, and exports its seconds to expiry', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    await api.put('/scitokens/watched', { token: await sign({ exp: now + 400 }), trustDomain: 'CMS' });
    const tick = () => t.app.get(SchedulerService).tick();
    await tick();
    t.clock.advance(200);
    expect((await tick()).alarms).toContain('watched');
    expect((await tick()).alarms).not.toContain('watched');
    expect(t.logs()).toMatch(/SciToken watched \(trust domain CMS\) is expiring in 200 s/);
    const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(metrics).toContain('glidekey_scitoken_seconds_to_expiry{name="watched"} 200');
    expect(metrics).toMatch(/glidekey_scitokens\{state="expiring"\} \d+/);
    t.clock.advance(200);
    expect((await tick()).alarms).toContain('watched');
    expect(t.logs()).toMatch(/SciToken watched \(trust domain CMS\) is expired/);
  });
});

describe('SciTokens configured but not supplied, and issuers from a file', () => {
  it('loads trusted issuers from scitokens.issuersFile, and reads missing until a followed file supplies a token', async () => {
    const dir = tempDir('scitoken-config-');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = join(dir, 'issuers.json');
    writeFileSync(
      file,
      JSON.stringify({
        'from-file': { issuer: 'https://file-issuer.example.org', jwks: { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }] } },
      }),
    );
    const t = await startTestApp({ env: { GLIDEKEY_SCITOKENS_ISSUERS_FILE: file, GLIDEKEY_SCITOKENS_SOURCE_DIRS: dir } });
    try {
      const api = client(t.api, t.adminKey);
      expect((await api.get('/scitoken-issuers')).json).toEqual([
        expect.objectContaining({ id: 'from-file', issuer: 'https://file-issuer.example.org', keys: [{ kid: 'k1', kty: 'EC', alg: 'ES256' }] }),
      ]);
      // Loaded at start-up as background work of its own: the line names it, not an API key.
      expect((await api.get('/audit?action=scitoken-issuer.put&target=issuer:from-file')).json.entries).toEqual([
        expect.objectContaining({ actor: 'system:config', result: 'success' }),
      ]);
      const put = await api.put('/scitokens/pending', { sourcePath: join(dir, 'not-yet.token'), trustDomain: 'OSG' });
      expect(put.status).toBe(201);
      expect(put.json).toMatchObject({ state: 'missing', expiresAt: null, refreshError: { code: 'SOURCE_MISSING' } });
      const now = Math.floor(t.clock.now() / 1000);
      const token = await new SignJWT({ iss: 'https://file-issuer.example.org', sub: 'vo', exp: now + 48 * HOUR, iat: now, ver: 'scitoken:2.0' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .sign(ec.privateKey);
      writeFileSync(join(dir, 'not-yet.token'), token);
      await t.app.get(SchedulerService).tick();
      expect((await api.get('/scitokens/pending')).json).toMatchObject({ state: 'valid', profile: 'scitokens2', refreshError: null });
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
