import { Pair, until } from './pair.js';

/**
 * Issue 12 with failures: every replacement and withdrawal survives the factory being down during
 * the change, and the frontend SIGKILLed right after it (the factory down too, so nothing can have
 * gone out before the kill). Nothing is lost; no glidein is ever served the revoked or withdrawn one.
 */
/** Defines the suite; `only` picks the failure it exercises (one per file, so the two run in parallel). */
export function lifecycleFailures(only: 'factory-down' | 'frontend-killed'): void {
  describe(`renewals and withdrawals across a failure: ${only}`, () => {
    const p = new Pair();
    const old = new Map<string, string>();
    const sci = new Map<string, string>();
    const ENTRIES: [string, string, string][] = [
      // entry, site, trust domain (one SciToken per scenario)
      ['CE_j1', 'SiteJ1', 'OSG'],
      ['CE_s1', 'SiteS1', 'OSG'],
      ['CE_d1', 'SiteD1', 'OSG'],
      ['CE_j2', 'SiteJ2', 'CMS'],
      ['CE_s2', 'SiteS2', 'CMS'],
      ['CE_d2', 'SiteD2', 'CMS'],
      ['CE_m2', 'SiteM2', 'CMS'],
    ];
    /** A test of this file's failure; the other file defines the others. */
    const when = (kind: typeof only) => (kind === only ? it : () => undefined) as (name: string, fn: () => Promise<void>) => void;
    const jtiOf = async (token: string) => (await p.verify(token)).claims;

    beforeAll(async () => {
      await p.start();
      for (const [entry, site, td] of ENTRIES) {
        await p.putEntry(entry, site, { trustDomain: td, glideinScitoken: true });
        expect((await p.feApi().post('/sites', { name: site })).status).toBe(201);
      }
      for (const [name, td] of [
        ['sci-osg', 'OSG'],
        ['sci-cms', 'CMS'],
      ]) {
        const token = await p.sciToken(48);
        sci.set(name, token);
        expect((await p.feApi().put(`/scitokens/${name}`, { token, trustDomain: td })).status).toBe(201);
      }
      for (const [entry] of ENTRIES) {
        old.set(entry, await p.arrivedOther(entry, undefined, 20_000));
        await until(`${entry}'s SciToken`, async () => ((await p.cacheRow(entry, 'scitoken'))?.state === 'valid' ? true : undefined), 20_000);
      }
    });
    afterAll(() => p.stop());

    /** Revokes SiteJ<n>'s current token by jti and SiteS<n>'s identity by subject, deletes SiteD<n> and the scenario's SciToken. */
    async function changes(n: 1 | 2): Promise<void> {
      expect((await p.feApi().post(`/tokens/${(await jtiOf(old.get(`CE_j${n}`)!)).jti}/revoke`)).status).toBe(200);
      expect((await p.feApi().post('/revocations/subjects', { subject: (await jtiOf(old.get(`CE_s${n}`)!)).sub })).status).toBe(200);
      expect((await p.feApi().del(`/sites/SiteD${n}`)).status).toBe(204);
      expect((await p.feApi().del(`/scitokens/${n === 1 ? 'sci-osg' : 'sci-cms'}`)).status).toBe(204);
    }

    /** After the change: new tokens for J and S that verify and that tickets fetch; D's token and the SciToken withdrawn, tickets 410. */
    async function expectArrived(n: 1 | 2, mark: number): Promise<void> {
      for (const e of [`CE_j${n}`, `CE_s${n}`]) {
        const fresh = await p.arrivedOther(e, old.get(e));
        expect([e, (await p.verify(fresh)).valid]).toEqual([e, true]);
        expect([e, (await p.verify(old.get(e)!)).reason]).toEqual([e, 'REVOKED']);
        await p.withdrawn(e, 'scitoken');
        // Its glideins need the SciToken, which is withdrawn: refused, not served the old one.
        const r = await p.fetchWith((await p.tickets(e))[0]);
        expect([e, r.status, r.json.error?.code]).toEqual([e, 410, 'CREDENTIAL_WITHDRAWN']);
      }
      expect(await p.withdrawn(`CE_d${n}`, 'idtoken')).toMatchObject({ reason: 'SITE_DELETED' });
      const r = await p.fetchWith((await p.tickets(`CE_d${n}`))[0]);
      expect([r.status, r.json.error.code]).toEqual([410, 'CREDENTIAL_WITHDRAWN']);
      for (const [e] of ENTRIES.filter(([e]) => e.endsWith(String(n)))) p.expectNeverServed(old.get(e)!, mark);
      p.expectNeverServed(sci.get(n === 1 ? 'sci-osg' : 'sci-cms')!, mark);
      await until('the outbox to drain', async () => ((await p.deliveries('&state=pending')).length === 0 ? true : undefined));
    }

    when('factory-down')('the factory down during the changes, then back: every replacement and withdrawal arrives', async () => {
      const mark = p.answers.length;
      await p.fa.stop('SIGTERM');
      await changes(1);
      const pending = await until('the sends to fail and wait', async () => {
        const rows = (await p.deliveries('&state=pending')).filter((d) => d.entry.endsWith('1'));
        return rows.length === 6 && rows.every((d) => d.lastError === 'UNREACHABLE') ? rows : undefined;
      });
      expect(pending.map((d) => [d.entry, d.type, d.kind]).sort()).toEqual([
        ['CE_d1', 'idtoken', 'withdrawal'],
        ['CE_d1', 'scitoken', 'withdrawal'],
        ['CE_j1', 'idtoken', 'credential'],
        ['CE_j1', 'scitoken', 'withdrawal'],
        ['CE_s1', 'idtoken', 'credential'],
        ['CE_s1', 'scitoken', 'withdrawal'],
      ]);
      await p.restartFactory();
      await expectArrived(1, mark);
    });

    when('frontend-killed')('the frontend SIGKILLed right after the changes: after its restart every replacement and withdrawal arrives', async () => {
      const mark = p.answers.length;
      await p.fa.stop('SIGTERM');
      await changes(2);
      await p.fe.stop('SIGKILL');
      await p.restartFactory();
      // The factory still holds the old ones: the only process that knew of the change is dead.
      expect((await p.cacheRow('CE_d2', 'idtoken'))?.state).toBe('valid');
      await p.restartFrontend();
      await expectArrived(2, mark);
    });

    when('frontend-killed')('an entry that stops matching, the frontend SIGKILLed right after: the withdrawal still arrives', async () => {
      const mark = p.answers.length;
      await p.putEntry('CE_m2', 'SiteM2', { trustDomain: 'CMS', condorVersion: '8.8.15' });
      await p.fe.stop('SIGKILL');
      await p.restartFrontend();
      expect(await p.withdrawn('CE_m2', 'idtoken')).toMatchObject({ reason: 'NO_LONGER_MATCHES' });
      const r = await p.fetchWith((await p.tickets('CE_m2'))[0]);
      expect([r.status, r.json.error.code]).toEqual([410, 'CREDENTIAL_WITHDRAWN']);
      p.expectNeverServed(old.get('CE_m2')!, mark);
    });
  });
}
