import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config/config.loader.js';
import { Settings } from '../config/settings.js';
import { FactoryCallError, FactoryClient } from './factory-client.js';

const MiB = 1024 * 1024;

/** A hostile factory on loopback: answers GET /factory/entries with up to 300 MB of JSON, streamed, and counts what it got out. */
function hostileFactory(opts: { declare: boolean }): Promise<{ url: string; sent: () => number; closed: Promise<void>; server: Server }> {
  let sent = 0;
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const chunk = Buffer.alloc(MiB, 0x20);
  const total = 300 * MiB;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(opts.declare ? { 'content-length': String(total + 2) } : {}) });
    res.write('[');
    const pump = () => {
      while (sent < total && !res.destroyed) {
        sent += MiB;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end(']');
    };
    res.on('close', markClosed);
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent: () => sent, closed, server })),
  );
}

describe(FactoryClient.name, () => {
  const client = new FactoryClient(new Settings(loadConfig({ GLIDEKEY_DATA_DIR: '/nonexistent', GLIDEKEY_FORWARDING_REQUEST_TIMEOUT_SECONDS: '30' })));

  it.each([
    ['streamed without a length', false],
    ['declaring its length', true],
  ])('abandons a 300 MB answer %s at the 8 MiB cap, holding no more than the cap', async (_label, declare) => {
    const f = await hostileFactory({ declare });
    try {
      const before = process.memoryUsage();
      const err = await client.entries(f.url, 'key').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FactoryCallError);
      expect((err as FactoryCallError).code).toBe('BAD_RESPONSE');
      await f.closed;
      const after = process.memoryUsage();
      // The server stopped early: at most the cap plus what the socket buffers held.
      expect(f.sent()).toBeLessThan(40 * MiB);
      expect(after.arrayBuffers + after.heapUsed - before.arrayBuffers - before.heapUsed).toBeLessThan(64 * MiB);
    } finally {
      f.server.closeAllConnections();
      await new Promise((r) => f.server.close(r));
    }
  });

  it('still reads an answer under the cap', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify([
          { name: 'E1', site: 'S1', gatekeeper: 'ce.example.org', trustDomain: 'OSG', authMethod: 'idtoken', condorVersion: '24.0.1', securityClass: null },
        ]),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const entries = await client.entries(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'key');
      expect(entries.map((e) => e.name)).toEqual(['E1']);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
