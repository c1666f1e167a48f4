import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

/** HTCondor's passwords.d scrambling, written here from the doc rather than taken from glidekey. */
const xor = (b: Buffer) => Buffer.from(b.map((x, i) => x ^ [0xde, 0xad, 0xbe, 0xef][i % 4]));

/**
 * The collector's check of a token, from the file as glidekey synced it: unscramble, POOL doubled,
 * HKDF-SHA256 (salt "htcondor", info "master jwt"), HS256 over header.payload.
 */
function collectorAccepts(token: string, file: Buffer, opts: { doublePool?: boolean } = {}): boolean {
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const raw = xor(file);
  const ikm = header.kid === 'POOL' && opts.doublePool !== false ? Buffer.concat([raw, raw]) : raw;
  const key = Buffer.from(hkdfSync('sha256', ikm, 'htcondor', 'master jwt', 32));
  return header.alg === 'HS256' && createHmac('sha256', key).update(`${h}.${p}`).digest('base64url') === s;
}

/** Everything a collector admin would notice about a file: bytes, inode, mode, mtime. */
function fileState(path: string) {
  const st = statSync(path);
  return { hex: readFileSync(path).toString('hex'), ino: st.ino, mode: st.mode, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

describe.each(ENGINES)('HTCondor names, short keys and foreign passwords.d files on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let dir: string;
  const manifest = () => JSON.parse(readFileSync(join(t.dataDir, 'passwords-dir.json'), 'utf8')).files as string[];
  const mint = async (site: string) => (await api.post(`/sites/${site}/tokens`, {})).json.token as string;
  const verify = async (token: string) => (await api.post('/tokens/verify', { token })).json;

  beforeAll(async () => {
    dir = tempDir('passwords.d-');
    t = await startTestApp({ engine, env: { GLIDEKEY_FRONTEND_PASSWORDS_DIR: dir } });
    api = client(t.api, t.adminKey);
  });
  afterAll(async () => {
    await t.close();
    removeDir(dir);
  });

  it('refuses names HTCondor hides (case-sensitively) and writes no file for them; accepts the upper-case forms it offers', async () => {
    for (const name of ['ce.sh', 'pilot.py', 'x.pl', 'x.dpkg-old', 'x.dpkg-dist', 'y.cfsaved', 'z.rpmsave', 'z.rpmnew']) {
      const res = await api.post('/sites', { name });
      expect([name, res.status, res.json.error.code, res.json.error.field]).toEqual([name, 400, 'SITE_NAME_HIDDEN_BY_CONDOR', 'name']);
      expect(res.json.error.message).toContain(`"${name.slice(name.indexOf('.'))}"`);
      expect(existsSync(join(dir, name))).toBe(false);
    }
    expect((await api.get('/sites')).json.map((s: { name: string }) => s.name)).toEqual([]);
    for (const name of ['ce.SH', 'pilot.Py']) {
      expect((await api.post('/sites', { name })).status).toBe(201);
      expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
      expect(collectorAccepts(await mint(name), readFileSync(join(dir, name)))).toBe(true);
    }
  });

  it('a site created under a hidden name before the rule existed can be read and deleted, not minted from or rotated', async () => {
    expect((await api.post('/sites', { name: 'legacy_sh' })).status).toBe(201);
    await t.db.tx(async (m) => {
      await m.query(`UPDATE sites SET name = 'legacy.sh' WHERE name = 'legacy_sh'`);
      await m.query(`UPDATE site_keys SET kid = 'legacy.sh' WHERE kid = 'legacy_sh'`);
    });
    expect((await api.get('/sites/legacy.sh')).status).toBe(200);
    for (const res of [await api.post('/sites/legacy.sh/tokens', {}), await api.post('/sites/legacy.sh/rotate', {})]) {
      expect([res.status, res.json.error.code]).toEqual([400, 'SITE_NAME_HIDDEN_BY_CONDOR']);
    }
    expect((await api.del('/sites/legacy.sh')).status).toBe(204);
    expect((await api.get('/sites/legacy.sh')).status).toBe(404);
    for (const f of ['legacy_sh', 'legacy.sh']) expect(existsSync(join(dir, f))).toBe(false);
  });

  describe('short imported keys', () => {
    const cases = [
      { site: 'one_raw', raw: Buffer.from([0x5a]), bytes: 1, format: 'raw' as const },
      { site: 'one_condor', raw: Buffer.from([0x00]), bytes: 1, format: 'condor' as const },
      { site: 'six_raw', raw: Buffer.from('s3cret'), bytes: 6, format: 'raw' as const },
      { site: 'six_condor', raw: Buffer.from('s3cret'), bytes: 6, format: 'condor' as const },
      { site: 'POOL', raw: Buffer.from('s3cret'), bytes: 6, format: 'condor' as const },
    ];

    it.each(cases)(
      '$site: a $format key of $bytes byte(s) imports with a KEY_SHORT warning, and its tokens pass an independent HMAC check of the synced file',
      async ({ site, raw, bytes, format }) => {
        const data = (format === 'condor' ? xor(raw) : raw).toString('base64');
        const res = await api.post('/sites', { name: site, key: { format, data } });
        expect(res.status).toBe(201);
        expect(raw.length).toBe(bytes);
        expect(res.json.key).toMatchObject({ length: raw.length, source: format });
        expect(res.json.warnings).toEqual([{ code: 'KEY_SHORT', message: expect.stringContaining(`${raw.length} byte`) }]);
        expect(res.text).not.toContain(data);
        const audit = (await api.get(`/audit?action=site.create&target=site:${site}`)).json.entries;
        expect(audit).toEqual([
          expect.objectContaining({ result: 'success', detail: expect.objectContaining({ keyLength: raw.length, warnings: ['KEY_SHORT'] }) }),
        ]);

        // The file glidekey synced holds exactly the imported bytes, scrambled.
        const file = readFileSync(join(dir, site));
        expect(xor(file).equals(raw)).toBe(true);
        expect(statSync(join(dir, site)).mode & 0o777).toBe(0o600);
        const token = await mint(site);
        expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid).toBe(site);
        expect(collectorAccepts(token, file)).toBe(true);
        expect((await verify(token)).valid).toBe(true);
        // The check can fail: another key, or POOL without its doubling, does not verify.
        expect(collectorAccepts(token, xor(Buffer.concat([raw, Buffer.from([1])])))).toBe(false);
        if (site === 'POOL') expect(collectorAccepts(token, file, { doublePool: false })).toBe(false);
      },
    );

    it('warns nothing for a 16-byte import or a generated key (64 random bytes)', async () => {
      const res = await api.post('/sites', { name: 'sixteen', key: { format: 'raw', data: randomBytes(16).toString('base64') } });
      expect([res.status, res.json.warnings, res.json.key.length]).toEqual([201, [], 16]);
      const gen = await api.post('/sites', { name: 'generated' });
      expect([gen.status, gen.json.warnings, gen.json.key.length, gen.json.key.source]).toEqual([201, [], 64, 'generated']);
      expect(readFileSync(join(dir, 'generated')).length).toBe(64);
      const audit = (await api.get('/audit?action=site.create&target=site:generated')).json.entries;
      expect(audit[0].detail.warnings).toBeUndefined();
    });

    it('glidekey deletes a POOL file it wrote itself (it is in its manifest)', async () => {
      expect(manifest()).toContain('POOL');
      expect((await api.del('/sites/POOL')).status).toBe(204);
      expect(existsSync(join(dir, 'POOL'))).toBe(false);
    });
  });

  describe.each([
    { label: "the collector's own POOL key (64 random bytes)", site: 'POOL', raw: randomBytes(64) },
    { label: 'an admin-installed site key (6 bytes)', site: 'ce_legacy', raw: Buffer.from('s3cret') },
  ])('a foreign file: $label', ({ site, raw }) => {
    let path: string;
    let before: ReturnType<typeof fileState>;

    beforeAll(() => {
      path = join(dir, site);
      writeFileSync(path, xor(raw), { mode: 0o600 });
      before = fileState(path);
    });

    it('importing its key creates the site, reports the file foreign and never adopts it', async () => {
      const res = await api.post('/sites', { name: site, key: { format: 'condor', data: readFileSync(path).toString('base64') } });
      expect(res.status).toBe(201);
      expect(manifest()).not.toContain(site);
      expect(fileState(path)).toEqual(before);
      // The tokens work at the collector, which holds this very key.
      const token = await mint(site);
      expect(collectorAccepts(token, readFileSync(path))).toBe(true);
      expect((await verify(token)).valid).toBe(true);
      expect(t.logs()).toContain(`leaving ${path} alone: not written by glidekey`);
    });

    it.each([0, 600])('refuses a rotation with grace %d (409 KEY_FILE_FOREIGN) and changes nothing', async (graceSeconds) => {
      const keys = (await api.get(`/sites/${site}`)).json.keys;
      const res = await api.post(`/sites/${site}/rotate`, { graceSeconds });
      expect([res.status, res.json.error.code]).toEqual([409, 'KEY_FILE_FOREIGN']);
      expect(res.json.error.message).toContain(`passwords.d/${site}`);
      expect((await api.get(`/sites/${site}`)).json.keys).toEqual(keys);
      expect(existsSync(join(dir, `${site}_v2`))).toBe(false);
      expect(fileState(path)).toEqual(before);
    });

    it('leaves the file alone through a scheduler-style resync, and after DELETE of the site', async () => {
      const { PasswordsDirService } = await import('../../src/passwords-dir/passwords-dir.service.js');
      const report = await t.app.get(PasswordsDirService).sync('tick');
      expect(report.foreign).toContain(site);
      expect([...report.written, ...report.repaired, ...report.removed]).not.toContain(site);
      expect((await api.del(`/sites/${site}`)).status).toBe(204);
      await t.app.get(PasswordsDirService).sync('tick');
      expect(fileState(path)).toEqual(before);
      expect(manifest()).not.toContain(site);
    });
  });

  it('a foreign file the admin removes is handed to glidekey: the next sync writes the same key, and rotation works', async () => {
    const { PasswordsDirService } = await import('../../src/passwords-dir/passwords-dir.service.js');
    const raw = randomBytes(64);
    const path = join(dir, 'handover');
    writeFileSync(path, xor(raw), { mode: 0o600 });
    expect((await api.post('/sites', { name: 'handover', key: { format: 'raw', data: raw.toString('base64') } })).status).toBe(201);
    expect((await api.post('/sites/handover/rotate', { graceSeconds: 0 })).json.error.code).toBe('KEY_FILE_FOREIGN');
    unlinkSync(path);
    const report = await t.app.get(PasswordsDirService).sync('tick');
    expect(report.written).toContain('handover');
    expect(xor(readFileSync(path)).equals(raw)).toBe(true);
    expect(manifest()).toContain('handover');
    expect((await api.post('/sites/handover/rotate', { graceSeconds: 0 })).status).toBe(200);
    expect(xor(readFileSync(path)).equals(raw)).toBe(false);
    expect(collectorAccepts(await mint('handover'), readFileSync(path))).toBe(true);
  });
});
