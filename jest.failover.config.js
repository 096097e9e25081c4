// The failover suite alone (`npm run test:failover`, run in band): it kills a Redis Cluster master,
// a Sentinel's master and PgBouncer, which the other suites use, so it runs after them.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  displayName: 'failover',
  testMatch: ['**/__tests__/stores/failover.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
};
