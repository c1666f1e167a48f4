import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { EntriesSyncService } from '../../src/forwarding/entries-sync.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { selfRegistered } from '../support/fixtures.js';
import { client } from '../support/service.js';

const TIMEOUT_S = 5;
/** Well under TIMEOUT_S: before per-factory lanes, the healthy factory waited out the hang. */
const BOUND_MS = 3000;
const entry = (name: string, site = 'S1') => ({
  name,
  site,
  gatekeeper: 'ce.example.org:9619',
  trustDomain: 'OSG',
  authMethod: 'grid_proxy',
  condorVersion: '23.0.3',
  securityClass: null,
});

/**
 * A hostile factory on loopback. GET entries answers per `mode`: ok, the same entry twice, or
 * headers then a byte every 100 ms forever (drip). POST credentials never answers.
 */
class HostileFactory {
  mode: 'ok' | 'dup' | 'drip' = 'ok';
  open = 0;
  private readonly server: Server;
  private readonly sockets = new Set<ServerResponse>();
  url = '';

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.open++;
      this.sockets.add(res);
      res.on('close', () => {
        this.open--;
        this.sockets.delete(res);
      });
      req.resume();
      if (req.method === 'GET' && req.url === '/api/v1/factory/entries') {
        if (this.mode === 'drip') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('[');
          const t = setInterval(() => res.write(' '), 100);
          res.on('close', () => clearInterval(t));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.mode === 'dup' ? [entry('H_CE'), entry('DUP'), entry('DUP', 'S2')] : [entry('H_CE')]));
        return;
      }
      // POST /api/v1/factory/credentials (and anything else): hang.
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const r of this.sockets) r.destroy();
    this.server.closeAllConnections();
    await new Promise((ok) => this.server.close(ok));
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(ENGINES)('a hostile factory on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let hostile: HostileFactory;
  const selfVersion = async () =>
    (await api.get('/factory/cache?entry=SELF_CE')).json.find((c: { type: string }) => c.type === 'idtoken')?.version as number | undefined;
  const seen = async () => t.db.read((m) => m.query(`SELECT factory, entry, site FROM factory_entries_seen WHERE factory = 'hang' ORDER BY entry`));
  const syncError = async () => (await api.get('/factories')).json.find((f: { name: string }) => f.name === 'hang').syncError as string | null;

  beforeAll(async () => {
    hostile = new HostileFactory();
    await hostile.start();
    t = await startTestApp({
      engine,
      env: {
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
        GLIDEKEY_FORWARDING_REQUEST_TIMEOUT_SECONDS: String(TIMEOUT_S),
        GLIDEKEY_METRICS_PUBLIC: 'true',
        GLIDEKEY_METRICS_CACHE_SECONDS: '0',
      },
    });
    api = client(t.api, t.adminKey);
    // The healthy factory is this process itself (both roles), as in forwarding/delivery.spec.ts.
    const { frontendApiKey } = await selfRegistered(api, t.url);
    expect(
      (await api.post('/factories', { name: 'hang', url: hostile.url, apiKey: frontendApiKey, publicKey: randomBytes(32).toString('base64') })).status,
    ).toBe(201);
    expect(
      (
        await api.put('/factory/entries/SELF_CE', {
          site: 'S1',
          gatekeeper: 'ce.example.org:9619',
          trustDomain: 'OSG',
          authMethod: 'grid_proxy',
          condorVersion: '23.0.3',
        })
      ).status,
    ).toBe(201);
    expect((await api.post('/sites', { name: 'S1' })).status).toBe(201);
    const first = await api.post('/factories/self/sync');
    expect([first.status, first.json.delivery.delivered]).toEqual([200, 1]);
  });
  afterAll(async () => {
    await hostile?.stop();
    await t?.close();
  });

  it('a factory that never acknowledges holds up neither deliveries to a healthy one nor its sync', async () => {
    const before = (await selfVersion())!;
    // The hostile factory's entries are read; its delivery goes out and hangs.
    expect(await t.app.get(EntriesSyncService).sync('hang')).toMatchObject({ entries: 1, queued: 1, error: null });
    await until('the hanging delivery', async () => hostile.open > 0, 3000);

    // A rotation queues a new token for both; the healthy factory has it long before the hang ends.
    const rotatedAt = Date.now();
    expect((await api.post('/sites/S1/rotate', { graceSeconds: 0 })).status).toBe(200);
    const v = await until('the healthy factory to get the new token', async () => ((await selfVersion())! > before ? await selfVersion() : false), BOUND_MS);
    expect(v).toBeGreaterThan(before);
    expect(Date.now() - rotatedAt).toBeLessThan(BOUND_MS);
    expect(hostile.open).toBeGreaterThan(0);

    // Syncing the healthy factory answers at once too.
    const t0 = Date.now();
    const sync = await api.post('/factories/self/sync');
    expect([sync.status, sync.json.error]).toEqual([200, null]);
    expect(Date.now() - t0).toBeLessThan(BOUND_MS);
    expect(hostile.open).toBeGreaterThan(0);

    // The hanging delivery ends at the exchange deadline, counted as TIMEOUT; its row stays pending.
    await until(
      'the hanging delivery to time out',
      async () => /glidekey_delivery_attempts_total\{factory="hang",result="TIMEOUT"\} [1-9]/.test(await (await fetch(`${t.url}/metrics`)).text()),
      (TIMEOUT_S + 3) * 1000,
    );
    expect((await api.get('/deliveries?factory=hang&state=pending')).json.length).toBeGreaterThan(0);
  }, 30_000);

  it('duplicate entry names: 502 FACTORY_BAD_RESPONSE, recorded as its syncError, last-seen entries kept', async () => {
    const kept = await seen();
    expect(kept).toEqual([expect.objectContaining({ entry: 'H_CE' })]);
    hostile.mode = 'dup';
    const res = await api.post('/factories/hang/sync');
    expect([res.status, res.json.error.code]).toEqual([502, 'FACTORY_BAD_RESPONSE']);
    expect(await syncError()).toMatch(/^BAD_RESPONSE: .*DUP is listed twice/);
    expect(await seen()).toEqual(kept);
  });

  it('an answer dripped a byte at a time: cut off at the exchange deadline, TIMEOUT recorded, never 500', async () => {
    hostile.mode = 'drip';
    const t0 = Date.now();
    const res = await api.post('/factories/hang/sync');
    const took = Date.now() - t0;
    expect([res.status, res.json.entries, res.json.error]).toEqual([200, null, expect.stringMatching(/^TIMEOUT: /)]);
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 200);
    expect(took).toBeLessThan((TIMEOUT_S + 3) * 1000);
    expect(await syncError()).toMatch(/^TIMEOUT: /);
    expect(await seen()).toEqual([expect.objectContaining({ entry: 'H_CE' })]);
    hostile.mode = 'ok';
  }, 20_000);
});
