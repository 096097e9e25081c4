// Jest runs the TypeScript sources as ESM (jose 6 is ESM-only); type checking is `npm run typecheck`.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  globals: { EXPRESS_MAJOR: 5 },
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // The failover suite kills servers the other suites use: it runs alone (jest.failover.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/__tests__/stores/failover\\.test\\.ts$'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
};
