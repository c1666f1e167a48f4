import { createHmac } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, removeDir, Service, startService, tempDir } from '../support/service.js';
import { collectorAccepts, decodeToken, vector } from '../support/vectors.js';

describe('README walk-through against node dist/main.js', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    svc = await startService();
    api = client(svc.api, svc.adminKey);
  });
  afterAll(async () => {
    await svc.stop();
    removeDir(svc.dataDir);
  });

  it('writes admin.key with mode 0600 and logs its path, never the key', () => {
    expect(statSync(join(svc.dataDir, 'admin.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(svc.dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(svc.output()).toContain(join(svc.dataDir, 'admin.key'));
    expect(svc.output()).not.toContain(svc.adminKey);
  });

  it('imports a passwords.d file, exports the identical bytes, and mints tokens that key verifies', async () => {
    const v = vector('site-ascii');
    const file = Buffer.from(v.scrambled_file_hex, 'hex');
    const created = await api.post('/sites', { name: v.kid, key: { format: 'condor', data: file.toString('base64') } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: v.kid, kid: v.kid, issuer: 'collector.example.org:9618', identity: `${v.kid}@frontend.example.org` });
    expect(created.json.key).toMatchObject({ version: 1, source: 'condor', length: 64 });
    expect(JSON.stringify(created.json)).not.toContain(file.toString('base64'));

    const res = await fetch(`${svc.api}/sites/${v.kid}/keyfile`, { headers: { authorization: `Bearer ${svc.adminKey}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const exported = Buffer.from(await res.arrayBuffer());
    expect(exported.equals(file)).toBe(true);

    // Place it as a collector would hold it, then check a minted token against that file alone.
    const passwordsD = tempDir('passwords.d-');
    mkdirSync(passwordsD, { recursive: true });
    writeFileSync(join(passwordsD, v.kid), exported, { mode: 0o600 });
    chmodSync(join(passwordsD, v.kid), 0o600);
    const minted = await api.post(`/sites/${v.kid}/tokens`, {});
    expect(minted.status).toBe(201);
    expect(minted.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { header, payload, signature } = decodeToken(minted.json.token);
    expect(header).toEqual({ alg: 'HS256', kid: v.kid, typ: 'JWT' });
    expect(Object.keys(payload)).toEqual(['sub', 'iat', 'nbf', 'jti', 'iss', 'exp', 'scope']);
    expect(payload).toMatchObject({
      sub: `${v.kid}@frontend.example.org`,
      iss: 'collector.example.org:9618',
      scope: 'condor:/READ condor:/ADVERTISE_STARTD condor:/ADVERTISE_MASTER',
      jti: minted.json.jti,
    });
    expect(Number.isInteger(payload.iat) && payload.nbf === payload.iat && payload.exp === (payload.iat as number) + 86400).toBe(true);
    expect(minted.json.jti).toMatch(/^[0-9a-f]{32}$/);
    expect(signature.length).toBe(32);
    // The derived key is the one GlideinWMS's token_util derives for this file.
    const [h, p, s] = minted.json.token.split('.');
    expect(createHmac('sha256', Buffer.from(v.derived_key_hex, 'hex')).update(`${h}.${p}`).digest('base64url')).toBe(s);
    expect(collectorAccepts(minted.json.token, readFileSync(join(passwordsD, v.kid)), v.kid)).toBe(true);
    removeDir(passwordsD);

    const verified = await api.post('/tokens/verify', { token: minted.json.token });
    expect(verified.json).toMatchObject({ valid: true, site: v.kid, keyVersion: 1, claims: { jti: minted.json.jti } });
  });

  it('generates a 64-byte key whose file verifies its tokens', async () => {
    expect((await api.post('/sites', { name: 'POOL', scopes: 'READ ADVERTISE_STARTD', lifetimeSeconds: 3600 })).status).toBe(201);
    const keyFile = Buffer.from(await (await fetch(`${svc.api}/sites/POOL/keyfile`, { headers: { authorization: `Bearer ${svc.adminKey}` } })).arrayBuffer());
    expect(keyFile.length).toBe(64);
    const minted = await api.post('/sites/POOL/tokens', { subject: 'pilot@frontend.example.org' });
    expect(minted.status).toBe(201);
    expect(minted.json.expiresAt - minted.json.issuedAt).toBe(3600);
    expect(decodeToken(minted.json.token).payload.scope).toBe('condor:/READ condor:/ADVERTISE_STARTD');
    expect(collectorAccepts(minted.json.token, keyFile, 'POOL')).toBe(true);
    // The POOL key is doubled before HKDF: without doubling a collector would reject it.
    expect(collectorAccepts(minted.json.token, keyFile, 'not-pool')).toBe(false);
  });

  it('revokes a token: verify says REVOKED and the condor expression names it', async () => {
    const minted = await api.post('/sites/el7_osg35/tokens', { lifetimeSeconds: 600 });
    const revoked = await api.post(`/tokens/${minted.json.jti}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ jti: minted.json.jti, state: 'revoked' });
    expect((await api.post(`/tokens/${minted.json.jti}/revoke`)).json.error.code).toBe('TOKEN_ALREADY_REVOKED');
    expect((await api.post('/tokens/verify', { token: minted.json.token })).json).toEqual({ valid: false, reason: 'REVOKED' });
    const expr = await api.get('/revocations/condor');
    expect(expr.headers.get('content-type')).toContain('text/plain');
    expect(expr.text).toBe(`jti =?= "${minted.json.jti}"\n`);
  });

  it('keeps a ledger that never holds a token, and an audit trail of every change', async () => {
    const ledger = await api.get('/tokens?site=el7_osg35');
    expect(ledger.status).toBe(200);
    // The admin's two tokens, and the site's current token, minted by the renewer when the site was created.
    const byAdmin = ledger.json.tokens.filter((t: { mintedBy: string }) => t.mintedBy === 'api-key:admin');
    expect(byAdmin.map((t: { state: string }) => t.state).sort()).toEqual(['active', 'revoked']);
    expect(ledger.json.tokens.filter((t: { mintedBy: string }) => t.mintedBy === 'system').map((t: { state: string }) => t.state)).toEqual(['active']);
    expect(ledger.text).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
    expect((await api.get('/tokens?state=revoked')).json.tokens).toHaveLength(1);

    const site = await api.get('/sites/el7_osg35');
    expect(site.json.activeTokenCount).toBe(2);
    expect(site.json.currentToken).toEqual({ jti: expect.stringMatching(/^[0-9a-f]{32}$/), issuedAt: expect.any(String), expiresAt: expect.any(String) });
    expect(site.json.keys).toEqual([expect.objectContaining({ version: 1, kid: 'el7_osg35', state: 'active', graceUntil: null })]);
    const audit = await api.get('/audit?target=site:el7_osg35');
    const actions = audit.json.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['site.create', 'site.keyfile.export', 'token.mint', 'token.revoke', 'token.renew']));
    expect(
      audit.json.entries.every((e: { actor: string; requestId: string }) => ['api-key:admin', 'system', 'system:renewal'].includes(e.actor) && e.requestId),
    ).toBe(true);
    expect(audit.text).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    const ready = await (await fetch(`${svc.url}/readyz`)).json();
    expect(ready).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok', keys: 'ok', writes: 'ok' } });
    const metrics = await (await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${svc.adminKey}` } })).text();
    expect(metrics).toContain('glidekey_tokens_minted_total{site="el7_osg35"} 3');
    expect(metrics).toMatch(/glidekey_token_verifications_total\{result="valid"\} 1/);
    expect(metrics).toMatch(/glidekey_token_verifications_total\{result="REVOKED"\} 1/);
    expect(metrics).toMatch(/glidekey_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/sites\/:site\/tokens".*\}/);
    expect(metrics).not.toContain(svc.adminKey);
    const doc = (await (await fetch(`${svc.url}/api/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/sites', '/api/v1/sites/{site}/tokens', '/api/v1/tokens/verify']));
    // Every route documents the error body, and the bearer scheme says what the secrets look like.
    const full = doc as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
      components: {
        schemas: Record<string, { properties: { error: { required: string[] } } }>;
        securitySchemes: Record<string, { scheme: string; bearerFormat: string }>;
      };
    };
    const ops = Object.values(full.paths).flatMap((item) => Object.values(item));
    expect(ops.length).toBeGreaterThan(30);
    for (const op of ops)
      for (const range of ['4XX', '5XX']) expect(op.responses[range].content?.['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    expect(full.components.schemas.ErrorBody.properties.error.required).toEqual(['code', 'message']);
    expect(full.components.securitySchemes.bearer).toMatchObject({
      scheme: 'bearer',
      bearerFormat: expect.stringMatching(/^gk_<16 hex id>_<43 base64url> \(API key\)/),
    });
    expect(svc.adminKey).toMatch(/^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect((await fetch(`${svc.url}/api/docs`)).status).toBe(200);
  });

  it('logs one structured line per request with a request id and no secrets', async () => {
    const res = await fetch(`${svc.api}/sites`, { headers: { authorization: `Bearer ${svc.adminKey}`, 'x-request-id': 'walkthrough-42' } });
    expect(res.headers.get('x-request-id')).toBe('walkthrough-42');
    await new Promise((r) => setTimeout(r, 200));
    const line = svc
      .output()
      .split('\n')
      .find((l) => l.includes('walkthrough-42'));
    expect(JSON.parse(line!)).toMatchObject({ requestId: 'walkthrough-42', method: 'GET', route: '/api/v1/sites', status: 200, actor: 'admin' });
    expect(svc.output()).not.toContain(svc.adminKey);
    expect(svc.output()).not.toMatch(/eyJhbGciOi[A-Za-z0-9_-]+\.eyJ/);
  });
});
