import { createConnection, createServer, Server, Socket } from 'node:net';
import pg from 'pg';
import { startTestApp, TestApp } from '../support/app.js';
import { client, httpCall } from '../support/service.js';

/** A loopback TCP relay to PostgreSQL that the test can cut (every connection reset, new ones refused) and restore. */
async function relay(target: URL): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const open = new Set<Socket>();
  let down = false;
  const server: Server = createServer((inbound) => {
    if (down) return inbound.destroy();
    const outbound = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
    open.add(inbound).add(outbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
    };
    inbound.on('error', drop).on('close', drop).pipe(outbound);
    outbound.on('error', drop).on('close', drop).pipe(inbound);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      down = true;
      for (const s of open) s.destroy();
    },
    restore: () => {
      down = false;
    },
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

const PG = process.env.GLIDEKEY_TEST_POSTGRES_URL;

(PG ? describe : describe.skip)('PostgreSQL outage (needs GLIDEKEY_TEST_POSTGRES_URL)', () => {
  let t: TestApp | undefined;
  let r: Awaited<ReturnType<typeof relay>> | undefined;
  const name = `glidekey_outage_${process.pid}`;
  afterAll(async () => {
    await t?.close();
    await r?.close();
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });

  it('answers 503 STORAGE_UNAVAILABLE with Retry-After while the database is unreachable, /readyz fails, and both recover', async () => {
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const target = new URL(PG!);
    r = await relay(target);
    const url = new URL(PG!);
    url.host = `127.0.0.1:${r.port}`;
    url.pathname = `/${name}`;
    t = await startTestApp({ env: { GLIDEKEY_DATABASE_URL: url.toString(), GLIDEKEY_LOG_LEVEL: 'fatal' } });
    const api = client(t.api, t.adminKey);
    expect((await api.post('/sites', { name: 'outage' })).status).toBe(201);
    expect((await api.post('/sites/outage/tokens')).status).toBe(201);

    r.cut();
    const mint = await api.post('/sites/outage/tokens');
    const rotate = await api.post('/sites/outage/rotate', { graceSeconds: 0 });
    for (const res of [mint, rotate]) {
      expect([res.status, res.json?.error?.code]).toEqual([503, 'STORAGE_UNAVAILABLE']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.text).not.toMatch(/ECONN|postgres|127\.0\.0\.1|terminated/i);
    }
    expect((await httpCall(`${t.url}/readyz`)).status).toBe(503);

    r.restore();
    let ready = 0;
    for (let i = 0; i < 50 && ready !== 200; i++) {
      ready = (await httpCall(`${t.url}/readyz`)).status;
      if (ready !== 200) await new Promise((ok) => setTimeout(ok, 100));
    }
    expect(ready).toBe(200);
    expect((await api.post('/sites/outage/tokens')).status).toBe(201);
    // The refused rotation changed nothing.
    expect((await api.get('/sites/outage')).json.key.version).toBe(1);
  });
});
