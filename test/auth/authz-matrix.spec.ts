import { API_ROLES, ApiRole } from '../../src/auth/principal.js';
import { ROUTES as SERVED } from '../../src/bootstrap.js';
import { startTestApp, TestApp } from '../support/app.js';
import { factorySetup, mintToken, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  path: string;
  /** The express pattern, to match against what the app actually serves. */
  pattern: string;
  /** 'ticket': a glidein bootstrap ticket, and no API key of any role; 'renewal': a glidein renewal credential, likewise. */
  roles: ApiRole[] | 'public' | 'ticket' | 'renewal';
  body?: unknown;
}

const JTI = '0'.repeat(32);

/** Every route the service serves, with the roles allowed to call it. */
const ROUTES: Route[] = [
  { method: 'GET', path: '/healthz', pattern: '/healthz', roles: 'public' },
  { method: 'GET', path: '/readyz', pattern: '/readyz', roles: 'public' },
  { method: 'GET', path: '/metrics', pattern: '/metrics', roles: ['frontend-admin', 'factory-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/audit', pattern: '/api/v1/audit', roles: ['frontend-admin', 'factory-admin', 'auditor'] },
  {
    method: 'POST',
    path: '/api/v1/apikeys',
    pattern: '/api/v1/apikeys',
    roles: ['frontend-admin', 'factory-admin'],
    body: { name: 'x-new', roles: ['auditor'] },
  },
  { method: 'GET', path: '/api/v1/apikeys', pattern: '/api/v1/apikeys', roles: ['frontend-admin', 'factory-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/apikeys/nobody/revoke', pattern: '/api/v1/apikeys/:key/revoke', roles: ['frontend-admin', 'factory-admin'] },
  { method: 'POST', path: '/api/v1/sites', pattern: '/api/v1/sites', roles: ['frontend-admin'], body: { name: 'matrix-new' } },
  { method: 'GET', path: '/api/v1/sites', pattern: '/api/v1/sites', roles: ['frontend-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/sites/matrix', pattern: '/api/v1/sites/:site', roles: ['frontend-admin', 'auditor'] },
  { method: 'PATCH', path: '/api/v1/sites/matrix', pattern: '/api/v1/sites/:site', roles: ['frontend-admin'], body: { lifetimeSeconds: 7200 } },
  { method: 'DELETE', path: '/api/v1/sites/gone', pattern: '/api/v1/sites/:site', roles: ['frontend-admin'] },
  { method: 'GET', path: '/api/v1/sites/matrix/keyfile', pattern: '/api/v1/sites/:site/keyfile', roles: ['frontend-admin'] },
  { method: 'POST', path: '/api/v1/sites/matrix/tokens', pattern: '/api/v1/sites/:site/tokens', roles: ['frontend-admin'], body: {} },
  { method: 'GET', path: '/api/v1/tokens', pattern: '/api/v1/tokens', roles: ['frontend-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/tokens/verify', pattern: '/api/v1/tokens/verify', roles: ['frontend-admin', 'auditor'], body: { token: 'a.b.c' } },
  { method: 'POST', path: `/api/v1/tokens/${JTI}/revoke`, pattern: '/api/v1/tokens/:jti/revoke', roles: ['frontend-admin'] },
  { method: 'GET', path: '/api/v1/revocations/condor', pattern: '/api/v1/revocations/condor', roles: ['frontend-admin', 'auditor'] },
  {
    method: 'POST',
    path: '/api/v1/revocations/subjects',
    pattern: '/api/v1/revocations/subjects',
    roles: ['frontend-admin'],
    body: { subject: 'nobody@nowhere' },
  },
  { method: 'POST', path: '/api/v1/sites/matrix/rotate', pattern: '/api/v1/sites/:site/rotate', roles: ['frontend-admin'], body: {} },
  { method: 'PUT', path: '/api/v1/scitokens/vo', pattern: '/api/v1/scitokens/:name', roles: ['frontend-admin'], body: { token: 'a.b.c', trustDomain: 'OSG' } },
  { method: 'GET', path: '/api/v1/scitokens', pattern: '/api/v1/scitokens', roles: ['frontend-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/scitokens/vo', pattern: '/api/v1/scitokens/:name', roles: ['frontend-admin', 'auditor'] },
  { method: 'DELETE', path: '/api/v1/scitokens/vo', pattern: '/api/v1/scitokens/:name', roles: ['frontend-admin'] },
  {
    method: 'PUT',
    path: '/api/v1/scitoken-issuers/iss1',
    pattern: '/api/v1/scitoken-issuers/:id',
    roles: ['frontend-admin'],
    body: { issuer: 'https://issuer.example.org', jwks: { keys: [] } },
  },
  { method: 'GET', path: '/api/v1/scitoken-issuers', pattern: '/api/v1/scitoken-issuers', roles: ['frontend-admin', 'auditor'] },
  { method: 'DELETE', path: '/api/v1/scitoken-issuers/nobody', pattern: '/api/v1/scitoken-issuers/:id', roles: ['frontend-admin'] },
  {
    method: 'POST',
    path: '/api/v1/gwms/credentials/scitoken',
    pattern: '/api/v1/gwms/credentials/scitoken',
    roles: ['credential-reader'],
    body: { group: 'main', entry: { name: 'e1', gatekeeper: 'ce.example.org' }, trustDomain: 'OSG' },
  },
  { method: 'GET', path: '/api/v1/frontend/identity', pattern: '/api/v1/frontend/identity', roles: 'public' },
  { method: 'POST', path: '/api/v1/frontend/identity/rotate', pattern: '/api/v1/frontend/identity/rotate', roles: ['frontend-admin'] },
  { method: 'GET', path: '/api/v1/factory/identity', pattern: '/api/v1/factory/identity', roles: 'public' },
  {
    method: 'POST',
    path: '/api/v1/factory/frontends',
    pattern: '/api/v1/factory/frontends',
    roles: ['factory-admin'],
    body: { name: 'm', publicKey: 'A'.repeat(43) + '=' },
  },
  { method: 'GET', path: '/api/v1/factory/frontends', pattern: '/api/v1/factory/frontends', roles: ['factory-admin', 'auditor'] },
  {
    method: 'PATCH',
    path: '/api/v1/factory/frontends/nobody',
    pattern: '/api/v1/factory/frontends/:name',
    roles: ['factory-admin'],
    body: { rotateApiKey: true },
  },
  { method: 'DELETE', path: '/api/v1/factory/frontends/nobody', pattern: '/api/v1/factory/frontends/:name', roles: ['factory-admin'] },
  { method: 'POST', path: '/api/v1/factories', pattern: '/api/v1/factories', roles: ['frontend-admin'], body: { name: 'm' } },
  { method: 'GET', path: '/api/v1/factories', pattern: '/api/v1/factories', roles: ['frontend-admin', 'auditor'] },
  {
    method: 'PATCH',
    path: '/api/v1/factories/nowhere',
    pattern: '/api/v1/factories/:name',
    roles: ['frontend-admin'],
    body: { url: 'https://factory.example.org' },
  },
  { method: 'DELETE', path: '/api/v1/factories/nowhere', pattern: '/api/v1/factories/:name', roles: ['frontend-admin'] },
  { method: 'PUT', path: '/api/v1/factory/entries/e1', pattern: '/api/v1/factory/entries/:entry', roles: ['factory-admin'], body: { site: 's' } },
  { method: 'GET', path: '/api/v1/factory/entries', pattern: '/api/v1/factory/entries', roles: ['factory-admin', 'frontend'] },
  {
    method: 'POST',
    path: '/api/v1/factory/entries/import',
    pattern: '/api/v1/factory/entries/import',
    roles: ['factory-admin'],
    body: { xml: '<glidein/>', dryRun: true },
  },
  { method: 'DELETE', path: '/api/v1/factory/entries/e1', pattern: '/api/v1/factory/entries/:entry', roles: ['factory-admin'] },
  { method: 'POST', path: '/api/v1/factories/nowhere/sync', pattern: '/api/v1/factories/:name/sync', roles: ['frontend-admin'] },
  { method: 'GET', path: '/api/v1/deliveries', pattern: '/api/v1/deliveries', roles: ['frontend-admin', 'auditor'] },
  {
    method: 'POST',
    path: '/api/v1/factory/credentials',
    pattern: '/api/v1/factory/credentials',
    roles: ['frontend'],
    body: { v: 1, from: 'x', nonce: 'y', box: 'z' },
  },
  { method: 'GET', path: '/api/v1/factory/cache', pattern: '/api/v1/factory/cache', roles: ['factory-admin', 'auditor'] },
  {
    method: 'POST',
    path: '/api/v1/factory/entries/matrix-e/tickets',
    pattern: '/api/v1/factory/entries/:entry/tickets',
    roles: ['factory-admin'],
    body: { frontend: 'matrix-fe', count: 1 },
  },
  { method: 'POST', path: '/api/v1/glidein/credentials', pattern: '/api/v1/glidein/credentials', roles: 'ticket' },
  { method: 'POST', path: '/api/v1/glidein/credentials/renew', pattern: '/api/v1/glidein/credentials/renew', roles: 'renewal' },
  { method: 'GET', path: '/api/v1/factory/renewals', pattern: '/api/v1/factory/renewals', roles: ['factory-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/factory/renewals/0123456789abcdef/revoke', pattern: '/api/v1/factory/renewals/:id/revoke', roles: ['factory-admin'] },
  {
    method: 'POST',
    path: '/api/v1/factory/batches/0123456789abcdef/renewals/revoke',
    pattern: '/api/v1/factory/batches/:batch/renewals/revoke',
    roles: ['factory-admin'],
  },
  {
    method: 'POST',
    path: '/api/v1/factory/entries/matrix-none/renewals/revoke',
    pattern: '/api/v1/factory/entries/:entry/renewals/revoke',
    roles: ['factory-admin'],
  },
];

describe('authorization matrix', () => {
  let t: TestApp;
  const keyOf: Partial<Record<ApiRole, string>> = {};

  beforeAll(async () => {
    t = await startTestApp();
    const admin = client(t.api, t.adminKey);
    for (const role of API_ROLES) {
      const res = await admin.post('/apikeys', { name: `only-${role}`, roles: [role] });
      expect(res.status).toBe(201);
      keyOf[role] = res.json.apiKey;
    }
    expect((await admin.post('/sites', { name: 'matrix' })).status).toBe(201);
    await factorySetup(t, { frontend: 'matrix-fe', entry: 'matrix-e', site: 'matrix' });
    const token = await mintToken(t, 'matrix');
    await seedCache(t, { frontend: 'matrix-fe', entry: 'matrix-e', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
  });
  afterAll(() => t.close());

  it('covers every route the application serves', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const served: string[] = (t.app.getHttpAdapter().getInstance() as any)[SERVED];
    const ours = served.filter((r) => !r.includes('/api/docs'));
    const listed = ROUTES.map((r) => `${r.method} ${r.pattern}`);
    expect([...new Set(ours)].sort()).toEqual([...new Set(listed)].sort());
  });

  for (const route of ROUTES) {
    describe(`${route.method} ${route.pattern}`, () => {
      const call = (key?: string) =>
        fetch(`${t.url}${route.path}`, {
          method: route.method,
          headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(route.body ? { 'content-type': 'application/json' } : {}) },
          body: route.body ? JSON.stringify(route.body) : undefined,
        });

      if (route.roles === 'ticket') {
        it('refuses no credential, a malformed or unknown ticket and every API key with 401, and takes a valid ticket', async () => {
          const bearers = [
            undefined,
            'not-a-ticket',
            `gkt_${'0'.repeat(16)}_${'A'.repeat(43)}`,
            `gk_${'0'.repeat(16)}_${'A'.repeat(43)}`,
            ...API_ROLES.map((r) => keyOf[r]),
          ];
          for (const key of bearers) {
            const res = await call(key);
            expect([key?.slice(0, 12), res.status]).toEqual([key?.slice(0, 12), 401]);
            expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TICKET_INVALID');
          }
          const ticket = (await client(t.api, t.adminKey).post('/factory/entries/matrix-e/tickets', { frontend: 'matrix-fe', count: 1 })).json.tickets[0];
          expect((await call(ticket)).status).toBe(200);
        });
        return;
      }
      if (route.roles === 'renewal') {
        it('refuses no credential, a malformed or unknown renewal credential, a ticket and every API key with 401, and takes a valid one', async () => {
          const ticket = (await client(t.api, t.adminKey).post('/factory/entries/matrix-e/tickets', { frontend: 'matrix-fe', count: 1 })).json.tickets[0];
          const bearers = [undefined, 'not-a-renewal', `gkr_${'0'.repeat(16)}_${'A'.repeat(43)}`, ticket, ...API_ROLES.map((r) => keyOf[r])];
          for (const key of bearers) {
            const res = await call(key);
            expect([key?.slice(0, 12), res.status]).toEqual([key?.slice(0, 12), 401]);
            expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RENEWAL_INVALID');
          }
          const bootstrap = await fetch(`${t.api}/glidein/credentials`, { method: 'POST', headers: { authorization: `Bearer ${ticket}` } });
          const { renewal } = (await bootstrap.json()) as { renewal: string };
          expect((await call(renewal)).status).toBe(200);
        });
        return;
      }
      if (route.roles === 'public') {
        it('answers without a credential', async () => {
          expect((await call()).status).toBeLessThan(400);
        });
        return;
      }
      const allowed = route.roles;

      it('refuses no credential, a malformed one and a well-formed unknown one with 401', async () => {
        for (const key of [undefined, 'not-a-key', `gk_${'0'.repeat(16)}_${'A'.repeat(43)}`]) {
          const res = await call(key);
          expect(res.status).toBe(401);
          expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
        }
      });

      it('refuses every other role with 403', async () => {
        for (const role of API_ROLES.filter((r) => !allowed.includes(r))) {
          const res = await call(keyOf[role]);
          expect([role, res.status]).toEqual([role, 403]);
          expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
        }
      });

      it('lets each allowed role through', async () => {
        for (const role of allowed) {
          const res = await call(keyOf[role]);
          expect([role, res.status === 401 || res.status === 403]).toEqual([role, false]);
        }
      });
    });
  }

  it('refuses a revoked key at once', async () => {
    const admin = client(t.api, t.adminKey);
    const made = await admin.post('/apikeys', { name: 'short-lived', roles: ['auditor'] });
    expect((await client(t.api, made.json.apiKey).get('/sites')).status).toBe(200);
    expect((await admin.post('/apikeys/short-lived/revoke')).status).toBe(200);
    expect((await client(t.api, made.json.apiKey).get('/sites')).status).toBe(401);
  });

  it('lets no admin grant a role it does not hold', async () => {
    const fa = client(t.api, keyOf['frontend-admin']);
    const res = await fa.post('/apikeys', { name: 'escalate', roles: ['factory-admin'] });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('ROLE_NOT_GRANTABLE');
    expect((await fa.post('/apikeys/only-factory-admin/revoke')).json.error.code).toBe('ROLE_NOT_GRANTABLE');
  });

  it('lets frontend-admin grant credential-reader, and credential-reader grant nothing', async () => {
    const made = await client(t.api, keyOf['frontend-admin']).post('/apikeys', { name: 'gwms-generator', roles: ['credential-reader'] });
    expect([made.status, made.json.roles]).toEqual([201, ['credential-reader']]);
    const res = await client(t.api, made.json.apiKey).post('/apikeys', { name: 'from-reader', roles: ['credential-reader'] });
    expect([res.status, res.json.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await client(t.api, keyOf['factory-admin']).post('/apikeys', { name: 'fa-reader', roles: ['credential-reader'] })).json.error.code).toBe(
      'ROLE_NOT_GRANTABLE',
    );
  });

  it('never lists a secret', async () => {
    const list = await client(t.api, keyOf.auditor).get('/apikeys');
    expect(list.status).toBe(200);
    for (const key of Object.values(keyOf)) expect(list.text).not.toContain(key!.slice(20));
    expect(list.text).not.toContain(t.adminKey.slice(20));
  });
});
