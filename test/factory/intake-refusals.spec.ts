import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialsBody, Envelope, EnvelopeCredential, sealEnvelope } from '../../src/protocol/envelope.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** Every file under a directory with its bytes: the cache's files before and after an attack. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name)] = readFileSync(join(e.parentPath, e.name), 'utf8');
  }
  return out;
}

describe.each(ENGINES)('the factory refuses what it must not cache, on %s', (engine) => {
  let t: TestApp;
  let cacheDir: string;
  let fe: KeyPair;
  let stranger: KeyPair;
  let factoryKey: Uint8Array;
  let feKey: string;
  let otherKey: string;
  const FE = 'fe.example.org';

  const cred = (over: Partial<EnvelopeCredential> = {}): EnvelopeCredential => ({
    entry: 'CE_1',
    type: 'idtoken',
    version: 5,
    expiresAt: Math.floor(t.clock.now() / 1000) + 3600,
    value: `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.sig`,
    ...over,
  });
  const body = (over: Partial<CredentialsBody> = {}): CredentialsBody => ({
    v: 1,
    frontend: FE,
    id: randomUUID(),
    createdAt: t.clock.now(),
    credentials: [cred()],
    ...over,
  });
  const send = (env: unknown, key = feKey) => client(t.api, key).post('/factory/credentials', env);
  const snapshot = async () => ({
    rows: await t.db.dataSource.query('SELECT frontend, entry, type, version, fingerprint, sealed_value FROM cached_credentials ORDER BY entry, type'),
    files: files(cacheDir),
  });
  const lastFailure = async () => (await client(t.api, t.adminKey).get('/audit?action=factory.credential.refuse&result=failure&limit=1')).json.entries[0];

  beforeAll(async () => {
    await sodium.ready;
    [fe, stranger] = [sodium.crypto_box_keypair(), sodium.crypto_box_keypair()];
    cacheDir = tempDir('glidekey-cache-');
    t = await startTestApp({ engine, env: { GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_ROLES: 'factory', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    const admin = client(t.api, t.adminKey);
    feKey = (await admin.post('/factory/frontends', { name: FE, publicKey: b64(fe.publicKey) })).json.apiKey;
    otherKey = (await admin.post('/factory/frontends', { name: 'other.example.org', publicKey: b64(sodium.crypto_box_keypair().publicKey) })).json.apiKey;
    factoryKey = Buffer.from((await admin.get('/factory/identity')).json.publicKey, 'base64');
    expect((await admin.put('/factory/entries/CE_1', { site: 'S1', gatekeeper: 'ce1.example.org', trustDomain: 'OSG', authMethod: 'scitoken' })).status).toBe(
      201,
    );
    // The credential every attack below tries to displace.
    const first = await send(await sealEnvelope(body(), fe, factoryKey));
    expect([first.status, first.json.results]).toEqual([200, [{ entry: 'CE_1', type: 'idtoken', version: 5, result: 'stored' }]]);
  });
  afterAll(async () => {
    await t.close();
    removeDir(cacheDir);
  });

  /** An attack: its answer, and proof that the cache (rows and files) did not change. */
  async function attack(env: unknown, key = feKey) {
    const before = await snapshot();
    const res = await send(env, key);
    expect(await snapshot()).toEqual(before);
    return res;
  }

  const expectRefused = async (res: { status: number; json: { error: { code: string } } }, status: number, code: string) => {
    expect([res.status, res.json.error.code]).toEqual([status, code]);
    const audited = (await client(t.api, t.adminKey).get('/audit?action=factory.credentials.receive&result=failure&limit=1')).json.entries[0];
    expect(audited).toMatchObject({ result: 'failure', code });
  };

  it('an envelope sealed by a key no registered frontend holds: 403 ENVELOPE_UNKNOWN_SENDER', async () => {
    await expectRefused(await attack(await sealEnvelope(body({ credentials: [cred({ version: 9 })] }), stranger, factoryKey)), 403, 'ENVELOPE_UNKNOWN_SENDER');
  });

  it("one frontend's envelope presented with another frontend's API key, or naming another frontend: 403 ENVELOPE_SENDER_MISMATCH", async () => {
    await expectRefused(
      await attack(await sealEnvelope(body({ credentials: [cred({ version: 9 })] }), fe, factoryKey), otherKey),
      403,
      'ENVELOPE_SENDER_MISMATCH',
    );
    await expectRefused(
      await attack(await sealEnvelope(body({ frontend: 'other.example.org', credentials: [cred({ version: 9 })] }), fe, factoryKey)),
      403,
      'ENVELOPE_SENDER_MISMATCH',
    );
  });

  it('a flipped ciphertext byte anywhere, a flipped nonce byte, a truncated box: 400 ENVELOPE_BAD_MAC', async () => {
    const env = await sealEnvelope(body({ credentials: [cred({ version: 9 })] }), fe, factoryKey);
    const box = Buffer.from(env.box, 'base64');
    for (const i of [0, 17, box.length - 1]) {
      const bad = Buffer.from(box);
      bad[i] ^= 0x01;
      await expectRefused(await attack({ ...env, box: bad.toString('base64') }), 400, 'ENVELOPE_BAD_MAC');
    }
    const nonce = Buffer.from(env.nonce, 'base64');
    nonce[3] ^= 0x80;
    await expectRefused(await attack({ ...env, nonce: nonce.toString('base64') }), 400, 'ENVELOPE_BAD_MAC');
    await expectRefused(await attack({ ...env, box: box.subarray(0, 40).toString('base64') }), 400, 'ENVELOPE_BAD_MAC');
  });

  it('a replayed envelope: 409 ENVELOPE_REPLAYED, even though it was valid the first time', async () => {
    const env = await sealEnvelope(body({ credentials: [cred({ version: 6 })] }), fe, factoryKey);
    expect((await send(env)).json.results[0].result).toBe('stored');
    await expectRefused(await attack(env), 409, 'ENVELOPE_REPLAYED');
  });

  it('the same envelope sent 10 times at once is taken once; every other copy is ENVELOPE_REPLAYED', async () => {
    const env = await sealEnvelope(body({ credentials: [cred({ version: 7 })] }), fe, factoryKey);
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(env)));
    const outcome = answers.map((r) => (r.status === 200 ? r.json.results[0].result : `${r.status} ${r.json.error.code}`)).sort();
    expect(outcome).toEqual(['409 ENVELOPE_REPLAYED', ...Array(8).fill('409 ENVELOPE_REPLAYED'), 'stored'].sort());
  });

  it('an envelope outside the freshness window, either way: 400 ENVELOPE_STALE', async () => {
    await expectRefused(
      await attack(await sealEnvelope(body({ createdAt: t.clock.now() - 301_000, credentials: [cred({ version: 99 })] }), fe, factoryKey)),
      400,
      'ENVELOPE_STALE',
    );
    await expectRefused(
      await attack(await sealEnvelope(body({ createdAt: t.clock.now() + 301_000, credentials: [cred({ version: 99 })] }), fe, factoryKey)),
      400,
      'ENVELOPE_STALE',
    );
  });

  it('an older version after a newer one: refused per credential with CREDENTIAL_OLDER, audited, cache unchanged', async () => {
    const held = (await t.db.dataSource.query(`SELECT version FROM cached_credentials WHERE entry = 'CE_1'`))[0].version;
    expect(Number(held)).toBe(7);
    const res = await attack(await sealEnvelope(body({ credentials: [cred({ version: 4 })] }), fe, factoryKey));
    expect([res.status, res.json.results]).toEqual([200, [{ entry: 'CE_1', type: 'idtoken', version: 4, result: 'refused', code: 'CREDENTIAL_OLDER' }]]);
    expect(await lastFailure()).toMatchObject({ action: 'factory.credential.refuse', target: 'entry:CE_1', code: 'CREDENTIAL_OLDER' });
    // The same version with different bytes is not a harmless duplicate either.
    const same = await attack(await sealEnvelope(body({ credentials: [cred({ version: 7 })] }), fe, factoryKey));
    expect(same.json.results[0]).toMatchObject({ result: 'refused', code: 'CREDENTIAL_OLDER' });
  });

  it('an expired credential, or one for an entry the factory does not have: refused per credential', async () => {
    const res = await attack(
      await sealEnvelope(
        body({ credentials: [cred({ version: 50, expiresAt: Math.floor(t.clock.now() / 1000) }), cred({ entry: 'NO_SUCH_ENTRY', version: 50 })] }),
        fe,
        factoryKey,
      ),
    );
    expect(res.json.results.map((r: { code: string }) => r.code)).toEqual(['CREDENTIAL_EXPIRED', 'ENTRY_NOT_FOUND']);
  });

  it('an authentic envelope whose JSON breaks the schema: 400 ENVELOPE_SCHEMA; not an envelope at all: 400 ENVELOPE_MALFORMED', async () => {
    const raw = (plain: string): Envelope => {
      const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
      return { v: 1, from: b64(fe.publicKey), nonce: b64(nonce), box: b64(sodium.crypto_box_easy(plain, nonce, factoryKey, fe.privateKey)) };
    };
    const valid = body({ credentials: [cred({ version: 70 })] });
    for (const bad of [
      { ...valid, extra: 1 },
      { ...valid, credentials: [{ ...valid.credentials[0], entry: '../../etc/cron.d/x' }] },
      { ...valid, credentials: [{ ...valid.credentials[0], type: 'grid_proxy' }] },
      { ...valid, id: 'not-a-uuid' },
    ]) {
      await expectRefused(await attack(raw(JSON.stringify(bad))), 400, 'ENVELOPE_SCHEMA');
    }
    await expectRefused(await attack(raw('{"v":1, "frontend": ')), 400, 'ENVELOPE_MALFORMED');
    await expectRefused(await attack({ v: 1, from: b64(fe.publicKey), nonce: 'x', box: 'y' }), 400, 'ENVELOPE_MALFORMED');
    await expectRefused(await attack({ hello: 'world' }), 400, 'ENVELOPE_MALFORMED');
  });

  it('an oversized payload: 413 before anything is opened', async () => {
    const big = await sealEnvelope(
      body({ credentials: Array.from({ length: 20 }, (_, i) => cred({ entry: `E${i}`, version: 80, value: 'A'.repeat(16_000) })) }),
      fe,
      factoryKey,
    );
    const res = await attack(big);
    expect([res.status, res.json.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('a newer version replaces the held one and its file; the cache listing shows its state, never the credential', async () => {
    const value = `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.newest`;
    const res = await send(await sealEnvelope(body({ credentials: [cred({ version: 100, value })] }), fe, factoryKey));
    expect(res.json.results[0].result).toBe('stored');
    expect(readFileSync(join(cacheDir, `user_${FE}`, 'glidein_gfactory_instance', `credential_${FE}.main_CE_1.idtoken`), 'utf8')).toBe(value);
    const cache = await client(t.api, t.adminKey).get('/factory/cache');
    expect(cache.json).toEqual([
      expect.objectContaining({ frontend: FE, entry: 'CE_1', type: 'idtoken', version: 100, state: 'expiring' }),
      expect.objectContaining({ frontend: null, entry: 'CE_1', type: 'scitoken', state: 'missing' }),
    ]);
    expect(cache.text).not.toContain('newest');
    const row = (await t.db.dataSource.query(`SELECT sealed_value FROM cached_credentials WHERE entry = 'CE_1'`))[0];
    expect(row.sealed_value).toMatch(/^v1:/);
    expect(row.sealed_value).not.toContain('newest');
    expect(t.logs()).not.toContain('newest');
    const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(metrics).toMatch(/glidekey_factory_credentials_received_total\{type="idtoken",result="CREDENTIAL_OLDER"\} 2/);
    expect(metrics).toMatch(/glidekey_factory_credentials_received_total\{type="idtoken",result="stored"\} 4/);
    expect(metrics).toMatch(/glidekey_factory_credential_min_seconds_to_expiry\{type="idtoken"\} 3(599|600)\n/);
    expect(metrics).toMatch(/glidekey_factory_credentials\{state="missing",type="scitoken"\} 1/);
    expect(metrics).not.toContain('newest');
  });
});
