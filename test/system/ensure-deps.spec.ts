import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../support/service.js';

/**
 * scripts/ensure-deps.sh (npm start's prestart) in a copy of the tree's shape, with an `npm` on
 * PATH that records what it was asked to do: the real tree's dist/ is never rebuilt under a test run.
 */
describe('scripts/ensure-deps.sh', () => {
  let dir: string;
  const OLD = new Date('2026-01-01T00:00:00Z');
  const NEW = new Date('2026-01-02T00:00:00Z');
  const at = (rel: string, when: Date) => utimesSync(join(dir, rel), when, when);

  beforeEach(() => {
    dir = tempDir('glidekey-ensure-');
    for (const d of ['scripts', 'src', 'migrations', 'config', 'node_modules', 'dist', 'bin']) mkdirSync(join(dir, d));
    copyFileSync(join(ROOT, 'scripts', 'ensure-deps.sh'), join(dir, 'scripts', 'ensure-deps.sh'));
    for (const f of [
      'src/main.ts',
      'migrations/1-Init.ts',
      'config/default.yaml',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'tsconfig.migrations.json',
      'nest-cli.json',
    ])
      writeFileSync(join(dir, f), '');
    writeFileSync(join(dir, 'node_modules', '.package-lock.json'), '');
    writeFileSync(join(dir, 'dist', '.built'), '');
    writeFileSync(
      join(dir, 'bin', 'npm'),
      `#!/bin/sh\necho "$*" >> "${join(dir, 'npm.log')}"\n[ "$1 $2" = "run build" ] && : > dist/.built\n[ "$1" = ci ] && : > node_modules/.package-lock.json\nexit 0\n`,
    );
    chmodSync(join(dir, 'bin', 'npm'), 0o755);
    for (const f of [
      'src',
      'src/main.ts',
      'migrations',
      'migrations/1-Init.ts',
      'config',
      'config/default.yaml',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'tsconfig.migrations.json',
      'nest-cli.json',
    ])
      at(f, OLD);
    at('node_modules/.package-lock.json', NEW);
    at('dist/.built', NEW);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ensure = (...args: string[]) => {
    execFileSync('sh', [join(dir, 'scripts', 'ensure-deps.sh'), ...args], { env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}` }, stdio: 'ignore' });
    let log = '';
    try {
      log = readFileSync(join(dir, 'npm.log'), 'utf8');
    } catch {
      // npm was not run
    }
    rmSync(join(dir, 'npm.log'), { force: true });
    return log.trim().split('\n').filter(Boolean);
  };

  it('installs and builds nothing on an installed, built tree', () => {
    expect(ensure('--build')).toEqual([]);
  });

  it('builds when a source is newer than the build, or when the build never finished', () => {
    at('src/main.ts', new Date('2026-01-03T00:00:00Z'));
    expect(ensure('--build')).toEqual(['run build']);
    expect(ensure('--build')).toEqual([]);
    writeFileSync(join(dir, 'migrations', '2-New.ts'), '');
    expect(ensure('--build')).toEqual(['run build']);
    rmSync(join(dir, 'dist', '.built'));
    expect(ensure('--build')).toEqual(['run build']);
  });

  it('installs when node_modules is missing or older than the lockfile, and builds only with --build', () => {
    const later = new Date('2026-01-03T00:00:00Z');
    at('package-lock.json', later);
    expect(ensure()).toEqual(['ci --no-audit --no-fund']);
    rmSync(join(dir, 'node_modules', '.package-lock.json'));
    expect(ensure('--build')).toEqual(['ci --no-audit --no-fund', 'run build']);
    expect(ensure('--build')).toEqual([]);
  });
});
