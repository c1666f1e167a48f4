import { randomUUID } from 'node:crypto';
import { Sealer } from '../../src/crypto/sealer.js';
import { CachedCredential, cachedCredentialAd, CredentialType } from '../../src/factory/cached-credential.entity.js';
import type { TestApp } from './app.js';
import { client } from './service.js';

/**
 * Puts a credential into the factory cache the way forwarding stores it (sealed with the app's own
 * Sealer, keyed fingerprint), replacing the entry's previous one of that type.
 */
export async function seedCache(
  t: TestApp,
  c: { frontend: string; entry: string; type: CredentialType; value: string; expiresAt: number; version?: number },
): Promise<void> {
  const sealer = t.app.get(Sealer);
  const row = Object.assign(new CachedCredential(), {
    frontend: c.frontend,
    entry: c.entry,
    type: c.type,
    version: c.version ?? 1,
    fingerprint: sealer.fingerprint(c.type, Buffer.from(c.value)),
    expiresAt: c.expiresAt,
    receivedAt: t.clock.now(),
    envelopeId: randomUUID(),
  });
  row.sealedValue = sealer.seal(Buffer.from(c.value), cachedCredentialAd(row));
  await t.db.tx((m) => m.save(CachedCredential, row));
}

/** Mints a real IDTOKEN for `site` (created when missing); expiresAt in Unix ms. */
export async function mintToken(t: TestApp, site: string, lifetimeSeconds?: number): Promise<{ token: string; expiresAt: number }> {
  const api = client(t.api, t.adminKey);
  if ((await api.get(`/sites/${site}`)).status === 404) expect((await api.post('/sites', { name: site })).status).toBe(201);
  const res = await api.post(`/sites/${site}/tokens`, lifetimeSeconds ? { lifetimeSeconds } : {});
  expect(res.status).toBe(201);
  return { token: res.json.token, expiresAt: res.json.expiresAt * 1000 };
}

/** A registered frontend and an entry for `site`, ready for tickets. */
export async function factorySetup(
  t: TestApp,
  opts: { frontend?: string; entry: string; site: string; glideinScitoken?: boolean },
): Promise<{ frontend: string }> {
  const api = client(t.api, t.adminKey);
  const frontend = opts.frontend ?? 'fe.example.org';
  if (!(await api.get('/factory/frontends')).json.some((f: { name: string }) => f.name === frontend)) {
    const publicKey = Buffer.from(frontend.padEnd(32, '#').slice(0, 32)).toString('base64');
    expect((await api.post('/factory/frontends', { name: frontend, publicKey })).status).toBe(201);
  }
  const entry = {
    site: opts.site,
    gatekeeper: 'ce.example.org:9619',
    trustDomain: 'OSG',
    authMethod: 'scitoken',
    condorVersion: '23.0.3',
    glideinScitoken: opts.glideinScitoken ?? false,
  };
  expect((await api.put(`/factory/entries/${opts.entry}`, entry)).status).toBeLessThan(300);
  return { frontend };
}

/** One glidein fetch with `ticket` as bearer. */
export async function fetchCredentials(t: { api: string }, ticket?: string) {
  const res = await fetch(`${t.api}/glidein/credentials`, { method: 'POST', headers: ticket === undefined ? {} : { authorization: `Bearer ${ticket}` } });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text, headers: res.headers };
}

/** One glidein renewal with `credential` as bearer. */
export async function renew(t: { api: string }, credential?: string) {
  const res = await fetch(`${t.api}/glidein/credentials/renew`, {
    method: 'POST',
    headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` },
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text, headers: res.headers };
}
