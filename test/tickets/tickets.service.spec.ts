import { randomUUID } from 'node:crypto';
import { hashSecret } from '../../src/auth/api-key.secret.js';
import { DomainError } from '../../src/common/errors.js';
import { EntriesService } from '../../src/factory/entries.service.js';
import { GlideinModule } from '../../src/glidein/glidein.module.js';
import { GlideinRenewal } from '../../src/glidein/renewal.entity.js';
import { GlideinService } from '../../src/glidein/glidein.service.js';
import { Ticket } from '../../src/tickets/ticket.entity.js';
import { TicketsService } from '../../src/tickets/tickets.service.js';
import { ENGINES } from '../support/app.js';
import { cacheCredential, frontendAtFactory } from '../support/fixtures.js';
import { serviceTier, ServiceTier } from '../support/service-tier.js';

const FE = 'fe.example.org';
const TTL = 600;
const idOf = (ticket: string) => ticket.split('_')[1];
const secretOf = (ticket: string) => ticket.slice('gkt_0123456789abcdef_'.length);

/** Glidein bootstrap tickets: issued by TicketsService, spent by GlideinService.fetch, without HTTP. */
describe.each(ENGINES)('tickets service on %s', (engine) => {
  let t: ServiceTier;
  let tickets: TicketsService;
  let glidein: GlideinService;
  let idtoken: string;
  const row = async (ticket: string) => (await t.rows(Ticket, { id: idOf(ticket) }))[0];
  const spend = (ticket: string, address: string) =>
    glidein.fetch(ticket, address).then(
      (a) => a,
      (e: unknown) => e,
    );

  beforeAll(async () => {
    t = await serviceTier({ engine, roles: ['factory'], imports: [GlideinModule] });
    tickets = t.get(TicketsService);
    glidein = t.get(GlideinService);
    await t.get(EntriesService).put('E1', { site: 'S1', gatekeeper: 'ce1.example.org', trustDomain: 'OSG', authMethod: 'scitoken' });
    const fe = await frontendAtFactory(t, FE);
    idtoken = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(randomUUID()).toString('base64url')}.sig`;
    await cacheCredential(t, fe, { entry: 'E1', type: 'idtoken', version: 1, expiresAt: t.clock.nowSeconds() + 86_400, value: idtoken });
  });
  afterAll(() => t?.close());

  it('issues tickets stored as hashes only, with their expiry and one audit line', async () => {
    const issued = await tickets.issue('E1', { frontend: FE, count: 3, ttlSeconds: TTL });
    expect(issued.tickets).toHaveLength(3);
    for (const k of issued.tickets) {
      const r = await row(k);
      expect([r.secretHash, r.batchId, r.frontend, Number(r.expiresAt), r.consumedAt]).toEqual([
        hashSecret(secretOf(k)),
        issued.batch,
        FE,
        t.clock.now() + TTL * 1000,
        null,
      ]);
      expect(JSON.stringify(r).includes(secretOf(k))).toBe(false);
    }
    const audit = (await t.audit('ticket.issue')).at(-1)!;
    expect(JSON.parse(audit.detail!)).toMatchObject({ frontend: FE, batch: issued.batch, count: 3, ttlSeconds: TTL });
    expect(audit.detail!.includes(secretOf(issued.tickets[0]))).toBe(false);
  });

  it("spends a ticket once: the entry's credentials and a renewal credential, the spend on disk and audited; a second spend is refused and changes nothing", async () => {
    const [k] = (await tickets.issue('E1', { frontend: FE, count: 1, ttlSeconds: TTL })).tickets;
    const answer = await glidein.fetch(k, '192.0.2.10');
    expect(answer).toMatchObject({ site: 'S1', entry: 'E1', idtoken, renewal: expect.any(String) });
    const spent = await row(k);
    expect([Number(spent.consumedAt), spent.consumedBy]).toEqual([t.clock.now(), '192.0.2.10']);
    expect((await t.audit('ticket.consume')).filter((a) => a.actor === `ticket:${idOf(k)}`)).toHaveLength(1);
    expect(await t.rows(GlideinRenewal)).toHaveLength(1);

    const again = await spend(k, '192.0.2.11');
    expect(again).toBeInstanceOf(DomainError);
    expect((again as DomainError).code).toBe('TICKET_INVALID');
    expect(await row(k)).toEqual(spent);
    expect((await t.audit('ticket.consume')).filter((a) => a.actor === `ticket:${idOf(k)}`)).toHaveLength(1);
    expect(await t.rows(GlideinRenewal)).toHaveLength(1);
  });

  it('refuses a ticket once its TTL has passed by the clock, and the purge removes it with an expiry audit line', async () => {
    const [early, late] = (await tickets.issue('E1', { frontend: FE, count: 2, ttlSeconds: TTL })).tickets;
    t.clock.advance(TTL - 1);
    expect(await glidein.fetch(early, '192.0.2.20')).toMatchObject({ idtoken });
    t.clock.advance(1);
    const refused = await spend(late, '192.0.2.21');
    expect((refused as DomainError).code).toBe('TICKET_INVALID');
    expect((await row(late)).consumedAt).toBeNull();

    // Every ticket issued so far has expired now (the first tests' too): the unused ones are counted as expired.
    const unused = (await t.rows(Ticket)).filter((r) => r.consumedAt === null).length;
    expect(await tickets.purgeExpired()).toEqual({ E1: unused });
    expect(await t.rows(Ticket)).toEqual([]);
    expect(JSON.parse((await t.audit('ticket.expire')).at(-1)!.detail!)).toEqual({ count: unused });
  });
});
