// Runs `node bench/scale.js --quick --sqlite-only` (every size / 20) against the real service and
// checks that it completes and prints every figure with its small-database baseline and ratio, the
// revocation expression over exactly the revoked jtis it seeded and a passwords.d file per site.
// The timing goals are printed, not asserted: on a shared 2-core machine they measure the machine
// as much as the service (the full-size run is `npm run bench:scale`).
import { execFile } from 'node:child_process';
import { ROOT } from '../support/service.js';

const FIGURES = [
  'mint p50 (ms)',
  'mint p99 (ms)',
  'GET /tokens first page p50 (ms)',
  'GET /tokens deep cursor p50 (ms)',
  'GET /tokens site= p50 (ms)',
  'GET /tokens state=revoked p50 (ms)',
  'GET /audit first page p50 (ms)',
  'GET /audit deep before= p50 (ms)',
  'GET /audit action= p50 (ms)',
  'GET /audit actor= p50 (ms)',
  'GET /audit target= p50 (ms)',
  'GET /audit result= p50 (ms)',
  'revocation expression, 5,000 jtis (ms)',
  'revocation set query (ms)',
  'passwords.d full sync (start-up), 500 files (ms)',
  'passwords.d full sync per file (ms)',
  'passwords.d sync, nothing changed (ms)',
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NUM = '[0-9][0-9,.]*';

describe('bench/scale.js --quick --sqlite-only', () => {
  it('completes and prints every figure against its small-database baseline', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIDEKEY_')));
      execFile(
        process.execPath,
        ['bench/scale.js', '--quick', '--sqlite-only'],
        { cwd: ROOT, env, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    expect([code, code === 0 ? '' : stderr.slice(-3000)]).toEqual([0, '']);
    expect(stdout).toMatch(/^SQLite: 500 sites, 50,000 ledger rows, 5,000 revoked jtis, 50,000 audit lines vs 10 sites/m);
    expect(stdout).not.toMatch(/PostgreSQL:/);
    for (const f of FIGURES) {
      const line = new RegExp(`^  ${escape(f)} +scale +${NUM} +small +${NUM} +ratio +${NUM} +(MET|MISSED|no goal)`, 'm');
      expect([f, line.test(stdout)]).toEqual([f, true]);
    }
    // Every listed page came back full (100 rows) on the big database.
    for (const f of FIGURES.filter((x) => x.startsWith('GET '))) expect(stdout).toMatch(new RegExp(`^  ${escape(f)} .*\\(max ${NUM}, 100 rows\\)$`, 'm'));
    expect(stdout).toMatch(/^ {2}site creation through POST \/sites: 500 in /m);
    expect(stdout).toMatch(/^ {2}list pacing at the default 50\/s: /m);
  }, 180_000);
});
