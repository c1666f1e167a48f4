import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, removeDir, ROOT, Service, startService, tempDir } from '../support/service.js';

/**
 * Issue 12, renewal inside a running glidein: with a 2-minute site token, a glidein bootstrapped
 * once keeps a valid token for 10 minutes through the script's renew mode alone. A frontend process
 * keeps the site's current token fresh (renewed at half its life, scheduler tick 1 s) and forwards
 * it; a factory process caches it; the glidein runs `glidein-fetch-token.sh --renew` whenever the
 * last run said to (GLIDEKEY_RENEW_IN). Every 5 s the token file must hold a token that verifies at
 * the frontend with time left. This takes 10 minutes: the jest sequencer starts it first, so it
 * overlaps the rest of the suite on the other worker.
 */

const SCRIPT = join(ROOT, 'scripts', 'glidein-fetch-token.sh');
const SOAK_MS = 10 * 60_000;
const CHECK_EVERY_MS = 5_000;
const SITE = 'T2_Soak';
const ENTRY = 'OSG_Soak_ce1';
/** An entry whose pilots may renew for one minute only: its glidein's renew mode must then exit 9. */
const SHORT = 'OSG_Soak_short';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runScript(env: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const p = spawn('dash', [SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => ok({ code, stdout, stderr }));
  });
}

/** GLIDEKEY_RENEW_IN from the script's export lines. */
const renewIn = (stdout: string) => Number(/GLIDEKEY_RENEW_IN=(\d+)/.exec(stdout)?.[1] ?? NaN);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('glidein renewal soak: a 2-minute token kept valid for 10 minutes by the renew mode alone', () => {
  const work = tempDir('glidekey-soak-');
  let fe: Service;
  let fa: Service;
  const feApi = () => client(fe.api, fe.adminKey);
  const faApi = () => client(fa.api, fa.adminKey);
  const scriptEnv = (ticket = '') => ({ GLIDEKEY_URL: fa.url, GLIDEKEY_ALLOW_HTTP: '1', GLIDEKEY_TICKET: ticket, GLIDEKEY_MAX_WAIT: '5' });

  beforeAll(async () => {
    [fe, fa] = await Promise.all([
      startService({
        env: {
          GLIDEKEY_ROLES: 'frontend',
          GLIDEKEY_SCHEDULER_TICK_SECONDS: '1',
          GLIDEKEY_TOKENS_RENEW_FRACTION: '0.5',
          GLIDEKEY_FORWARDING_RETRY_BASE_SECONDS: '1',
          GLIDEKEY_FORWARDING_RETRY_MAX_SECONDS: '2',
          // A 2-minute token has less than the default 300 s left from birth: it must still be forwarded.
          GLIDEKEY_FORWARDING_MIN_LIFETIME_SECONDS: '30',
        },
      }),
      // A glidein is handed a cached token with at least 20 s left (the default 600 s exceeds the whole lifetime).
      startService({ env: { GLIDEKEY_ROLES: 'factory', GLIDEKEY_TICKETS_MIN_TOKEN_LIFETIME_SECONDS: '20' } }),
    ]);
    const identity = (await feApi().get('/frontend/identity')).json;
    const reg = await faApi().post('/factory/frontends', { name: identity.name, publicKey: identity.publicKey });
    expect(reg.status).toBe(201);
    const faIdentity = (await faApi().get('/factory/identity')).json;
    expect((await feApi().post('/factories', { name: 'factory-1', url: fa.url, apiKey: reg.json.apiKey, publicKey: faIdentity.publicKey })).status).toBe(201);
    const entry = { site: SITE, gatekeeper: 'ce1.example.org:9619', trustDomain: 'OSG', authMethod: 'grid_proxy,scitoken', condorVersion: '23.0.3' };
    expect((await faApi().put(`/factory/entries/${ENTRY}`, entry)).status).toBe(201);
    expect((await faApi().put(`/factory/entries/${SHORT}`, { ...entry, maxPilotLifeSeconds: 60 })).status).toBe(201);
    expect((await feApi().post('/sites', { name: SITE, lifetimeSeconds: 120 })).status).toBe(201);
    for (const e of [ENTRY, SHORT]) {
      await until(`the IDTOKEN of ${e} in the factory cache`, async () =>
        (await faApi().get(`/factory/cache?entry=${e}`)).json.some((c: { type: string; state: string }) => c.type === 'idtoken' && c.state !== 'missing')
          ? true
          : undefined,
      );
    }
  });

  afterAll(async () => {
    await Promise.all([fe?.stop(), fa?.stop()]);
    for (const s of [fe, fa]) if (s) removeDir(s.dataDir);
    removeDir(work);
  });

  it(
    'at every check the token file holds a token that verifies with time left; the frontend renewed and the glidein renewed many times; the short pilot stops (exit 9)',
    async () => {
      const ticketFor = async (entry: string) =>
        (await faApi().post(`/factory/entries/${entry}/tickets`, { frontend: 'frontend.example.org', count: 1 })).json.tickets[0] as string;
      const dir = join(work, 'glidein');
      const boot = await runScript(scriptEnv(await ticketFor(ENTRY)), [dir]);
      expect([boot.code, boot.stderr]).toEqual([0, '']);
      const shortDir = join(work, 'short');
      const shortBoot = await runScript(scriptEnv(await ticketFor(SHORT)), [shortDir]);
      expect(shortBoot.code).toBe(0);
      const shortBornAt = Date.now();
      const tokenFile = join(dir, `${SITE}.idtoken`);
      const start = Date.now();
      const end = start + SOAK_MS;

      // The glidein: renew mode whenever the last run said to, and nothing else.
      const renewals: { code: number | null; stderr: string }[] = [];
      const glidein = (async () => {
        let wait = renewIn(boot.stdout);
        for (;;) {
          expect(wait).toBeGreaterThan(0);
          if (Date.now() + wait * 1000 >= end) return;
          await sleep(wait * 1000);
          const r = await runScript(scriptEnv(), ['--renew', dir]);
          renewals.push({ code: r.code, stderr: r.stderr });
          if (r.code !== 0) return;
          wait = renewIn(r.stdout);
        }
      })();

      // The short-lived pilot: renews within its minute, then is told its life is over.
      const shortPilot = (async () => {
        const first = await runScript(scriptEnv(), ['--renew', shortDir]);
        await sleep(Math.max(0, shortBornAt + 62_000 - Date.now()));
        const over = await runScript(scriptEnv(), ['--renew', shortDir]);
        return [first.code, over.code, over.stderr];
      })();

      // The checks: the file's token verifies at the frontend and has time left.
      const failures: string[] = [];
      const jtis = new Set<string>();
      let checks = 0;
      while (Date.now() < end) {
        const token = readFileSync(tokenFile, 'utf8').trimEnd();
        const v = (await feApi().post('/tokens/verify', { token })).json;
        const left = (v.claims?.exp ?? 0) - Date.now() / 1000;
        checks++;
        if (!v.valid || !(left > 0))
          failures.push(`after ${Math.round((Date.now() - start) / 1000)} s: valid=${v.valid} reason=${v.reason} left=${Math.round(left)} s`);
        if (v.claims?.jti) jtis.add(v.claims.jti);
        await sleep(CHECK_EVERY_MS);
      }
      await glidein;

      expect(failures).toEqual([]);
      expect(checks).toBeGreaterThanOrEqual(100);
      expect(renewals.filter((r) => r.code !== 0)).toEqual([]);
      // About one renewal a minute (2/3 of the 60-120 s a cached token has left).
      expect(renewals.length).toBeGreaterThanOrEqual(8);
      // The tokens the glidein held were really renewed ones: about one new token a minute.
      expect(jtis.size).toBeGreaterThanOrEqual(6);
      // The frontend renewed the site's token at that pace (the factory only forwards what it gets).
      const renewed = (await feApi().get(`/audit?action=token.renew&target=site:${SITE}&limit=1000`)).json.entries.length;
      expect(renewed).toBeGreaterThanOrEqual(9);
      expect(await shortPilot).toEqual([0, 9, "glidekey: the pilot's life is over: no more renewals (HTTP 403 PILOT_LIFE_OVER)\n"]);
      // The factory served every renewal of the long pilot under one renewal id.
      const row = (await faApi().get(`/factory/renewals?entry=${ENTRY}`)).json[0];
      expect(row).toMatchObject({ entry: ENTRY, renewals: renewals.length, revokedAt: null });
    },
    SOAK_MS + 3 * 60_000,
  );
});
