import { spawnSync } from 'node:child_process';
import { ROOT } from '../support/service.js';

/**
 * `npm run lint` as part of the suite, so CI keeps it: ESLint (recommended rules, the promise rules
 * with type information on src/, and the capability-boundary rules at error level), Prettier's
 * check, and scripts/boundaries.js, whose two counts must both be 0.
 */
describe('npm run lint', () => {
  it('passes: no ESLint finding, every file formatted, no cross-capability entity import and no folder cycle', () => {
    const run = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    expect(out).toMatch(/^cross-capability entity imports: 0$/m);
    expect(out).toMatch(/^folder cycles: 0$/m);
    expect({ status: run.status, out: run.status === 0 ? '' : out }).toEqual({ status: 0, out: '' });
  }, 300_000);
});
