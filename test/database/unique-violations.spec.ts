import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AdminKeyBootstrap } from '../../src/auth/admin-key.bootstrap.js';
import { isUniqueViolation } from '../../src/database/unique-violation.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client } from '../support/service.js';

const N = 8;
const publicKey = () => randomBytes(32).toString('base64');

describe.each(ENGINES)('concurrent creates of one resource on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp({ engine });
    api = client(t.api, t.adminKey);
  });
  afterAll(() => t.close());

  /** N identical creates at once: exactly one 201, the rest 409 with the resource's code, no 500. */
  async function race(path: string, body: () => unknown, code: string) {
    const results = await Promise.all(Array.from({ length: N }, () => api.post(path, body())));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(N - 1).fill(409)]);
    expect(results.filter((r) => r.status === 409).map((r) => r.json.error.code)).toEqual(Array(N - 1).fill(code));
  }

  it('sites', async () => {
    await race('/sites', () => ({ name: `raced-site-${engine}` }), 'SITE_EXISTS');
    expect((await api.get(`/sites/raced-site-${engine}`)).json.key.version).toBe(1);
  });

  it('API keys', async () => {
    await race('/apikeys', () => ({ name: 'raced-key', roles: ['auditor'] }), 'API_KEY_EXISTS');
    expect((await api.get('/apikeys')).json.filter((k: { name: string }) => k.name === 'raced-key')).toHaveLength(1);
  });

  it('registered frontends (the same name, each with its own public key)', async () => {
    await race('/factory/frontends', () => ({ name: 'raced.frontend.org', publicKey: publicKey() }), 'FRONTEND_EXISTS');
    expect((await api.get('/apikeys')).json.filter((k: { name: string }) => k.name === 'frontend:raced.frontend.org')).toHaveLength(1);
  });

  it('factories', async () => {
    const fe = (await api.get('/frontend/identity')).json;
    const reg = await api.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey });
    expect(reg.status).toBe(201);
    const fa = (await api.get('/factory/identity')).json;
    await race('/factories', () => ({ name: 'raced-factory', url: t.url, apiKey: reg.json.apiKey, publicKey: fa.publicKey }), 'FACTORY_EXISTS');
  });

  it('the first-start admin key, created by several starters at once', async () => {
    // As on a new database that replicas start on together: no key yet, no admin.key here.
    await t.db.dataSource.query('DELETE FROM api_keys');
    rmSync(join(t.dataDir, 'admin.key'));
    const boot = t.app.get(AdminKeyBootstrap);
    const results = await Promise.allSettled(Array.from({ length: N }, () => boot.onApplicationBootstrap()));
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect((await t.db.dataSource.query(`SELECT name FROM api_keys`)).map((r: { name: string }) => r.name)).toEqual(['admin']);
    expect(existsSync(join(t.dataDir, 'admin.key'))).toBe(true);
  });

  it('audit lines cannot be truncated', async () => {
    expect((await api.post('/sites', { name: `audited-${engine}` })).status).toBe(201);
    const before = Number((await t.db.dataSource.query('SELECT COUNT(*) AS n FROM audit_log'))[0].n);
    expect(before).toBeGreaterThan(0);
    // SQLite has no TRUNCATE: its "truncate optimisation" is a DELETE without WHERE, refused by the row trigger.
    const sql = engine === 'postgres' ? 'TRUNCATE audit_log' : 'DELETE FROM audit_log';
    await expect(t.db.dataSource.query(sql)).rejects.toThrow(/append-only/);
    expect(Number((await t.db.dataSource.query('SELECT COUNT(*) AS n FROM audit_log'))[0].n)).toBe(before);
  });
});

describe('unique violations are recognised on both engines', () => {
  it('by code', () => {
    expect(isUniqueViolation({ driverError: { code: '23505' } })).toBe(true);
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBe(true);
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).toBe(true);
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' })).toBe(false);
    expect(isUniqueViolation({ driverError: { code: '23503' } })).toBe(false);
    expect(isUniqueViolation(new Error('23505'))).toBe(false);
  });
});
