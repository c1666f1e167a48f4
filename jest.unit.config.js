/**
 * `npm run test:unit`: the unit specs beside the code (src/) and the service tier (test/<capability>/*.service.spec.ts),
 * which run from the TypeScript sources (migrations included) and never start dist/main.js, so
 * nothing is built first. Everything else is as in jest.config.js.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.service.spec.ts'],
};
