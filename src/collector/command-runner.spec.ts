import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRunner } from './command-runner.js';

describe(CommandRunner.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'command-runner-'));
  const runner = new CommandRunner();
  const script = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes argv verbatim, without a shell, and keeps GLIDEKEY_* variables from the child', async () => {
    const out = join(dir, 'args');
    process.env.GLIDEKEY_TEST_SECRET = 'not for the child';
    try {
      const p = script('args.sh', `for a in "$@"; do echo "[$a]"; done > ${out}; echo "[\${GLIDEKEY_TEST_SECRET:-unset}]" >> ${out}`);
      const o = await runner.run([p, 'a b', '$HOME', '; touch pwned', '*'], 5000);
      expect(o).toMatchObject({ result: 'ok', code: 0, signal: null });
      expect(readFileSync(out, 'utf8')).toBe('[a b]\n[$HOME]\n[; touch pwned]\n[*]\n[unset]\n');
      expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
    } finally {
      delete process.env.GLIDEKEY_TEST_SECRET;
    }
  });

  it('reports a non-zero exit with the end of stderr', async () => {
    const o = await runner.run([script('fail.sh', 'echo "no collector" >&2; exit 7')], 5000);
    expect(o).toMatchObject({ result: 'failed', code: 7, signal: null, stderr: 'no collector\n' });
  });

  it('reports a command that cannot start', async () => {
    const o = await runner.run([join(dir, 'missing')], 5000);
    expect(o).toMatchObject({ result: 'failed', code: null, spawnError: 'ENOENT' });
  });

  it('kills a command at the timeout, with what it started in the background', async () => {
    const marker = join(dir, 'survived');
    const p = script('hang.sh', `(sleep 1; touch ${marker}) &\nsleep 30`);
    const o = await runner.run([p], 300);
    expect(o).toMatchObject({ result: 'timeout', signal: 'SIGKILL' });
    expect(o.durationMs).toBeGreaterThanOrEqual(300);
    expect(o.durationMs).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(marker)).toBe(false);
  });
});
