import { GlideinService } from '../../src/glidein/glidein.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { factorySetup, fetchCredentials, mintToken, renew, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

/** Glidein fetches group-committed (SpendWriter): single use holds within and across batches. */
describe.each(ENGINES)('batched glidein fetches on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let frontend: string;
  const issue = async (count: number): Promise<string[]> => (await api.post('/factory/entries/E1/tickets', { frontend, count })).json.tickets;
  const idOf = (ticket: string) => ticket.split('_')[1];

  beforeAll(async () => {
    t = await startTestApp({
      engine,
      env: {
        GLIDEKEY_TICKETS_MAX_COUNT: '200',
        GLIDEKEY_TICKETS_FAILURE_LIMIT: '100000',
        GLIDEKEY_METRICS_CACHE_SECONDS: '0',
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
      },
    });
    api = client(t.api, t.adminKey);
    ({ frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' }));
    const token = await mintToken(t, 'SiteA');
    await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
  });
  afterAll(() => t?.close());

  it('of 40 concurrent HTTP fetches with one ticket, exactly one is 200, with one consume line', async () => {
    const [ticket] = await issue(1);
    const statuses = (await Promise.all(Array.from({ length: 40 }, () => fetchCredentials(t, ticket)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(39);
    const lines = (await api.get('/audit?action=ticket.consume&limit=500')).json.entries.filter((e: { actor: string }) => e.actor === `ticket:${idOf(ticket)}`);
    expect(lines).toHaveLength(1);
  });

  it('of 100 distinct tickets fetched at once, with a duplicate of each among them, every ticket is served once and consumed once', async () => {
    const tickets = await issue(100);
    const glidein = t.app.get(GlideinService);
    // Same tick: all are past the ticket check before any batch commits, so duplicates meet in one batch.
    const results = await Promise.allSettled([...tickets, ...tickets].map((k, i) => glidein.fetch(k, `192.0.2.${i % 250}`)));
    const served = results.flatMap((r, i) => (r.status === 'fulfilled' ? [idOf([...tickets, ...tickets][i])] : []));
    expect(served.sort()).toEqual(tickets.map(idOf).sort());
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []));
    expect(codes).toEqual(Array(100).fill('TICKET_INVALID'));
    const ids = tickets.map(idOf);
    const rows: { id: string; consumed_at: unknown; consumed_by: unknown }[] = await t.db.read((m) =>
      m.query('SELECT id, consumed_at, consumed_by FROM glidein_tickets'),
    );
    const mine = rows.filter((r) => ids.includes(r.id));
    expect(mine.filter((r) => r.consumed_at !== null && r.consumed_by !== null)).toHaveLength(100);
    const consumes = (await api.get('/audit?action=ticket.consume&limit=500')).json.entries.filter((e: { actor: string }) =>
      ids.includes(e.actor.slice('ticket:'.length)),
    );
    expect(consumes).toHaveLength(100);
    const issued = (await api.get('/audit?action=renewal.issue&limit=500')).json.entries.filter((e: { actor: string }) =>
      ids.includes(e.actor.slice('ticket:'.length)),
    );
    expect(issued).toHaveLength(100);
    const renewals: { ticket_id: string }[] = await t.db.read((m) => m.query('SELECT ticket_id FROM glidein_renewals'));
    expect(renewals.filter((r) => ids.includes(r.ticket_id))).toHaveLength(100);
    // Each answer's renewal credential is the one stored for it: it renews.
    const first = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ renewal: string }>;
    expect((await renew(t, first.value.renewal)).status).toBe(200);
  });

  it('of 30 concurrent renewals with one credential, exactly one is 200, with one renew line', async () => {
    const [ticket] = await issue(1);
    const { renewal } = (await fetchCredentials(t, ticket)).json;
    const id = renewal.split('_')[1];
    const statuses = (await Promise.all(Array.from({ length: 30 }, () => renew(t, renewal)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(29);
    const lines = (await api.get('/audit?action=glidein.renew&limit=500')).json.entries.filter((e: { actor: string }) => e.actor === `renewal:${id}`);
    expect(lines).toHaveLength(1);
  });
});
