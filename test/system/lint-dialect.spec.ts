import { join } from 'node:path';
import { ROOT } from '../support/service.js';

/**
 * The dialect rule of eslint.config.js (issue 16): outside src/database/ no placeholder, lock
 * clause, engine keyword or engine test is written by hand; src/database/ itself may.
 */
describe('the dialect lint rule', () => {
  const probes: Record<string, string> = {
    placeholder: 'export const a = (i: number) => `x = $${i}`;',
    lockMode: "export const b = { lock: { mode: 'pessimistic_read' } };",
    lockClause: "export const c = 'SELECT 1 FROM t FOR UPDATE';",
    lockClauseTemplate: 'export const d = (t: string) => `SELECT 1 FROM ${t} FOR SHARE`;',
    limit: 'export const e = (n: number) => `LIMIT -1 OFFSET ${n}`;',
    isPostgres: 'export const f = (db: { isPostgres: boolean }) => db.isPostgres;',
    engineType: "export const g = (m: { connection: { options: { type: string } } }) => m.connection.options.type === 'postgres';",
  };
  const allowed = [
    // A template whose text ends in `$` with nothing interpolated after it (a regular expression's end).
    'export const h = (x: string) => new RegExp(`^${x}$`);',
    'export const i = (v: string) => sql`SELECT 1 FROM t WHERE a = ${v}`; declare function sql(s: TemplateStringsArray, ...v: unknown[]): unknown;',
  ];

  async function lint(code: string): Promise<string[]> {
    const { ESLint } = await import('eslint');
    const tseslint = (await import('typescript-eslint')).default;
    const { restrictedDialect } = await import(join(ROOT, 'eslint.config.js'));
    const eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: true,
      overrideConfig: [
        { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, rules: { 'no-restricted-syntax': ['error', ...restrictedDialect] } },
      ],
    });
    const [result] = await eslint.lintText(code, { filePath: join(ROOT, 'probe.ts') });
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it.each(Object.entries(probes))('refuses a hand-written %s', async (_, code) => {
    const found = await lint(code);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^no-restricted-syntax: .*src\/database\/sql\.ts/);
  });

  it.each(allowed)('lets through %s', async (code) => {
    expect(await lint(code)).toEqual([]);
  });

  it('applies to the service code outside src/database/, and not inside it or to tests', async () => {
    const { ESLint } = await import('eslint');
    const eslint = new ESLint({ cwd: ROOT });
    const selectors = async (file: string) => {
      const config = await eslint.calculateConfigForFile(join(ROOT, file));
      const rule = (config?.rules?.['no-restricted-syntax'] ?? []) as unknown[];
      return rule.slice(1).map((r) => (r as { selector: string }).selector);
    };
    const { restrictedDialect } = await import(join(ROOT, 'eslint.config.js'));
    const dialect = (restrictedDialect as { selector: string }[]).map((r) => r.selector);
    for (const file of ['src/forwarding/outbox.service.ts', 'src/glidein/glidein.service.ts', 'src/sites/sites.store.ts'])
      expect(await selectors(file)).toEqual(expect.arrayContaining(dialect));
    for (const file of ['src/database/sql.ts', 'src/database/db.ts', 'src/database/bulk-insert.ts', 'test/database/sql-templates.spec.ts']) {
      const found = await selectors(file);
      expect(found.filter((s) => dialect.includes(s))).toEqual([]);
    }
  });
});
