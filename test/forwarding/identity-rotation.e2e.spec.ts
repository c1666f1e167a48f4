import { client, freePort, removeDir, Service, startService } from '../support/service.js';
import { entryBody, FRONTEND, JWT, Pair, until } from '../support/pair.js';

/**
 * A frontend identity rotation between real processes: the frontend rotates while credentials
 * flow to two factories, one of them down. Every credential still arrives; the factory that is up
 * follows at once (re-pin audited with both fingerprints), the other when it comes back; only then
 * is the previous key dropped, and credentials keep flowing in plain envelopes after it.
 */
describe('rotating the frontend identity while deliveries flow', () => {
  const p = new Pair();
  let fa2: Service;
  let fa2Port: number;
  const fa2Api = () => client(fa2.api, fa2.adminKey);
  const audit = async (api: ReturnType<typeof client>, action: string) =>
    (await api.get(`/audit?action=${action}&limit=100`)).json.entries as { detail: Record<string, unknown>; target: string; result: string }[];
  const pinnedAt = async (api: ReturnType<typeof client>) =>
    ((await api.get('/factory/frontends')).json as { name: string; fingerprint: string }[]).find((f) => f.name === FRONTEND)!.fingerprint;
  const validAt = (api: () => ReturnType<typeof client>, entry: string) =>
    until(
      `a valid idtoken for ${entry}`,
      async () => {
        const rows = (await api().get(`/factory/cache?entry=${entry}`)).json as { type: string; state: string; version: number }[];
        const row = rows.find((r) => r.type === 'idtoken');
        return row?.state === 'valid' ? row : undefined;
      },
      30_000,
    );
  const sites = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  /** Creates sites and their entries at both factories. */
  async function addSites(names: string[]): Promise<void> {
    for (const s of names) {
      await p.putEntry(`CE_${s}`, s);
      expect((await fa2Api().put(`/factory/entries/CE2_${s}`, entryBody(s))).status).toBeLessThan(300);
    }
    await Promise.all(names.map(async (s) => expect((await p.feApi().post('/sites', { name: s })).status).toBe(201)));
  }

  beforeAll(async () => {
    await p.start();
    fa2Port = await freePort();
    fa2 = await startService({ env: { GLIDEKEY_ROLES: 'factory' }, port: fa2Port });
    p.all.push(fa2);
    await p.register('factory-2', fa2, fa2.adminKey);
  });
  afterAll(async () => {
    await fa2?.stop();
    await p.stop();
    removeDir(fa2.dataDir);
  });

  it('every credential arrives; each factory follows with its next envelope; the previous key goes once both have', async () => {
    const before = (await client(p.fe.api).get('/frontend/identity')).json;
    expect(await pinnedAt(p.faApi())).toBe(before.fingerprint);
    await addSites(sites('Pre', 3));
    for (const s of sites('Pre', 3)) await Promise.all([validAt(p.faApi, `CE_${s}`), validAt(fa2Api, `CE2_${s}`)]);

    // factory-2 goes down; the frontend rotates in the middle of a burst of new credentials.
    await fa2.stop();
    const burst = sites('Mid', 6);
    for (const s of burst) {
      await p.putEntry(`CE_${s}`, s);
    }
    const created = burst.map(async (s, i) => {
      await new Promise((r) => setTimeout(r, i * 150));
      expect((await p.feApi().post('/sites', { name: s })).status).toBe(201);
    });
    await new Promise((r) => setTimeout(r, 300));
    const rotated = await p.feApi().post('/frontend/identity/rotate');
    await Promise.all(created);
    expect([rotated.status, rotated.json.previousFingerprint]).toEqual([200, before.fingerprint]);
    const after = (await client(p.fe.api).get('/frontend/identity')).json;
    expect(after).toMatchObject({ fingerprint: rotated.json.fingerprint, previous: { fingerprint: before.fingerprint } });

    // factory-1 gets every credential, the ones sealed after the rotation included, and follows.
    for (const s of [...sites('Pre', 3), ...burst]) await validAt(p.faApi, `CE_${s}`);
    await until('factory-1 to re-pin', async () => ((await pinnedAt(p.faApi())) === rotated.json.fingerprint ? true : undefined), 30_000);
    const follows = await audit(p.faApi(), 'factory.frontend.key-follow');
    expect(follows).toEqual([
      expect.objectContaining({
        target: `frontend:${FRONTEND}`,
        result: 'success',
        detail: expect.objectContaining({ fromFingerprint: before.fingerprint, toFingerprint: rotated.json.fingerprint }),
      }),
    ]);
    expect((await audit(p.feApi(), 'delivery.identity.accepted')).map((a) => a.target)).toEqual(['factory:factory-1']);
    // factory-2 has not followed: the previous key stays.
    expect((await client(p.fe.api).get('/frontend/identity')).json.previous?.fingerprint).toBe(before.fingerprint);
    expect(await audit(p.feApi(), 'frontend.identity.previous-drop')).toEqual([]);

    // factory-2 comes back (still pinning the old key), takes what waited, follows, and the previous key is dropped.
    fa2 = await startService({ env: { GLIDEKEY_ROLES: 'factory' }, dataDir: fa2.dataDir, port: fa2Port });
    p.all.push(fa2);
    for (const s of burst) {
      expect((await fa2Api().put(`/factory/entries/CE2_${s}`, entryBody(s))).status).toBeLessThan(300);
    }
    for (const s of burst) await validAt(fa2Api, `CE2_${s}`);
    expect(await pinnedAt(fa2Api())).toBe(rotated.json.fingerprint);
    expect((await audit(fa2Api(), 'factory.frontend.key-follow'))[0].detail).toMatchObject({
      fromFingerprint: before.fingerprint,
      toFingerprint: rotated.json.fingerprint,
    });
    const dropped = await until('the previous key to be dropped', async () => {
      const lines = await audit(p.feApi(), 'frontend.identity.previous-drop');
      return lines.length ? lines : undefined;
    });
    expect(dropped).toEqual([expect.objectContaining({ detail: { fingerprint: before.fingerprint, reason: 'ALL_FOLLOWED', notFollowed: [] } })]);
    expect((await client(p.fe.api).get('/frontend/identity')).json).toEqual({ name: FRONTEND, publicKey: after.publicKey, fingerprint: after.fingerprint });

    // After the transition: credentials keep arriving at both, and no further follow happens.
    await addSites(['Post0']);
    await Promise.all([validAt(p.faApi, 'CE_Post0'), validAt(fa2Api, 'CE2_Post0')]);
    expect((await audit(p.faApi(), 'factory.frontend.key-follow')).length).toBe(1);
    expect((await p.deliveries()).filter((d) => d.state === 'refused')).toEqual([]);
    // No window where deliveries failed: neither factory refused an envelope at any point.
    for (const api of [p.faApi(), fa2Api()])
      expect((await api.get('/audit?action=factory.credentials.receive&result=failure&limit=100')).json.entries).toEqual([]);
    for (const svc of p.all) expect(svc.output().match(JWT)).toBeNull();
  });
});
