import { startTestApp, TestApp } from '../support/app.js';
import { factorySetup, fetchCredentials, mintToken, renew, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

describe('glidein renewal rate limiting', () => {
  let t: TestApp;
  let frontend: string;

  beforeAll(async () => {
    t = await startTestApp({
      env: { GLIDEKEY_TICKETS_FAILURE_LIMIT: '3', GLIDEKEY_TICKETS_LIMITED_LOOKUPS_PER_SECOND: '1', GLIDEKEY_METRICS_CACHE_SECONDS: '0' },
    });
    ({ frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' }));
    const token = await mintToken(t, 'SiteA');
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
  });
  afterAll(() => t?.close());

  it("shares the fetch's per-address failure count: 429 with Retry-After, past the allowance before any lookup, spending nothing", async () => {
    const api = client(t.api, t.adminKey);
    const tickets: string[] = (await api.post('/factory/entries/E1/tickets', { frontend, count: 2 })).json.tickets;
    const credential = (await fetchCredentials(t, tickets[0])).json.renewal as string;
    const bad = `gkr_${'1'.repeat(16)}_${'B'.repeat(43)}`;
    // Two failed fetches and one failed renewal: the address is at the limit.
    for (const b of [`gkt_${'1'.repeat(16)}_${'B'.repeat(43)}`, 'gkt_x']) expect((await fetchCredentials(t, b)).status).toBe(401);
    expect((await renew(t, bad)).status).toBe(401);
    const limited = await renew(t, bad);
    expect([limited.status, limited.json.error.code, limited.headers.get('retry-after')]).toEqual([429, 'RATE_LIMITED', '60']);
    // Over the limit: one lookup a clock second still happens, and a valid credential there is served ...
    const served = await renew(t, credential);
    expect(served.status).toBe(200);
    // ... the rest get 429 in the first hook, renewals and fetches alike, and nothing is spent.
    const early = await renew(t, served.json.renewal);
    expect([early.status, early.json.error.code]).toEqual([429, 'RATE_LIMITED']);
    expect((await fetchCredentials(t, tickets[1])).status).toBe(429);
    t.clock.advance(60);
    expect((await renew(t, served.json.renewal)).status).toBe(200);
    expect((await fetchCredentials(t, tickets[1])).status).toBe(200);
    const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(text).toMatch(/glidekey_glidein_renewals_total\{result="rate_limited",entry=""\} 2\b/);
    expect(t.logs()).toMatch(/refused \d+ glidein renewal\(s\) with a bad renewal credential/);
    expect(t.logs()).not.toContain('B'.repeat(43));
  });
});
