import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { factorySetup } from '../support/glidein.js';
import type { TestApp } from '../support/app.js';
import { client, httpCall, removeDir, startService } from '../support/service.js';

type Sqlite = new (path: string, o?: { readonly?: boolean }) => { prepare(s: string): { all(): unknown[] }; close(): void };
const Database = createRequire(import.meta.url)('better-sqlite3') as Sqlite;

/** Every 12-character piece of a secret's secret part: none may appear anywhere. */
function pieces(secret: string): string[] {
  const part = secret.startsWith('gk') ? secret.slice(-43) : secret.split('.').slice(1).join('.');
  const out: string[] = [];
  for (let i = 0; i + 12 <= part.length; i += 4) out.push(part.slice(i, i + 12));
  return out;
}
const leaks = (haystack: string, secret: string) => pieces(secret).filter((p) => haystack.includes(p));

describe('secrets never become identifiers', () => {
  it('refuses API keys, tickets, renewal credentials and JWTs as X-Request-Id and in path parameters: not echoed, logged or audited', async () => {
    const svc = await startService({ env: { GLIDEKEY_LOG_LEVEL: 'info' } });
    try {
      const api = client(svc.api, svc.adminKey);
      // Real credentials of each kind: the admin API key, another API key, a glidein ticket, an IDTOKEN (JWT).
      const other = (await api.post('/apikeys', { name: 'pasted', roles: ['auditor'] })).json.apiKey as string;
      expect(other).toMatch(/^gk_/);
      expect((await api.post('/sites', { name: 'SiteA' })).status).toBe(201);
      const jwt = (await api.post('/sites/SiteA/tokens', {})).json.token as string;
      expect(jwt.split('.')).toHaveLength(3);
      const { frontend } = await factorySetup(svc as unknown as TestApp, { entry: 'E1', site: 'SiteA' });
      const issued = await api.post('/factory/entries/E1/tickets', { frontend, count: 1 });
      const ticket = issued.json.tickets[0] as string;
      expect(ticket).toMatch(/^gkt_/);
      // A glidein renewal credential's shape (a real one needs a cached token: test/glidein/renewal.spec.ts).
      const renewal = `gkr_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
      const secrets = [svc.adminKey, other, ticket, jwt, renewal];

      const seen: string[] = [];
      const call = async (method: string, path: string, requestId: string, body?: unknown) => {
        const res = await httpCall(`${svc.api}${path}`, {
          method,
          headers: { authorization: `Bearer ${svc.adminKey}`, 'x-request-id': requestId, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        seen.push(`${res.status} ${JSON.stringify([...res.headers])} ${res.text}`);
        return res;
      };
      let n = 0;
      for (const s of secrets) {
        const e = encodeURIComponent(s);
        // As a request id: a fresh one is used instead, on reads, writes and refused writes.
        const read = await call('GET', '/sites', s);
        expect(read.status).toBe(200);
        expect(read.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
        expect((await call('POST', '/sites', s, { name: `Req${n++}` })).status).toBe(201);
        expect((await call('POST', '/sites', s, { name: 'SiteA' })).status).toBe(409);
        // In path parameters (and as the request id too): refused or not found, and never echoed.
        for (const [method, path, body] of [
          ['POST', `/sites/${e}/rotate`, {}],
          ['DELETE', `/sites/${e}`],
          ['POST', `/sites/${e}/tokens`, {}],
          ['POST', `/tokens/${e}/revoke`, {}],
          [
            'PUT',
            `/factory/entries/${e}`,
            { site: 'SiteA', gatekeeper: 'ce.example.org', trustDomain: 'OSG', authMethod: 'scitoken', condorVersion: '23.0.3' },
          ],
          ['DELETE', `/factory/entries/${e}`],
          ['POST', `/factory/entries/${e}/tickets`, { frontend, count: 1 }],
          ['POST', `/factories/${e}/sync`, {}],
          ['DELETE', `/scitokens/${e}`],
          ['POST', `/factory/renewals/${e}/revoke`, {}],
          ['POST', `/factory/batches/${e}/renewals/revoke`, {}],
          ['POST', `/factory/entries/${e}/renewals/revoke`, {}],
        ] as [string, string, unknown?][]) {
          const res = await call(method, path, s, body);
          expect([method, path.slice(0, 20), res.status >= 400 && res.status < 500]).toEqual([method, path.slice(0, 20), true]);
        }
      }
      // Revoking a leaked key by the key itself still works, and keeps nothing of it.
      expect((await call('POST', `/apikeys/${encodeURIComponent(other)}/revoke`, other, {})).status).toBe(200);

      // A plain request id and a plain name still pass through (so the checks above can fail).
      const plain = await call('POST', '/sites/NoSuchSite/rotate', 'trace-0001', {});
      expect([plain.status, plain.headers.get('x-request-id')]).toEqual([404, 'trace-0001']);
      await svc.stop();

      const db = new Database(join(svc.dataDir, 'glidekey.sqlite'), { readonly: true });
      const audit = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
      db.close();
      expect(audit).toContain('"request_id":"trace-0001"');
      expect(audit).toContain('"target":"site:NoSuchSite"');
      expect(audit).toContain('"target":"apikey:pasted"');
      const output = svc.output();
      expect(output).toContain('"requestId":"trace-0001"');
      for (const s of secrets) {
        expect(['responses', s.slice(0, 4), leaks(seen.join('\n'), s)]).toEqual(['responses', s.slice(0, 4), []]);
        expect(['audit', s.slice(0, 4), leaks(audit, s)]).toEqual(['audit', s.slice(0, 4), []]);
        expect(['logs', s.slice(0, 4), leaks(output, s)]).toEqual(['logs', s.slice(0, 4), []]);
      }
    } finally {
      await svc.stop();
      removeDir(svc.dataDir);
    }
  }, 60_000);
});
