import { randomBytes } from 'node:crypto';
import { GlideinService } from '../../src/glidein/glidein.service.js';
import { RenewalService } from '../../src/glidein/renewal.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { factorySetup, fetchCredentials, mintToken, seedCache } from '../support/glidein.js';
import { client } from '../support/service.js';

/**
 * Issue 11 item 7: a known ticket id with a wrong secret answered ~300 us slower than an unknown
 * id (a second query for the entry), so refusals told a prober which ids exist. Statistical, and
 * built to hold on a loaded 2-core machine: the two kinds are interleaved in random order (drift
 * and load hit both alike), the statistic is the median of per-pair differences (one stall moves
 * it little; the difference of two separate medians swings by 100+ us under load), the sample
 * count is bounded, and the bound is generous against the old gap.
 */
const PAIRS = 400;
const WARMUP = 40;
/**
 * The old gap, measured here: ~110 us on SQLite, ~470 us on PostgreSQL (loopback). Equal work
 * leaves ~1 us and ~10-20 us; the bounds sit between, far from both.
 */
const BOUND_US = { sqlite: 40, postgres: 150 } as const;

const b64url = () => randomBytes(32).toString('base64url').slice(0, 43);
const hex = () => randomBytes(8).toString('hex');

/** Both bearers a glidein presents: the bootstrap ticket and the renewal credential (the same lookup recipe). */
const KINDS = [
  { kind: 'ticket', prefix: 'gkt', invalid: 'TICKET_INVALID', call: (t: TestApp, bearer: string) => t.app.get(GlideinService).fetch(bearer, '192.0.2.7') },
  {
    kind: 'renewal credential',
    prefix: 'gkr',
    invalid: 'RENEWAL_INVALID',
    call: (t: TestApp, bearer: string) => t.app.get(RenewalService).renew(bearer, '192.0.2.7'),
  },
] as const;
const CASES = ENGINES.flatMap((engine) => KINDS.map((k) => [k.kind, engine, k] as const));

describe.each(CASES)('%s refusals take the same time whether the id exists, on %s', (_name, engine, kind) => {
  let t: TestApp;
  let known: string[];

  beforeAll(async () => {
    // A limit of 3: nearly every sample below is refused while rate-limited, as in the report.
    t = await startTestApp({
      engine,
      env: { GLIDEKEY_TICKETS_FAILURE_LIMIT: '3', GLIDEKEY_TICKETS_MAX_COUNT: '1000', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' },
    });
    const { frontend } = await factorySetup(t, { entry: 'E1', site: 'SiteA' });
    const res = await client(t.api, t.adminKey).post('/factory/entries/E1/tickets', { frontend, count: 50 });
    known = (res.json.tickets as string[]).map((k) => k.split('_')[1]);
    if (kind.prefix === 'gkr') {
      // Known renewal ids: 50 glideins bootstrapped.
      const token = await mintToken(t, 'SiteA');
      await seedCache(t, { frontend, entry: 'E1', type: 'idtoken', value: token.token, expiresAt: token.expiresAt });
      known = await Promise.all(
        (res.json.tickets as string[]).map(async (ticket) => ((await fetchCredentials(t, ticket)).json.renewal as string).split('_')[1]),
      );
    }
  });
  afterAll(() => t?.close());

  it('a known id with a wrong secret and an unknown id: medians of paired differences within the bound', async () => {
    const once = async (bearer: string): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const code = await kind.call(t, bearer).then(
        () => 'OK',
        (err: { code?: string }) => err.code,
      );
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      expect([kind.invalid, 'RATE_LIMITED']).toContain(code);
      return us;
    };
    const knownBearer = (i: number) => `${kind.prefix}_${known[i % known.length]}_${b64url()}`;
    const unknownBearer = () => `${kind.prefix}_${hex()}_${b64url()}`;
    for (let i = 0; i < WARMUP; i++) {
      await once(knownBearer(i));
      await once(unknownBearer());
    }
    const diffs: number[] = [];
    const k: number[] = [];
    const u: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      let a: number, b: number;
      if (Math.random() < 0.5) {
        a = await once(knownBearer(i));
        b = await once(unknownBearer());
      } else {
        b = await once(unknownBearer());
        a = await once(knownBearer(i));
      }
      k.push(a);
      u.push(b);
      diffs.push(a - b);
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((x, y) => x - y);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const trimmedMean = (xs: number[], f = 0.2) => {
      const s = [...xs].sort((x, y) => x - y).slice(Math.floor(xs.length * f), Math.ceil(xs.length * (1 - f)));
      return s.reduce((x, y) => x + y, 0) / s.length;
    };
    const stats = { medianDiff: median(diffs), trimmedDiff: trimmedMean(diffs), medianKnown: median(k), medianUnknown: median(u) };
    const round = (x: number) => Math.round(x * 10) / 10;
    const shown = `median paired difference ${round(stats.medianDiff)} us, 20%-trimmed ${round(stats.trimmedDiff)} us, medians ${round(stats.medianKnown)} / ${round(stats.medianUnknown)} us`;
    expect({ engine, kind: kind.kind, shown, within: Math.abs(stats.medianDiff) < BOUND_US[engine] }).toEqual({ engine, kind: kind.kind, shown, within: true });
  }, 60_000);
});
