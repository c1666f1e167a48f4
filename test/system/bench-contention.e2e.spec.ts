// Runs bench/contention.js briefly (2-second phases) against the real service with the full
// 300,000-row ledger and audit log: every probe answered as it should under the load, the load
// itself answered as it should (bad tickets 429 once over the limit), and the figures printed.
// The latency ratios are printed, not asserted: on a shared 2-core machine they measure the
// machine as much as the service (see README, "Contention").
// @ts-expect-error plain-JS benchmark module, no types
import { runContention } from '../../bench/contention.js';

interface Probe {
  n: number;
  p50Ms: number;
  statuses: Record<string, number>;
}
interface Result {
  idle: { mint: Probe; fetch: Probe };
  loaded: { mint: Probe; fetch: Probe };
  load: { counts: Record<string, number> };
  mintRatio: number;
  fetchRatio: number;
}

describe('contention (bench/contention.js, briefly)', () => {
  it('keeps serving mints and glidein fetches while /metrics, big lists and a ticket flood run', async () => {
    const r: Result = await runContention({ phaseSeconds: 2, tickets: 5000 });
    for (const phase of [r.idle, r.loaded]) {
      expect(Object.keys(phase.mint.statuses)).toEqual(['201']);
      expect(Object.keys(phase.fetch.statuses)).toEqual(['200']);
      expect(phase.mint.n).toBeGreaterThan(0);
      expect(phase.fetch.n).toBeGreaterThan(0);
    }
    const c = r.load.counts;
    const of = (prefix: string) => Object.entries(c).filter(([k]) => k.startsWith(prefix));
    for (const kind of ['metrics', '/tokens', '/audit']) expect([kind, of(`${kind} `).map(([k]) => k)]).toEqual([kind, [`${kind} 200`]]);
    // The first tickets.failureLimit (20) are 401; every one after is 429 (how many the flood
    // reaches depends on the machine's spare CPU).
    expect(
      of('bad-ticket ')
        .map(([k]) => k)
        .sort(),
    ).toEqual(['bad-ticket 401', 'bad-ticket 429']);
    expect(c['bad-ticket 401']).toBe(20);
    expect(Number.isFinite(r.mintRatio) && Number.isFinite(r.fetchRatio)).toBe(true);
  }, 120_000);
});
