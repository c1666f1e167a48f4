// ESLint flat config: ESLint's and typescript-eslint's recommended rules on every source folder,
// and the capability boundaries (eslint-rules/boundaries.js, same analysis as scripts/boundaries.js)
// on src/. Formatting is Prettier's job (.prettierrc.json); the recommended sets here have no
// formatting rules, so nothing needs turning off for it.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import glidekey from './eslint-rules/boundaries.js';

// One source of time and of randomness for the service code (issue 16): the injected Clock and
// Random, so a test's FakeClock is the only time a service sees and ids come from the audited
// source. performance.now() stays allowed (monotonic, for durations and timer deadlines). An
// exception says why in an eslint-disable comment, or in the file override below.
const CLOCK = 'use the injected Clock (clock.now()); performance.now() for a duration or a timer deadline';
const restrictedTime = [{ selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() reads the wall clock: ${CLOCK}` }];
const restrictedRandom = [{ selector: "ImportSpecifier[imported.name='randomUUID']", message: 'use the injected Random (random.uuid())' }];
const restrictedProperties = [
  { object: 'Date', property: 'now', message: CLOCK },
  { object: 'Math', property: 'random', message: 'not a CSPRNG and not the audited source: use the injected Random' },
  { property: 'randomUUID', message: 'use the injected Random (random.uuid())' },
];

// SQL dialect in one place (issue 16): placeholders, typed parameters, row locks, engine-specific
// keywords and engine tests live in src/database/ (sql.ts); the rest of the code writes sql``
// templates, rowLock() and chunks().
const DIALECT = 'the dialect helpers in src/database/sql.ts';
export const restrictedDialect = [
  { selector: 'TemplateElement[tail=false][value.raw=/\\$$/]', message: `a hand-built PostgreSQL placeholder ($\${n}): write a sql\`\` template (${DIALECT})` },
  { selector: 'Literal[value=/^pessimistic_(read|write)$/]', message: `a row lock by hand: rowLock(m, 'update' | 'share') (${DIALECT})` },
  { selector: 'Literal[value=/\\bFOR (SHARE|UPDATE)\\b/]', message: `a lock clause by hand: rowLock() or a BatchUnit lock (${DIALECT})` },
  { selector: 'TemplateElement[value.raw=/\\bFOR (SHARE|UPDATE)\\b/]', message: `a lock clause by hand: rowLock() or a BatchUnit lock (${DIALECT})` },
  { selector: 'Literal[value=/\\bLIMIT (ALL|-1)\\b/]', message: `an engine's own LIMIT spelling: sql.offset() (${DIALECT})` },
  { selector: 'TemplateElement[value.raw=/\\bLIMIT (ALL|-1)\\b/]', message: `an engine's own LIMIT spelling: sql.offset() (${DIALECT})` },
  { selector: "MemberExpression[property.name='isPostgres']", message: `an engine test outside src/database/: ${DIALECT}` },
  { selector: "MemberExpression[object.property.name='options'][property.name='type']", message: `an engine test outside src/database/: ${DIALECT}` },
];

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'data/', '.test-tmp/', 'bench/results/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.{ts,js,cjs,mjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // The code's convention: a leading `_` marks a parameter a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**', 'src/**/*.spec.ts'],
    languageOptions: { globals: globals.jest },
  },
  {
    // Three type-aware rules on the service code only (style: no unawaited promises). The full
    // recommendedTypeChecked set would more than double the lint time and flag ~1,600 `any`
    // uses in test/ (JSON bodies); the program here is tsconfig.build.json's (src/ without specs).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.build.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { glidekey },
    rules: {
      'glidekey/no-foreign-entity-import': 'error',
      'glidekey/no-folder-cycle': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': ['error', ...restrictedTime, ...restrictedRandom, ...restrictedDialect],
      'no-restricted-properties': ['error', ...restrictedProperties],
      // Periodic work is an IntervalJob (src/jobs/interval-job.ts): named in Nest's scheduler registry,
      // stopped with the module, never overlapping itself, its failures logged.
      'no-restricted-globals': ['error', { name: 'setInterval', message: 'a periodic job is an IntervalJob (src/jobs/)' }],
    },
  },
  {
    files: ['src/jobs/**/*.ts'],
    rules: { 'no-restricted-globals': 'off' },
  },
  {
    files: ['src/database/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: { 'no-restricted-syntax': ['error', ...restrictedTime, ...restrictedRandom] },
  },
  {
    // Db's readiness probe writes a wall-clock mark for whoever reads the meta table; Db is built
    // before the Nest container (and so its Clock) exists.
    files: ['src/database/db.ts'],
    rules: { 'no-restricted-syntax': ['error', ...restrictedRandom] },
  },
);
