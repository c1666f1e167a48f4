import { exportJWK, SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, freePort, removeDir, Service, startService, tempDir } from './service.js';

/**
 * A frontend process and a factory process (SQLite each, own data dirs, loopback ports) that have
 * registered each other, for the lifecycle tests: the frontend ticks every second and retries fast.
 */

export const FRONTEND = 'frontend.example.org';
export const ISSUER = 'https://vo-issuer.example.org';
/** A JWT anywhere in a text. */
export const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g;

export interface CacheRow {
  frontend: string | null;
  entry: string;
  type: string;
  state: string;
  version: number | null;
  fingerprint: string | null;
  withdrawnAt?: string;
  reason?: string;
}

export interface DeliveryRow {
  id: string;
  factory: string;
  entry: string;
  type: 'idtoken' | 'scitoken';
  kind: 'credential' | 'withdrawal';
  reason: string | null;
  source: string;
  version: number;
  state: string;
  lastError: string | null;
}

/** Polls `probe` until it returns something other than undefined; fails with `what` at the deadline. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const entryBody = (site: string, over: Record<string, unknown> = {}) => ({
  site,
  gatekeeper: 'ce.example.org:9619',
  trustDomain: 'OSG',
  authMethod: 'grid_proxy,scitoken',
  condorVersion: '23.0.3',
  ...over,
});

export class Pair {
  readonly cacheDir = tempDir('glidekey-pair-cache-');
  readonly rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly feEnv: Record<string, string> = {
    GLIDEKEY_ROLES: 'frontend',
    GLIDEKEY_SCHEDULER_TICK_SECONDS: '1',
    GLIDEKEY_FORWARDING_RETRY_BASE_SECONDS: '1',
    GLIDEKEY_FORWARDING_RETRY_MAX_SECONDS: '2',
  };
  readonly faEnv: Record<string, string> = { GLIDEKEY_ROLES: 'factory', GLIDEKEY_FACTORY_CACHE_DIR: this.cacheDir };
  /** Every process started (restarts included), for the leak check at the end. */
  readonly all: Service[] = [];
  fe!: Service;
  fa!: Service;
  faPort!: number;
  private feKey!: string;
  private faKey!: string;
  /** Every answer a glidein got, to show none carried a revoked or withdrawn credential. */
  readonly answers: string[] = [];

  feApi = () => client(this.fe.api, this.feKey);
  faApi = () => client(this.fa.api, this.faKey);

  async start(): Promise<void> {
    this.faPort = await freePort();
    [this.fe, this.fa] = await Promise.all([startService({ env: this.feEnv }), startService({ env: this.faEnv, port: this.faPort })]);
    this.all.push(this.fe, this.fa);
    this.feKey = this.fe.adminKey;
    this.faKey = this.fa.adminKey;
    await this.register('factory-1', this.fa, this.faKey);
    const jwks = { keys: [{ ...(await exportJWK(this.rsa.publicKey)), kid: 'k1', alg: 'RS256' }] };
    expect((await this.feApi().put('/scitoken-issuers/vo', { issuer: ISSUER, jwks })).status).toBe(201);
  }

  /** Registers a factory process with the frontend (and the frontend with it). */
  async register(name: string, fa: Service, faKey: string): Promise<void> {
    const identity = (await this.feApi().get('/frontend/identity')).json;
    const reg = await client(fa.api, faKey).post('/factory/frontends', { name: identity.name, publicKey: identity.publicKey });
    expect(reg.status).toBe(201);
    const faIdentity = (await client(fa.api, faKey).get('/factory/identity')).json;
    expect((await this.feApi().post('/factories', { name, url: fa.url, apiKey: reg.json.apiKey, publicKey: faIdentity.publicKey })).status).toBe(201);
  }

  async stop(): Promise<void> {
    await Promise.all([this.fe?.stop(), this.fa?.stop()]);
    for (const p of this.all) removeDir(p.dataDir);
    removeDir(this.cacheDir);
  }

  async restartFactory(): Promise<void> {
    this.fa = await startService({ env: this.faEnv, dataDir: this.fa.dataDir, port: this.faPort });
    this.all.push(this.fa);
  }

  async restartFrontend(env: Record<string, string> = {}): Promise<void> {
    this.fe = await startService({ env: { ...this.feEnv, ...env }, dataDir: this.fe.dataDir });
    this.all.push(this.fe);
  }

  async putEntry(name: string, site: string, over: Record<string, unknown> = {}): Promise<void> {
    expect((await this.faApi().put(`/factory/entries/${name}`, entryBody(site, over))).status).toBeLessThan(300);
  }

  async sciToken(hours = 48): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: ISSUER,
      sub: 'vo-pilot',
      aud: 'https://ce.example.org',
      scope: 'compute.create',
      iat: now,
      nbf: now,
      exp: now + hours * 3600,
      'wlcg.ver': '1.0',
      jti: `j-${Math.random()}`,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(this.rsa.privateKey);
  }

  fileOf(entry: string, type: 'idtoken' | 'scitoken'): string {
    return join(this.cacheDir, `user_${FRONTEND}`, 'glidein_gfactory_instance', `credential_${FRONTEND}.main_${entry}.${type}`);
  }

  readCred(entry: string, type: 'idtoken' | 'scitoken'): string | undefined {
    const f = this.fileOf(entry, type);
    return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
  }

  async cacheRow(entry: string, type: string, fa = this.faApi()): Promise<CacheRow | undefined> {
    const res = await fa.get(`/factory/cache?entry=${entry}`);
    expect(res.status).toBe(200);
    return (res.json as CacheRow[]).find((c) => c.type === type);
  }

  async deliveries(q = ''): Promise<DeliveryRow[]> {
    const res = await this.feApi().get(`/deliveries?limit=1000${q}`);
    expect(res.status).toBe(200);
    return res.json as DeliveryRow[];
  }

  async verify(token: string): Promise<{ valid: boolean; reason?: string; site?: string; claims: { jti: string; sub: string; iat: number } }> {
    return (await this.feApi().post('/tokens/verify', { token })).json;
  }

  async currentJti(site: string): Promise<string | null> {
    return (await this.feApi().get(`/sites/${site}`)).json.currentToken?.jti ?? null;
  }

  /** Waits until the factory's cache holds a valid idtoken other than `not` (in its file too); returns its text. */
  arrivedOther(entry: string, not: string | undefined, timeoutMs = 15_000): Promise<string> {
    return until(
      `a new idtoken for ${entry} at the factory`,
      async () => {
        const row = await this.cacheRow(entry, 'idtoken');
        const bytes = this.readCred(entry, 'idtoken');
        return row?.state === 'valid' && bytes !== undefined && bytes !== not ? bytes : undefined;
      },
      timeoutMs,
    );
  }

  /** Waits until (entry, type) reads `withdrawn` at the factory and its file is gone. */
  withdrawn(entry: string, type: 'idtoken' | 'scitoken', timeoutMs = 15_000): Promise<CacheRow> {
    return until(
      `${entry}/${type} withdrawn at the factory`,
      async () => {
        const row = await this.cacheRow(entry, type);
        return row?.state === 'withdrawn' && !existsSync(this.fileOf(entry, type)) ? row : undefined;
      },
      timeoutMs,
    );
  }

  async tickets(entry: string, count = 1): Promise<string[]> {
    const res = await this.faApi().post(`/factory/entries/${entry}/tickets`, { frontend: FRONTEND, count });
    expect(res.status).toBe(201);
    return res.json.tickets;
  }

  /** One glidein fetch; every answer is kept. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async fetchWith(ticket: string): Promise<{ status: number; json: any; text: string }> {
    const res = await fetch(`${this.fa.api}/glidein/credentials`, { method: 'POST', headers: { authorization: `Bearer ${ticket}` } });
    const text = await res.text();
    this.answers.push(text);
    return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
  }

  /** No glidein answer (since answer number `from`) carried `token`. */
  expectNeverServed(token: string, from = 0): void {
    expect(this.answers.slice(from).filter((a) => a.includes(token.split('.')[2]))).toEqual([]);
  }
}
