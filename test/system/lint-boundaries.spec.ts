import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { analyse } from '../../scripts/boundaries.js';
import { ROOT, tempDir } from '../support/service.js';

/**
 * The capability-boundary checker (scripts/boundaries.js, and the ESLint rules built on it) on
 * small source trees written to a temp dir: what it counts, what it lets through, its exit code.
 */
describe('scripts/boundaries.js', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A tree of the given files (paths relative to its root); returns the root. */
  function tree(files: Record<string, string>): string {
    const root = tempDir('glidekey-boundaries-');
    dirs.push(root);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    return root;
  }

  // Allowed everywhere below: an entity imported inside its own folder, by the registry and by a
  // migration, a shared folder used by everyone, packages, a file directly under src/.
  const clean = {
    'src/sites/site.entity.ts': "import { Entity } from 'typeorm';\n@Entity() export class Site {}\n",
    'src/sites/sites.service.ts':
      "import { Site } from './site.entity.js';\nimport { clock } from '../common/clock.js';\nexport const all = (): Site[] => [clock()].map(() => new Site());\n",
    'src/sites/index.ts': "export { all } from './sites.service.js';\n",
    'src/tokens/tokens.service.ts': "import { all } from '../sites/index.js';\nexport const mint = () => all();\n",
    'src/common/clock.ts': 'export const clock = () => 0;\n',
    'src/database/entities.ts': "import { Site } from '../sites/site.entity.js';\nexport const ENTITIES = [Site];\n",
    'src/app.module.ts': "import { Site } from './sites/site.entity.js';\nimport { mint } from './tokens/tokens.service.js';\nexport const x = [Site, mint];\n",
    'migrations/1-Init.ts': "import { Site } from '../src/sites/site.entity.js';\nexport const m = Site;\n",
  };

  const run = (root: string) => spawnSync(process.execPath, [join(ROOT, 'scripts', 'boundaries.js'), '--src', 'src'], { cwd: root, encoding: 'utf8' });

  it('counts nothing on a clean tree, and exits 0', () => {
    const root = tree(clean);
    const r = analyse({ srcDir: join(root, 'src') });
    expect(r.entityImports).toEqual([]);
    expect(r.cycles).toEqual([]);
    expect(r.sharedCycles).toEqual([]);
    const cli = run(root);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('cross-capability entity imports: 0\n');
    expect(cli.stdout).toContain('folder cycles: 0\n');
  });

  it('counts one cross-capability entity import and one folder cycle, and exits 1', () => {
    const root = tree({
      ...clean,
      // tokens reads sites' table: the one foreign entity import (a type-only one counts too).
      'src/tokens/ledger.ts': "import type {\n  Site,\n} from '../sites/site.entity.js';\nexport const count = (s: Site[]) => s.length;\n",
      // sites uses tokens while tokens uses sites: the one folder cycle.
      'src/sites/revoke.ts': "export async function revoke() {\n  return (await import('../tokens/tokens.service.js')).mint();\n}\n",
    });
    const r = analyse({ srcDir: join(root, 'src') });
    expect(r.entityImports.map((e) => [e.from.slice(root.length), e.line, e.to.slice(root.length), e.typeOnly])).toEqual([
      ['/src/tokens/ledger.ts', 1, '/src/sites/site.entity.ts', true],
    ]);
    expect(r.cycles).toEqual([['sites', 'tokens', 'sites']]);
    const cli = run(root);
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain('cross-capability entity imports: 1\n');
    expect(cli.stdout).toContain('  src/tokens/ledger.ts:1 imports src/sites/site.entity.ts (type only)\n');
    expect(cli.stdout).toContain('folder cycles: 1\n  sites ⇄ tokens\n');
  });

  it('finds a cycle through three folders, and lists cycles through shared folders without counting them', () => {
    const root = tree({
      ...clean,
      'src/a/a.ts': "export * from '../b/b.js';\n",
      'src/b/b.ts': "export { c } from '../c/c.js';\n",
      'src/c/c.ts': "import '../a/a.js';\nexport const c = 1;\n",
      // common ⇄ config: both shared, so listed apart and not counted.
      'src/config/settings.ts': "import { clock } from '../common/clock.js';\nexport const s = clock;\n",
      'src/common/read.ts': "import { s } from '../config/settings.js';\nexport const r = s;\n",
    });
    const r = analyse({ srcDir: join(root, 'src') });
    expect(r.entityImports).toEqual([]);
    expect(r.cycles).toEqual([['a', 'b', 'c', 'a']]);
    expect(r.sharedCycles).toEqual([['common', 'config', 'common']]);
    // Treating every folder as a capability counts the shared cycle as well.
    expect(analyse({ srcDir: join(root, 'src'), shared: [] }).cycles).toEqual([
      ['common', 'config', 'common'],
      ['a', 'b', 'c', 'a'],
    ]);
    const cli = run(root);
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain('folder cycles: 1\n  a → b → c → a\n');
  });

  it('reports the same findings as ESLint errors on the import lines', async () => {
    const root = tree({
      ...clean,
      'src/tokens/ledger.ts': "import type { Site } from '../sites/site.entity.js';\nexport const count = (s: Site[]) => s.length;\n",
      'src/sites/revoke.ts': "import { mint } from '../tokens/tokens.service.js';\nexport const revoke = () => mint();\n",
    });
    const { ESLint } = await import('eslint');
    const tseslint = (await import('typescript-eslint')).default;
    const glidekey = (await import(join(ROOT, 'eslint-rules', 'boundaries.js'))).default;
    const eslint = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: [
        {
          files: ['**/*.ts'],
          languageOptions: { parser: tseslint.parser },
          plugins: { glidekey },
          rules: { 'glidekey/no-foreign-entity-import': 'error', 'glidekey/no-folder-cycle': 'error' },
        },
      ],
    });
    const found = (await eslint.lintFiles(['src/**/*.ts', 'migrations/**/*.ts']))
      .flatMap((f) => f.messages.map((m) => [f.filePath.slice(root.length), m.line, m.ruleId, m.severity]))
      .sort();
    expect(found).toEqual([
      // Every import that closes sites ⇄ tokens is reported, in both folders.
      ['/src/sites/revoke.ts', 1, 'glidekey/no-folder-cycle', 2],
      ['/src/tokens/ledger.ts', 1, 'glidekey/no-folder-cycle', 2],
      ['/src/tokens/ledger.ts', 1, 'glidekey/no-foreign-entity-import', 2],
      ['/src/tokens/tokens.service.ts', 1, 'glidekey/no-folder-cycle', 2],
    ]);
  });
});
