import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EnvelopeBody, EnvelopeCredential, sealEnvelope } from '../../src/protocol/envelope.js';
import { startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

const FE = 'vofe.example.org';
const INSTANCE = 'glidein_gfactory_instance';
/** Where GlideinWMS's factory reads a credential: user_<local user>/glidein_<instance>/credential_<ClientName>_<entry>.<type>, ClientName = <frontend>.<group>. */
const gwmsPath = (cacheDir: string, user: string, group: string, entry: string, type = 'idtoken') =>
  join(cacheDir, `user_${user}`, INSTANCE, `credential_${FE}.${group}_${entry}.${type}`);
/** What glidekey wrote before it knew groups and local users. */
const legacyPath = (cacheDir: string, entry: string, type = 'idtoken') => join(cacheDir, `user_${FE}`, INSTANCE, `credential_${FE}_${entry}.${type}`);
const mode = (p: string) => statSync(p).mode & 0o777;
const listing = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();

describe('factory cache files in GlideinWMS names: local user, one file per frontend group', () => {
  let t: TestApp;
  let cacheDir: string;
  let dataDir: string;
  let fe: { publicKey: Uint8Array; privateKey: Uint8Array };
  let feKey: string;
  let factoryKey: Uint8Array;
  let version = 0;

  const start = async () => {
    t = await startTestApp({ dataDir, env: { GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_ROLES: 'factory', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    factoryKey = Buffer.from((await client(t.api).get('/factory/identity')).json.publicKey, 'base64');
  };
  const send = async (body: EnvelopeBody) => (await client(t.api, feKey).post('/factory/credentials', await sealEnvelope(body, fe, factoryKey))).json.results;
  const deliver = async (entry: string, groups?: string[], type: 'idtoken' | 'scitoken' = 'idtoken') => {
    const value = `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.v${++version}`;
    const cred: EnvelopeCredential = { entry, type, version, expiresAt: Math.floor(t.clock.now() / 1000) + 7200, value, ...(groups ? { groups } : {}) };
    expect(await send({ v: 1, frontend: FE, id: randomUUID(), createdAt: t.clock.now(), credentials: [cred] })).toEqual([
      expect.objectContaining({ result: 'stored' }),
    ]);
    return value;
  };

  beforeAll(async () => {
    await sodium.ready;
    fe = sodium.crypto_box_keypair();
    cacheDir = tempDir('glidekey-gwms-cache-');
    dataDir = tempDir('glidekey-gwms-data-');
    await start();
    const admin = client(t.api, t.adminKey);
    const bad = await admin.post('/factory/frontends', { name: FE, publicKey: Buffer.from(fe.publicKey).toString('base64'), localUser: '-frontend' });
    expect([bad.status, bad.json.error.field]).toEqual([400, 'localUser']);
    expect(bad.json.error.message).toContain('Unix user name');
    const reg = await admin.post('/factory/frontends', { name: FE, publicKey: Buffer.from(fe.publicKey).toString('base64'), localUser: 'frontend' });
    expect([reg.status, reg.json.localUser]).toEqual([201, 'frontend']);
    feKey = reg.json.apiKey;
    const other = await admin.post('/factory/frontends', { name: 'other.example.org', publicKey: Buffer.alloc(32, 9).toString('base64') });
    expect(other.json.localUser).toBe('other.example.org');
    expect((await admin.get('/factory/frontends')).json.map((f: { name: string; localUser: string }) => [f.name, f.localUser])).toEqual([
      ['other.example.org', 'other.example.org'],
      [FE, 'frontend'],
    ]);
    for (const entry of ['CE_1', 'CE_2'])
      expect(
        (
          await admin.put(`/factory/entries/${entry}`, {
            site: 'S1',
            gatekeeper: `${entry.toLowerCase().replace('_', '')}.example.org ${entry.toLowerCase().replace('_', '')}.example.org:9619`,
            trustDomain: 'OSG',
            authMethod: 'scitoken',
          })
        ).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    removeDir(cacheDir);
    removeDir(dataDir);
  });

  it("writes one 0600 file per group under the local user, removes the older layout's file, and never touches GlideinWMS's own files", async () => {
    // What an older glidekey left, and what GlideinWMS's factory itself wrote for another group.
    mkdirSync(join(cacheDir, `user_${FE}`, INSTANCE), { recursive: true });
    writeFileSync(legacyPath(cacheDir, 'CE_1'), 'old-layout-token', { mode: 0o600 });
    mkdirSync(join(cacheDir, 'user_frontend', INSTANCE), { recursive: true });
    writeFileSync(gwmsPath(cacheDir, 'frontend', 'atlas', 'CE_1'), 'gwms-own-token', { mode: 0o600 });

    const v1 = await deliver('CE_1', ['main', 'cms']);
    for (const g of ['main', 'cms']) {
      expect(readFileSync(gwmsPath(cacheDir, 'frontend', g, 'CE_1'), 'utf8')).toBe(v1);
      expect(mode(gwmsPath(cacheDir, 'frontend', g, 'CE_1'))).toBe(0o600);
    }
    expect(existsSync(legacyPath(cacheDir, 'CE_1'))).toBe(false);
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'atlas', 'CE_1'), 'utf8')).toBe('gwms-own-token');

    // A group no longer served loses its file; a new one gets one.
    const v2 = await deliver('CE_1', ['cms', 'gpu']);
    expect(existsSync(gwmsPath(cacheDir, 'frontend', 'main', 'CE_1'))).toBe(false);
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'cms', 'CE_1'), 'utf8')).toBe(v2);
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'gpu', 'CE_1'), 'utf8')).toBe(v2);
    expect((await client(t.api, t.adminKey).get('/factory/cache?entry=CE_1')).json).toEqual([
      expect.objectContaining({ frontend: FE, type: 'idtoken', groups: ['cms', 'gpu'] }),
      expect.objectContaining({ type: 'scitoken', state: 'missing' }),
    ]);
    // No groups in the envelope (an older frontend, or `main` alone): `main`.
    const v3 = await deliver('CE_1');
    const v4 = await deliver('CE_2', undefined, 'scitoken');
    expect(listing(cacheDir)).toEqual([
      `user_frontend/${INSTANCE}/credential_${FE}.atlas_CE_1.idtoken`,
      `user_frontend/${INSTANCE}/credential_${FE}.main_CE_1.idtoken`,
      `user_frontend/${INSTANCE}/credential_${FE}.main_CE_2.scitoken`,
    ]);
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'main', 'CE_1'), 'utf8')).toBe(v3);
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'main', 'CE_2', 'scitoken'), 'utf8')).toBe(v4);
    expect((await client(t.api, t.adminKey).get('/audit?action=factory.credentials.receive&limit=1')).json.entries[0].detail.credentials[0].groups).toEqual([
      'main',
    ]);
  });

  it('the same credential sent again for other groups moves its files; an envelope with repeated or bad groups is refused whole', async () => {
    const value = await deliver('CE_2', ['main']);
    const again: EnvelopeCredential = { entry: 'CE_2', type: 'idtoken', version, expiresAt: Math.floor(t.clock.now() / 1000) + 7200, value, groups: ['cms'] };
    expect(await send({ v: 1, frontend: FE, id: randomUUID(), createdAt: t.clock.now(), credentials: [again] })).toEqual([
      expect.objectContaining({ result: 'stored' }),
    ]);
    expect(existsSync(gwmsPath(cacheDir, 'frontend', 'main', 'CE_2'))).toBe(false);
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'cms', 'CE_2'), 'utf8')).toBe(value);
    for (const groups of [['cms', 'cms'], ['../x'], []]) {
      // sealEnvelope checks the schema itself: seal the raw JSON by hand to see the factory refuse it.
      const nonce = sodium.randombytes_buf(24);
      const raw = sodium.crypto_box_easy(
        JSON.stringify({ v: 1, frontend: FE, id: randomUUID(), createdAt: t.clock.now(), credentials: [{ ...again, version: version + 1, groups }] }),
        nonce,
        factoryKey,
        fe.privateKey,
      );
      const res = await client(t.api, feKey).post('/factory/credentials', {
        v: 1,
        from: Buffer.from(fe.publicKey).toString('base64'),
        nonce: Buffer.from(nonce).toString('base64'),
        box: Buffer.from(raw).toString('base64'),
      });
      expect([res.status, res.json.error.code]).toEqual([400, 'ENVELOPE_SCHEMA']);
    }
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'cms', 'CE_2'), 'utf8')).toBe(value);
  });

  it('at start: repairs files, and moves files of the older layout (no record of them yet) to the new names', async () => {
    const v = await deliver('CE_1', ['main', 'cms']);
    await t.close();
    // As if upgraded from a glidekey that wrote credential_<frontend>_<entry> under user_<frontend>/.
    unlinkSync(join(dataDir, 'cache-files.json'));
    rmSync(join(cacheDir, 'user_frontend', INSTANCE, `credential_${FE}.main_CE_1.idtoken`));
    chmodSync(gwmsPath(cacheDir, 'frontend', 'cms', 'CE_1'), 0o644);
    writeFileSync(legacyPath(cacheDir, 'CE_1'), 'old-layout-token', { mode: 0o600 });
    writeFileSync(legacyPath(cacheDir, 'CE_2'), 'old-layout-token', { mode: 0o600 });
    await start();
    for (const g of ['main', 'cms']) {
      expect(readFileSync(gwmsPath(cacheDir, 'frontend', g, 'CE_1'), 'utf8')).toBe(v);
      expect(mode(gwmsPath(cacheDir, 'frontend', g, 'CE_1'))).toBe(0o600);
    }
    expect(existsSync(legacyPath(cacheDir, 'CE_1'))).toBe(false);
    expect(existsSync(legacyPath(cacheDir, 'CE_2'))).toBe(false);
    expect(readFileSync(gwmsPath(cacheDir, 'frontend', 'atlas', 'CE_1'), 'utf8')).toBe('gwms-own-token');
    expect(t.logs()).toMatch(/rewrote \d+ cache file/);
  });

  it('a withdrawal and an entry deletion remove the files of every group', async () => {
    await deliver('CE_1', ['main', 'cms']);
    const res = await send({
      v: 2,
      frontend: FE,
      id: randomUUID(),
      createdAt: t.clock.now(),
      withdrawals: [{ entry: 'CE_1', type: 'idtoken', version: ++version, reason: 'SITE_DELETED' }],
    });
    expect(res).toEqual([expect.objectContaining({ result: 'withdrawn' })]);
    expect(existsSync(gwmsPath(cacheDir, 'frontend', 'main', 'CE_1'))).toBe(false);
    expect(existsSync(gwmsPath(cacheDir, 'frontend', 'cms', 'CE_1'))).toBe(false);
    await deliver('CE_2', ['main', 'cms']);
    expect((await client(t.api, t.adminKey).del('/factory/entries/CE_2')).status).toBe(204);
    expect(listing(cacheDir)).toEqual([`user_frontend/${INSTANCE}/credential_${FE}.atlas_CE_1.idtoken`]);
  });
});

describe('the frontend names its groups (gwms.frontend.groups) and the factory files the token for each', () => {
  it("one process in both roles, groups main,cms, local user frontend: both files, the site's current token; a site's own gwmsGroups win", async () => {
    const cacheDir = tempDir('glidekey-gwms-cache-');
    const t = await startTestApp({
      env: { GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600', GLIDEKEY_GWMS_FRONTEND_GROUPS: 'main, cms' },
    });
    try {
      const admin = client(t.api, t.adminKey);
      const fe = (await admin.get('/frontend/identity')).json;
      const reg = await admin.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey, localUser: 'frontend' });
      const fa = (await admin.get('/factory/identity')).json;
      expect((await admin.post('/factories', { name: 'self', url: t.url, apiKey: reg.json.apiKey, publicKey: fa.publicKey })).status).toBe(201);
      expect(
        (
          await admin.put('/factory/entries/OSG_US_Nebraska_ce1', {
            site: 'Nebraska',
            gatekeeper: 'ce1.unl.edu ce1.unl.edu:9619',
            trustDomain: 'OSG',
            authMethod: 'idtoken',
            condorVersion: '23.0.3',
          })
        ).status,
      ).toBe(201);
      expect((await admin.post('/sites', { name: 'Nebraska' })).status).toBe(201);
      expect((await admin.post('/factories/self/sync')).json.delivery.delivered).toBe(1);
      const jti = (await admin.get('/sites/Nebraska')).json.currentToken.jti;
      expect(jti).toMatch(/^[0-9a-f]{32}$/);
      const files = ['main', 'cms'].map((g) => join(cacheDir, 'user_frontend', INSTANCE, `credential_${fe.name}.${g}_OSG_US_Nebraska_ce1.idtoken`));
      const [main, cms] = files.map((f) => readFileSync(f, 'utf8'));
      expect(main).toBe(cms);
      expect(JSON.parse(Buffer.from(main.split('.')[1], 'base64url').toString()).jti).toBe(jti);
      for (const f of files) expect(mode(f)).toBe(0o600);
      // A site with its own gwmsGroups: its token is filed for those groups only.
      expect(
        (
          await admin.put('/factory/entries/OSG_US_Caltech_ce', {
            site: 'Caltech',
            gatekeeper: 'ce.caltech.edu:9619',
            trustDomain: 'OSG',
            authMethod: 'idtoken',
            condorVersion: '23.0.3',
          })
        ).status,
      ).toBe(201);
      expect((await admin.post('/sites', { name: 'Caltech', gwmsGroups: ['gpu'] })).status).toBe(201);
      expect((await admin.post('/factories/self/sync')).json.delivery.delivered).toBe(1);
      expect(listing(join(cacheDir, 'user_frontend'))).toEqual([
        `${INSTANCE}/credential_${fe.name}.cms_OSG_US_Nebraska_ce1.idtoken`,
        `${INSTANCE}/credential_${fe.name}.gpu_OSG_US_Caltech_ce.idtoken`,
        `${INSTANCE}/credential_${fe.name}.main_OSG_US_Nebraska_ce1.idtoken`,
      ]);
    } finally {
      await t.close();
      removeDir(cacheDir);
    }
  });
});

describe('a frontend serving only `main` (the default) sends envelopes without groups: what factories from before groups take', () => {
  it('the credential items carry exactly entry, type, version, expiresAt and value', async () => {
    await sodium.ready;
    const factory = sodium.crypto_box_keypair();
    const bodies: Record<string, unknown>[] = [];
    const t = await startTestApp({ env: { GLIDEKEY_ROLES: 'frontend', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    const admin = client(t.api, t.adminKey);
    const feKey = Buffer.from((await admin.get('/frontend/identity')).json.publicKey, 'base64');
    // A factory of the older kind, on loopback: it opens what it is sent and keeps the plaintext.
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET')
          return res.end(
            JSON.stringify([
              {
                name: 'E1',
                site: 'S1',
                gatekeeper: 'ce.example.org:9619',
                trustDomain: 'OSG',
                authMethod: 'idtoken',
                condorVersion: '23.0.3',
                securityClass: null,
              },
            ]),
          );
        const env = JSON.parse(raw) as { nonce: string; box: string };
        const body = JSON.parse(
          Buffer.from(sodium.crypto_box_open_easy(Buffer.from(env.box, 'base64'), Buffer.from(env.nonce, 'base64'), feKey, factory.privateKey)).toString(),
        ) as { id: string; credentials: { entry: string; type: string; version: number }[] };
        bodies.push(body);
        res.end(
          JSON.stringify({ id: body.id, results: body.credentials.map((c) => ({ entry: c.entry, type: c.type, version: c.version, result: 'stored' })) }),
        );
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(
        (
          await admin.post('/factories', {
            name: 'old',
            url,
            apiKey: `gk_${'0'.repeat(16)}_${'A'.repeat(43)}`,
            publicKey: Buffer.from(factory.publicKey).toString('base64'),
          })
        ).status,
      ).toBe(201);
      expect((await admin.post('/sites', { name: 'S1' })).status).toBe(201);
      expect((await admin.post('/factories/old/sync')).json.delivery.delivered).toBe(1);
      expect(bodies).toHaveLength(1);
      expect(Object.keys((bodies[0].credentials as object[])[0]).sort()).toEqual(['entry', 'expiresAt', 'type', 'value', 'version']);
    } finally {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
      await t.close();
    }
  });
});
