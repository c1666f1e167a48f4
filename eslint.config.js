// ESLint flat config: ESLint's and typescript-eslint's recommended rules on every source folder,
// and the capability boundaries (eslint-rules/boundaries.js, same analysis as scripts/boundaries.js)
// on src/. Formatting is Prettier's job (.prettierrc.json); the recommended sets here have no
// formatting rules, so nothing needs turning off for it.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import glidekey from './eslint-rules/boundaries.js';

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
);
