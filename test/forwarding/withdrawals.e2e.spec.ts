import { existsSync } from 'node:fs';
import { JWT, Pair, until } from '../support/pair.js';

/**
 * Issue 12, withdrawals end to end at process level: deleting a site, revoking (DELETE) a SciToken
 * and an entry that stops matching each take the credential back from the factory: its cache reads
 * `withdrawn`, the file is gone, and a glidein's ticket gets 410 CREDENTIAL_WITHDRAWN (and is not
 * used up: it works again once a new credential arrives).
 */
describe('withdrawals between a frontend process and a factory process', () => {
  const p = new Pair();
  const SCI = 'vo-pilot';
  let sciToken: string;

  beforeAll(async () => {
    await p.start();
    await p.putEntry('CE_del', 'SiteD');
    await p.putEntry('CE_sci', 'SiteK', { glideinScitoken: true });
    await p.putEntry('CE_match', 'SiteM');
    for (const site of ['SiteD', 'SiteK', 'SiteM']) expect((await p.feApi().post('/sites', { name: site })).status).toBe(201);
    sciToken = await p.sciToken(48);
    expect((await p.feApi().put(`/scitokens/${SCI}`, { token: sciToken, trustDomain: 'OSG' })).status).toBe(201);
    for (const e of ['CE_del', 'CE_sci', 'CE_match']) {
      await p.arrivedOther(e, undefined, 20_000);
      await until(`${e}'s SciToken`, async () => ((await p.cacheRow(e, 'scitoken'))?.state === 'valid' ? true : undefined));
    }
  });
  afterAll(() => p.stop());

  it('deleting a site withdraws its token: cache `withdrawn`, file gone, 410 with the ticket kept, which works again after a new token', async () => {
    const old = p.readCred('CE_del', 'idtoken')!;
    const [ticket, running] = await p.tickets('CE_del', 2);
    // A glidein already running, with its renewal credential.
    const boot = await p.fetchWith(running);
    expect([boot.status, typeof boot.json.renewal]).toEqual([200, 'string']);
    const mark = p.answers.length;
    const t0 = Date.now();
    expect((await p.feApi().del('/sites/SiteD')).status).toBe(204);
    const row = await p.withdrawn('CE_del', 'idtoken');
    expect((Date.now() - t0) / 1000).toBeLessThan(10);
    expect(row).toMatchObject({ state: 'withdrawn', reason: 'SITE_DELETED', withdrawnAt: expect.any(String), version: expect.any(Number) });
    const w = (await p.deliveries('&entry=CE_del&kind=withdrawal')).find((d) => d.type === 'idtoken')!;
    expect(w).toMatchObject({ kind: 'withdrawal', reason: 'SITE_DELETED', state: 'delivered', source: 'SiteD', version: row.version });
    const refused = await p.fetchWith(ticket);
    expect([refused.status, refused.json.error.code]).toEqual([410, 'CREDENTIAL_WITHDRAWN']);
    expect(refused.text).not.toMatch(JWT);
    // Its renewal is refused too, with the same code.
    const renew = await fetch(`${p.fa.api}/glidein/credentials/renew`, { method: 'POST', headers: { authorization: `Bearer ${boot.json.renewal}` } });
    const renewText = await renew.text();
    p.answers.push(renewText);
    expect([renew.status, JSON.parse(renewText).error.code]).toEqual([410, 'CREDENTIAL_WITHDRAWN']);
    // The same ticket, once the site is back and its new token arrived: not used up by the refusal.
    expect((await p.feApi().post('/sites', { name: 'SiteD' })).status).toBe(201);
    const fresh = await p.arrivedOther('CE_del', old);
    const again = await p.fetchWith(ticket);
    expect([again.status, again.json.idtoken === fresh]).toEqual([200, true]);
    p.expectNeverServed(old, mark);
    const metrics = await (await fetch(`${p.fa.url}/metrics`, { headers: { authorization: `Bearer ${p.fa.adminKey}` } })).text();
    expect(metrics).toMatch(/glidekey_factory_withdrawals_received_total\{type="idtoken",result="withdrawn"\} [1-9]/);
    expect(metrics).toMatch(/glidekey_ticket_fetches_refused_total\{reason="withdrawn",entry="CE_del"\} 1/);
  });

  it('revoking (DELETE) a SciToken withdraws it from every entry it went to; an entry whose glideins need it refuses tickets with 410', async () => {
    const [ticket] = await p.tickets('CE_sci');
    expect((await p.feApi().del(`/scitokens/${SCI}`)).status).toBe(204);
    for (const e of ['CE_del', 'CE_sci', 'CE_match'])
      expect(await p.withdrawn(e, 'scitoken')).toMatchObject({ state: 'withdrawn', reason: 'SCITOKEN_REVOKED' });
    const refused = await p.fetchWith(ticket);
    expect([refused.status, refused.json.error.code]).toEqual([410, 'CREDENTIAL_WITHDRAWN']);
    // An entry that does not hand SciTokens to glideins keeps working on its IDTOKEN.
    const ok = await p.fetchWith((await p.tickets('CE_match'))[0]);
    expect([ok.status, ok.json.scitoken]).toEqual([200, undefined]);
    p.expectNeverServed(sciToken);
    const frontendMetrics = await (await fetch(`${p.fe.url}/metrics`, { headers: { authorization: `Bearer ${p.fe.adminKey}` } })).text();
    expect(frontendMetrics).toMatch(/glidekey_withdrawals_acknowledged_total\{factory="factory-1",result="withdrawn"\} [1-9]/);
  });

  it('an entry that stops matching (its HTCondor too old for IDTOKENs, then synced) has its token withdrawn', async () => {
    const old = p.readCred('CE_match', 'idtoken')!;
    const mark = p.answers.length;
    const [ticket] = await p.tickets('CE_match');
    await p.putEntry('CE_match', 'SiteM', { condorVersion: '8.8.15' });
    expect((await p.feApi().post('/factories/factory-1/sync')).status).toBe(200);
    expect(await p.withdrawn('CE_match', 'idtoken')).toMatchObject({ reason: 'NO_LONGER_MATCHES' });
    expect(existsSync(p.fileOf('CE_match', 'idtoken'))).toBe(false);
    const refused = await p.fetchWith(ticket);
    expect([refused.status, refused.json.error.code]).toEqual([410, 'CREDENTIAL_WITHDRAWN']);
    // Matching again (its site changed to one of ours): a new version arrives, newer than the withdrawal.
    const tomb = (await p.cacheRow('CE_match', 'idtoken'))!;
    await p.putEntry('CE_match', 'SiteK', { condorVersion: '23.0.3' });
    const fresh = await p.arrivedOther('CE_match', old);
    expect(await p.verify(fresh)).toMatchObject({ valid: true, site: 'SiteK' });
    expect((await p.cacheRow('CE_match', 'idtoken'))!.version!).toBeGreaterThan(tomb.version!);
    p.expectNeverServed(old, mark);
  });

  it('a SciToken relabelled (another trust domain) is withdrawn at once from the entries it no longer matches', async () => {
    const token = await p.sciToken(30);
    expect((await p.feApi().put('/scitokens/vo-b', { token, trustDomain: 'OSG' })).status).toBe(201);
    await until('vo-b at CE_del', async () => ((await p.cacheRow('CE_del', 'scitoken'))?.state === 'valid' ? true : undefined));
    expect(p.readCred('CE_del', 'scitoken')).toBe(token);
    expect((await p.feApi().put('/scitokens/vo-b', { token, trustDomain: 'CMS' })).status).toBe(200);
    // Queued by the PUT's transaction (the frontend also syncs every second, which would catch it too).
    expect((await p.deliveries('&entry=CE_del&kind=withdrawal')).find((d) => d.type === 'scitoken' && d.state !== 'superseded')).toMatchObject({
      reason: 'NO_LONGER_MATCHES',
    });
    expect(await p.withdrawn('CE_del', 'scitoken')).toMatchObject({ reason: 'NO_LONGER_MATCHES' });
  });

  it("no credential in either process's output, nor in the listings", async () => {
    const texts = [
      ...p.all.map((s) => s.output()),
      (await p.feApi().get('/deliveries?limit=1000')).text,
      (await p.faApi().get('/factory/cache')).text,
      (await p.faApi().get('/audit?limit=500')).text,
    ];
    for (const t of texts) expect(t.match(JWT)).toBeNull();
  });
});
