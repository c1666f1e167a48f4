import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DelivererService } from '../../src/forwarding/deliverer.service.js';
import { Delivery } from '../../src/forwarding/delivery.entity.js';
import { WithdrawnCredential } from '../../src/factory/withdrawn-credential.entity.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { VoIssuer } from '../support/fixtures.js';
import { fetchCredentials, renew, seedCache } from '../support/glidein.js';
import { client, removeDir, tempDir } from '../support/service.js';

const ISSUER = 'https://vo-issuer.example.org';
const entry = (site: string, over: Record<string, unknown> = {}) => ({
  site,
  gatekeeper: 'ce.example.org:9619',
  trustDomain: 'OSG',
  authMethod: 'grid_proxy,scitoken',
  condorVersion: '23.0.3',
  ...over,
});

/**
 * One process with both roles registers itself as its own factory (as two hosts would), so every
 * change is seen from both ends: the frontend's outbox and the factory's cache.
 */
describe.each(ENGINES)('registrations with a life on %s', (engine) => {
  let t: TestApp;
  let cacheDir: string;
  let api: ReturnType<typeof client>;
  let fe: { name: string; publicKey: string };
  let faPublicKey: string;
  let feApiKey: string;
  const count = async (sql: string): Promise<number> => Number((await t.db.dataSource.query(sql))[0].n);
  const drain = () => t.app.get(DelivererService).drain();
  const fileOf = (e: string, type: string) => join(cacheDir, `user_${fe.name}`, 'glidein_gfactory_instance', `credential_${fe.name}.main_${e}.${type}`);

  beforeAll(async () => {
    cacheDir = tempDir('glidekey-reg-cache-');
    t = await startTestApp({ engine, env: { GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
    api = client(t.api, t.adminKey);
    fe = (await api.get('/frontend/identity')).json;
    faPublicKey = (await api.get('/factory/identity')).json.publicKey;
    const reg = await api.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey });
    expect(reg.status).toBe(201);
    feApiKey = reg.json.apiKey;
    expect((await api.put('/factory/entries/E1', entry('Nebraska'))).status).toBe(201);
    expect((await api.post('/sites', { name: 'Nebraska' })).status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    removeDir(cacheDir);
  });

  it('PATCH /factories: a new URL is used by the next sync, a new pinned key seals the next envelope; audited with old and new, never the key', async () => {
    // Registered at a dead port and with a wrong pinned key: nothing can arrive.
    const wrongKey = randomBytes(32).toString('base64');
    expect((await api.post('/factories', { name: 'moving', url: 'http://127.0.0.1:1', apiKey: feApiKey, publicKey: wrongKey })).status).toBe(201);
    expect((await api.post('/factories/moving/sync')).json).toMatchObject({ entries: null, error: expect.stringMatching(/^UNREACHABLE/) });

    const moved = await api.patch('/factories/moving', { url: `${t.url}/` });
    expect([moved.status, moved.json.url, moved.json.publicKey]).toEqual([200, t.url, wrongKey]);
    const synced = await api.post('/factories/moving/sync');
    expect(synced.json).toMatchObject({ entries: 1, queued: 1, error: null, delivery: { delivered: 0, failed: 1 } });
    const [pending] = (await api.get('/deliveries?factory=moving')).json;
    expect(pending).toMatchObject({ state: 'pending', attempts: 1 });

    // Re-pinned: the pending row is due at once and its envelope is sealed to the factory's real key.
    const repinned = await api.patch('/factories/moving', { publicKey: faPublicKey });
    expect([repinned.status, repinned.json.publicKey]).toEqual([200, faPublicKey]);
    expect(await drain()).toMatchObject({ delivered: 1, failed: 0 });
    expect((await api.get('/factory/cache?entry=E1')).json).toEqual(
      expect.arrayContaining([expect.objectContaining({ frontend: fe.name, type: 'idtoken', state: 'valid' })]),
    );
    expect(existsSync(fileOf('E1', 'idtoken'))).toBe(true);
    // The identity it accepted is recorded, and forgotten when the URL changes (it may be another glidekey).
    const accepted = async () => (await t.db.dataSource.query(`SELECT accepted_identity_key AS k FROM factories WHERE name = 'moving'`))[0].k;
    expect(await accepted()).toBe(fe.publicKey);
    expect((await api.patch('/factories/moving', { url: `http://localhost:${new URL(t.url).port}`, apiKey: feApiKey })).status).toBe(200);
    expect(await accepted()).toBeNull();

    const audit = (await api.get('/audit?action=factory.update&limit=10')).json.entries;
    const details = audit.map((e: { detail: Record<string, unknown> }) => e.detail);
    expect(details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ changed: ['url'], url: { from: 'http://127.0.0.1:1', to: t.url } }),
        expect.objectContaining({ changed: ['publicKey'], fingerprint: { from: expect.stringMatching(/^[0-9a-f:]{95}$/), to: repinned.json.fingerprint } }),
      ]),
    );
    expect(JSON.stringify(audit)).not.toContain(feApiKey.slice(20));
  });

  it('a rotated frontend API key: the old one is refused at once, and PATCH /factories re-seals the new one', async () => {
    const rotated = await api.patch(`/factory/frontends/${fe.name}`, { rotateApiKey: true });
    expect(rotated.status).toBe(200);
    const newKey = rotated.json.apiKey as string;
    expect(newKey).toMatch(/^gk_[0-9a-f]{16}_/);
    expect(rotated.json.apiKeyId).toBe(newKey.slice(3, 19));
    expect((await client(t.api, feApiKey).get('/factory/entries')).status).toBe(401);
    expect((await client(t.api, newKey).get('/factory/entries')).status).toBe(200);
    // Never shown again: not in the list, not in the audit.
    expect((await api.get('/factory/frontends')).text).not.toContain(newKey.slice(20));
    expect((await api.get('/audit?limit=200')).text).not.toContain(newKey.slice(20));

    // The frontend still holds the old key: its sync is refused until its admin gives it the new one.
    expect((await api.post('/factories/moving/sync')).json.error).toMatch(/401|UNAUTHENTICATED|refused/i);
    const before = (await t.db.dataSource.query(`SELECT sealed_api_key FROM factories WHERE name = 'moving'`))[0].sealed_api_key;
    const patched = await api.patch('/factories/moving', { apiKey: newKey });
    expect(patched.status).toBe(200);
    expect(patched.text).not.toContain(newKey.slice(20));
    const after = (await t.db.dataSource.query(`SELECT sealed_api_key FROM factories WHERE name = 'moving'`))[0].sealed_api_key;
    expect([after === before, after.startsWith('v1:'), after.includes(newKey.slice(20))]).toEqual([false, true, false]);
    expect((await api.post('/factories/moving/sync')).json).toMatchObject({ entries: 1, error: null });
    feApiKey = newKey;
  });

  it('bad input to PATCH /factories is a 400 that changes nothing; an unknown name is a 404; http:// off loopback is refused unless allowed', async () => {
    const before = (await api.get('/factories')).json;
    for (const [body, code] of [
      [{}, 'VALIDATION_FAILED'],
      [{ url: 'ftp://factory.example.org' }, 'VALIDATION_FAILED'],
      [{ url: 'http://factory.example.org:8080' }, 'FACTORY_URL_INSECURE'],
      [{ url: 'https://factory.example.org', apiKey: 'nope' }, 'VALIDATION_FAILED'],
      [{ publicKey: 'short' }, 'VALIDATION_FAILED'],
      [{ url: 'https://factory.example.org', extra: 1 }, 'UNKNOWN_FIELD'],
      // Another host without its API key: the old factory's key is never sent there.
      [{ url: 'https://factory.example.org' }, 'VALIDATION_FAILED'],
    ] as const) {
      const res = await api.patch('/factories/moving', body);
      expect([JSON.stringify(body), res.status, res.json.error.code]).toEqual([JSON.stringify(body), 400, code]);
    }
    expect((await api.get('/factories')).json).toEqual(before);
    // An admin's change based on a stale read is refused, and changes nothing.
    const at = before[0].rowVersion as number;
    const stale = await api.patch('/factories/moving', { url: 'https://factory.example.org', rowVersion: at - 1 });
    expect([stale.status, stale.json.error.code]).toEqual([409, 'STALE_VERSION']);
    expect((await api.get('/factories')).json).toEqual(before);
    const fresh = await api.patch('/factories/moving', { url: t.url, apiKey: feApiKey, rowVersion: at });
    expect([fresh.status, fresh.json.rowVersion]).toEqual([200, at + 1]);
    const unknown = await api.patch('/factories/nowhere', { url: 'https://factory.example.org' });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'FACTORY_NOT_FOUND']);
    const insecure = await api.post('/factories', { name: 'plain', url: 'http://factory.example.org', apiKey: feApiKey, publicKey: faPublicKey });
    expect([insecure.status, insecure.json.error.code, insecure.json.error.field]).toEqual([400, 'FACTORY_URL_INSECURE', 'url']);
    expect((await api.get('/factories')).json.map((f: { name: string }) => f.name)).toEqual(['moving']);
    expect((await api.post('/factories', { name: 'loop', url: 'http://localhost:1', apiKey: feApiKey, publicKey: faPublicKey })).status).toBe(201);
    expect((await api.del('/factories/loop')).status).toBe(204);
  });

  it('DELETE /factories removes the factory, its outbox and its last-seen entries, and nothing else; nothing is sent to it afterwards', async () => {
    expect((await api.post('/factories', { name: 'other', url: t.url, apiKey: feApiKey, publicKey: faPublicKey })).status).toBe(201);
    expect((await api.post('/factories/other/sync')).json).toMatchObject({ entries: 1, error: null });
    const of = (f: string) =>
      Promise.all([
        count(`SELECT COUNT(*) AS n FROM deliveries WHERE factory = '${f}'`),
        count(`SELECT COUNT(*) AS n FROM factory_entries_seen WHERE factory = '${f}'`),
      ]);
    expect((await of('moving')).every((n) => n > 0)).toBe(true);
    const otherBefore = await of('other');

    expect((await api.del('/factories/moving')).status).toBe(204);
    expect(await of('moving')).toEqual([0, 0]);
    expect(await of('other')).toEqual(otherBefore);
    expect((await api.get('/factories')).json.map((f: { name: string }) => f.name)).toEqual(['other']);
    expect((await api.post('/factories/moving/sync')).json.error.code).toBe('FACTORY_NOT_FOUND');
    const audit = (await api.get('/audit?action=factory.delete&limit=1')).json.entries[0];
    expect(audit).toMatchObject({ target: 'factory:moving', result: 'success', detail: { url: t.url, entries: 1 } });

    // A new token for the site goes to the remaining factory only.
    expect((await api.post('/sites/Nebraska/rotate', { graceSeconds: 0 })).status).toBe(200);
    await drain();
    expect(await of('moving')).toEqual([0, 0]);
    expect((await api.get('/deliveries?factory=other')).json.map((d: { state: string }) => d.state)).toEqual(['delivered', 'delivered']);

    // A row a writer queued while the delete ran: the deliverer discards it, sends nothing, audits nothing against the factory.
    const now = t.clock.now();
    await t.db.tx((m) =>
      m.insert(Delivery, {
        id: randomUUID(),
        factory: 'moving',
        entry: 'E1',
        type: 'idtoken',
        kind: 'withdrawal',
        reason: 'SITE_DELETED',
        source: 'Nebraska',
        sourceRef: 'x',
        keyId: null,
        version: 99,
        expiresAt: now + 3_600_000,
        sealedValue: null,
        state: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
        createdAt: now,
        updatedAt: now,
        deliveredAt: null,
      }),
    );
    expect(await drain()).toMatchObject({ delivered: 0, failed: 0 });
    expect(await of('moving')).toEqual([0, 0]);
    expect(
      (await api.get('/audit?limit=20')).json.entries.filter(
        (e: { action: string; target: string }) => e.target === 'factory:moving' && e.action.startsWith('delivery.'),
      ),
    ).toEqual([]);
    expect((await api.del('/factories/moving')).json.error.code).toBe('FACTORY_NOT_FOUND');
  });

  it('DELETE /scitoken-issuers: its stored SciTokens read invalid and are withdrawn from the factory, not forwarded', async () => {
    const vo = new VoIssuer(ISSUER);
    expect((await vo.register(api)).status).toBe(201);
    const now = Math.floor(Date.now() / 1000);
    const token = await vo.sign({
      sub: 'vo-pilot',
      aud: 'https://wlcg.cern.ch/jwt/v1/any',
      scope: 'compute.create',
      iat: now,
      nbf: now,
      exp: now + 86_400,
      'wlcg.ver': '1.0',
      jti: 'j1',
    });
    expect((await api.put('/scitokens/vo-pilot', { token, trustDomain: 'OSG' })).status).toBe(201);
    await api.post('/factories/other/sync');
    expect((await api.get('/factory/cache?entry=E1')).json).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'scitoken', state: 'valid' })]));
    expect(existsSync(fileOf('E1', 'scitoken'))).toBe(true);

    expect((await api.del('/scitoken-issuers/vo')).status).toBe(204);
    expect((await api.get('/scitokens/vo-pilot')).json).toMatchObject({ state: 'invalid', reason: 'SCITOKEN_UNKNOWN_ISSUER' });
    const latest = (await api.get('/deliveries?factory=other&entry=E1')).json.filter((d: { type: string }) => d.type === 'scitoken')[0];
    expect(latest).toMatchObject({ kind: 'withdrawal', reason: 'SCITOKEN_REVOKED' });
    await drain();
    expect((await api.get('/factory/cache?entry=E1')).json).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'scitoken', state: 'withdrawn' })]),
    );
    expect(existsSync(fileOf('E1', 'scitoken'))).toBe(false);
    // A sync queues it no more, and the factories list says why.
    expect((await api.post('/factories/other/sync')).json).toMatchObject({ queued: 0 });
    expect((await api.get('/factories')).json[0].entries[0].scitoken).toMatchObject({ send: false });
    const audit = (await api.get('/audit?action=scitoken-issuer.delete&limit=1')).json.entries[0];
    expect(audit).toMatchObject({ target: 'issuer:vo', detail: { issuer: ISSUER, storedTokens: 1, withdrawnFromFactoryEntries: 1 } });
    expect((await api.del('/scitoken-issuers/vo')).json.error.code).toBe('ISSUER_NOT_FOUND');
  });

  it('PATCH /factory/frontends re-pins the public key: envelopes sealed with the old one are refused; bad input 400, unknown 404', async () => {
    const other = Buffer.alloc(32, 3).toString('base64');
    expect((await api.post('/factory/frontends', { name: 'keep-fe', publicKey: other })).status).toBe(201);
    const taken = await api.patch(`/factory/frontends/${fe.name}`, { publicKey: other });
    expect([taken.status, taken.json.error.code]).toEqual([409, 'FRONTEND_EXISTS']);
    for (const body of [{}, { rotateApiKey: false }, { rotateApiKey: 'true' }, { publicKey: 'short' }, { publicKey: fe.publicKey, extra: 1 }]) {
      expect([JSON.stringify(body), (await api.patch(`/factory/frontends/${fe.name}`, body)).status]).toEqual([JSON.stringify(body), 400]);
    }
    expect((await api.patch('/factory/frontends/nobody', { rotateApiKey: true })).json.error.code).toBe('FRONTEND_NOT_FOUND');
    expect(
      (await api.get('/apikeys')).json.filter((k: { name: string; revokedAt: string | null }) => k.name === `frontend:${fe.name}` && !k.revokedAt),
    ).toHaveLength(1);

    const repinned = await api.patch(`/factory/frontends/${fe.name}`, { publicKey: Buffer.alloc(32, 4).toString('base64') });
    expect(repinned.status).toBe(200);
    expect((await api.post('/sites/Nebraska/rotate', { graceSeconds: 0 })).status).toBe(200);
    expect(await drain()).toMatchObject({ delivered: 0, failed: 1 });
    expect((await api.get('/deliveries?factory=other&state=pending')).json[0].lastError).toBe('ENVELOPE_UNKNOWN_SENDER');
    const audit = (await api.get('/audit?action=factory.frontend.update&limit=1')).json.entries[0];
    expect(audit.detail.fingerprint).toEqual({ from: expect.any(String), to: repinned.json.fingerprint });

    // Pinned back (out of band, the real key): the pending row is taken.
    expect((await api.patch(`/factory/frontends/${fe.name}`, { publicKey: fe.publicKey })).status).toBe(200);
    await t.db.tx((m) => m.update(Delivery, { factory: 'other', state: 'pending' }, { nextAttemptAt: t.clock.now() }));
    expect(await drain()).toMatchObject({ delivered: 1 });
  });

  it('DELETE /factory/frontends removes the frontend, its API key, cached credentials and files, tombstones, tickets and renewals; nothing of another frontend', async () => {
    // What the frontend leaves behind: a used ticket (and its glidein's renewal), an unused one, a tombstone.
    const [used, unused] = (await api.post('/factory/entries/E1/tickets', { frontend: fe.name, count: 2 })).json.tickets as string[];
    const boot = await fetchCredentials(t, used);
    expect(boot.status).toBe(200);
    const renewal = boot.json.renewal as string;
    await t.db.tx((m) =>
      m.insert(WithdrawnCredential, {
        frontend: fe.name,
        entry: 'E0',
        type: 'idtoken',
        version: 1,
        reason: 'SITE_DELETED',
        withdrawnAt: t.clock.now(),
        envelopeId: randomUUID(),
      }),
    );
    // Another frontend's cache, ticket and tombstone, which must stay.
    await seedCache(t, { frontend: 'keep-fe', entry: 'E1', type: 'idtoken', value: 'keep', expiresAt: t.clock.now() + 3_600_000 });
    await t.db.tx((m) =>
      m.insert(WithdrawnCredential, {
        frontend: 'keep-fe',
        entry: 'E0',
        type: 'idtoken',
        version: 1,
        reason: 'SITE_DELETED',
        withdrawnAt: t.clock.now(),
        envelopeId: randomUUID(),
      }),
    );
    const keepTicket = (await api.post('/factory/entries/E1/tickets', { frontend: 'keep-fe', count: 1 })).json.tickets[0] as string;
    const of = (f: string) =>
      Promise.all(
        ['cached_credentials', 'withdrawn_credentials', 'glidein_tickets', 'glidein_renewals', 'registered_frontends'].map((tb) =>
          count(`SELECT COUNT(*) AS n FROM ${tb} WHERE ${tb === 'registered_frontends' ? 'name' : 'frontend'} = '${f}'`),
        ),
      );
    const [credentials, withdrawn, tickets, renewals] = await of(fe.name);
    expect([credentials, withdrawn, tickets, renewals].every((n) => n > 0)).toBe(true);
    const keepBefore = await of('keep-fe');
    await t.db.dataSource.query(
      `INSERT INTO retired_frontend_keys (frontend, public_key, successor_key, retired_at) VALUES ('${fe.name}', '${Buffer.alloc(32, 5).toString('base64')}', '${fe.publicKey}', 1)`,
    );
    const envelopes = await count(`SELECT COUNT(*) AS n FROM seen_envelopes`);
    expect(existsSync(fileOf('E1', 'idtoken'))).toBe(true);

    expect((await api.del(`/factory/frontends/${fe.name}`)).status).toBe(204);
    expect(await of(fe.name)).toEqual([0, 0, 0, 0, 0]);
    expect(existsSync(fileOf('E1', 'idtoken'))).toBe(false);
    expect(await of('keep-fe')).toEqual(keepBefore);
    expect(await count(`SELECT COUNT(*) AS n FROM seen_envelopes`)).toBe(envelopes);
    expect(await count(`SELECT COUNT(*) AS n FROM retired_frontend_keys WHERE frontend = '${fe.name}'`)).toBe(1);
    expect((await fetchCredentials(t, unused)).json.error.code).toBe('TICKET_INVALID');
    expect((await renew(t, renewal)).json.error.code).toBe('RENEWAL_INVALID');
    expect((await client(t.api, feApiKey).get('/factory/entries')).status).toBe(401);
    expect((await fetchCredentials(t, keepTicket)).status).toBe(200);
    const keys = (await api.get('/apikeys')).json as { name: string; revokedAt: string | null }[];
    expect(keys.filter((k) => k.name.endsWith(`frontend:${fe.name}`)).every((k) => k.revokedAt !== null)).toBe(true);
    const audit = (await api.get('/audit?action=factory.frontend.delete&limit=1')).json.entries[0];
    expect(audit).toMatchObject({ target: `frontend:${fe.name}`, detail: { credentials, withdrawn, tickets, unusedTickets: 1, renewals } });

    // Nothing the frontend sends lands any more; it can be registered again under the same name.
    expect((await api.post('/sites/Nebraska/rotate', { graceSeconds: 0 })).status).toBe(200);
    expect(await drain()).toMatchObject({ delivered: 0, failed: 1 });
    expect((await api.del(`/factory/frontends/${fe.name}`)).json.error.code).toBe('FRONTEND_NOT_FOUND');
    expect((await api.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey })).status).toBe(201);
  });
});
