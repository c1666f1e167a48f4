import { Pair, until } from '../support/pair.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, freePort, removeDir, startService, tempDir } from '../support/service.js';

/**
 * Issue 12, renewal on revocation, at process level: revoking a site's current token (by jti, by a
 * subject rule) replaces it at once, and the replacement reaches the factory; a rule whose cutoff
 * lies ahead withdraws it instead; a factory registered afterwards never receives a revoked token.
 */
describe('renewal on revocation between a frontend process and a factory process', () => {
  const p = new Pair();
  const first = new Map<string, string>();

  beforeAll(async () => {
    await p.start();
    for (const [entry, site] of [
      ['CE_jti', 'SiteJ'],
      ['CE_sub', 'SiteS'],
      ['CE_ahead', 'SiteA'],
    ]) {
      await p.putEntry(entry, site);
      expect((await p.feApi().post('/sites', { name: site })).status).toBe(201);
    }
    for (const entry of ['CE_jti', 'CE_sub', 'CE_ahead']) first.set(entry, await p.arrivedOther(entry, undefined, 20_000));
  });
  afterAll(() => p.stop());

  it('by jti: GET /sites names a new jti at once, the factory holds it within seconds, it verifies, a new ticket fetches it, nothing serves the revoked one', async () => {
    const old = first.get('CE_jti')!;
    const oldJti = (await p.verify(old)).claims.jti;
    expect(await p.currentJti('SiteJ')).toBe(oldJti);
    const t0 = Date.now();
    expect((await p.feApi().post(`/tokens/${oldJti}/revoke`)).status).toBe(200);
    const newJti = await p.currentJti('SiteJ');
    expect([newJti === null, newJti === oldJti]).toEqual([false, false]);
    const fresh = await p.arrivedOther('CE_jti', old);
    expect((Date.now() - t0) / 1000).toBeLessThan(10);
    expect(await p.verify(fresh)).toMatchObject({ valid: true, site: 'SiteJ', claims: { jti: newJti } });
    expect(await p.verify(old)).toEqual({ valid: false, reason: 'REVOKED' });
    const [ticket] = await p.tickets('CE_jti');
    const got = await p.fetchWith(ticket);
    expect([got.status, got.json.idtoken === fresh]).toEqual([200, true]);
    p.expectNeverServed(old);
    const audit = (await p.feApi().get('/audit?action=token.renew&limit=20')).json.entries.find(
      (e: { target: string; detail: { jti: string } }) => e.detail.jti === newJti,
    );
    expect(audit).toMatchObject({ target: 'site:SiteJ', detail: { reason: 'revoked' } });
  });

  it('by subject, cutoff now: the replacement is issued after the cutoff second (iat > issuedBefore), so the rule does not cover it', async () => {
    const old = first.get('CE_sub')!;
    const subject = (await p.verify(old)).claims.sub;
    const res = await p.feApi().post('/revocations/subjects', { subject });
    expect(res.status).toBe(200);
    const fresh = await p.arrivedOther('CE_sub', old);
    const claims = await p.verify(fresh);
    expect([claims.valid, claims.claims.sub, claims.claims.iat > res.json.issuedBefore]).toEqual([true, subject, true]);
    expect(await p.verify(old)).toEqual({ valid: false, reason: 'REVOKED' });
    const got = await p.fetchWith((await p.tickets('CE_sub'))[0]);
    expect([got.status, got.json.idtoken === fresh]).toEqual([200, true]);
    p.expectNeverServed(old);
  });

  it('by subject, cutoff ahead: no replacement can be issued, so the token is withdrawn; tickets get 410 CREDENTIAL_WITHDRAWN', async () => {
    const old = first.get('CE_ahead')!;
    const subject = (await p.verify(old)).claims.sub;
    const ticket = (await p.tickets('CE_ahead'))[0];
    const issuedBefore = Math.floor(Date.now() / 1000) + 3600;
    expect((await p.feApi().post('/revocations/subjects', { subject, issuedBefore })).status).toBe(200);
    expect(await p.currentJti('SiteA')).toBeNull();
    const row = await p.withdrawn('CE_ahead', 'idtoken');
    expect(row).toMatchObject({ frontend: 'frontend.example.org', state: 'withdrawn', reason: 'TOKEN_REVOKED', fingerprint: null });
    const refused = await p.fetchWith(ticket);
    expect([refused.status, refused.json.error.code]).toEqual([410, 'CREDENTIAL_WITHDRAWN']);
    p.expectNeverServed(old);
    const audit = (await p.feApi().get('/audit?action=token.withdraw&limit=5')).json.entries[0];
    expect(audit).toMatchObject({ target: 'site:SiteA', detail: { reason: 'SUBJECT_REVOKED_AHEAD', issuedBefore } });
    // Ticks later, still nothing minted for the revoked identity.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await p.currentJti('SiteA')).toBeNull();
    expect((await p.deliveries('&entry=CE_ahead')).map((d) => [d.kind, d.state])[0]).toEqual(['withdrawal', 'delivered']);
  });

  it('a factory registered after the revocations never receives a revoked credential: only the replacement, or nothing', async () => {
    const port = await freePort();
    const dir2 = tempDir('glidekey-fa2-cache-');
    const fa2 = await startService({ env: { GLIDEKEY_ROLES: 'factory', GLIDEKEY_FACTORY_CACHE_DIR: dir2 }, port });
    p.all.push(fa2);
    try {
      const fa2Api = client(fa2.api, fa2.adminKey);
      for (const [entry, site] of [
        ['CE_jti', 'SiteJ'],
        ['CE_sub', 'SiteS'],
        ['CE_ahead', 'SiteA'],
      ])
        expect(
          (
            await fa2Api.put(`/factory/entries/${entry}`, {
              site,
              gatekeeper: 'ce.example.org:9619',
              trustDomain: 'OSG',
              authMethod: 'grid_proxy',
              condorVersion: '23.0.3',
            })
          ).status,
        ).toBe(201);
      await p.register('factory-2', fa2, fa2.adminKey);
      const rows = await until('factory-2 to be given what it should have', async () => {
        const r = (await p.deliveries('&factory=factory-2')).filter((d) => d.type === 'idtoken');
        return r.length === 2 && r.every((d) => d.state === 'delivered') ? r : undefined;
      });
      // One credential per entry that may have one, none at all for the withdrawn identity, never a revoked jti.
      expect(rows.map((d) => [d.entry, d.kind]).sort()).toEqual([
        ['CE_jti', 'credential'],
        ['CE_sub', 'credential'],
      ]);
      for (const entry of ['CE_jti', 'CE_sub']) {
        expect([entry, (await p.cacheRow(entry, 'idtoken', fa2Api))?.state]).toEqual([entry, 'valid']);
        const token = readFileSync(
          join(dir2, 'user_frontend.example.org', 'glidein_gfactory_instance', `credential_frontend.example.org.main_${entry}.idtoken`),
          'utf8',
        );
        // The replacement, exactly what the first factory now holds; not the revoked first token.
        expect([entry, (await p.verify(token)).valid, token === p.readCred(entry, 'idtoken'), token === first.get(entry)]).toEqual([entry, true, true, false]);
      }
      expect(await p.cacheRow('CE_ahead', 'idtoken', fa2Api)).toMatchObject({ state: 'missing' });
      // Its audit names every credential it ever stored: exactly one per entry, the ones above.
      const received = (await fa2Api.get('/audit?action=factory.credentials.receive&limit=50')).json.entries.flatMap(
        (e: { detail: { credentials: { entry: string }[] } }) => e.detail.credentials ?? [],
      );
      expect(received.map((c: { entry: string }) => c.entry).sort()).toEqual(['CE_jti', 'CE_sub']);
    } finally {
      await fa2.stop();
      removeDir(dir2);
    }
  });
});
