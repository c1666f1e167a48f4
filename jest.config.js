/**
 * Jest in native ESM mode: NestJS 12 packages are ESM-only.
 * Process-level tests start `node dist/main.js`, so `npm test` builds first.
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  testTimeout: 60_000,
  // Three: the 10-minute renewal soak (test/support/sequencer.cjs starts it first) mostly sleeps, so the
  // rest of the suite keeps two workers on a 2-core CI machine.
  maxWorkers: 3,
  // Long soak tests first, so they overlap everything else.
  testSequencer: '<rootDir>/test/support/sequencer.cjs',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
};
