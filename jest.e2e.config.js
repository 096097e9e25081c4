// The end-to-end suite: the example app on real ports, driven by a browser, openid-client and a
// scripted native app. Plain ESM JavaScript like the example app, so no transform.
/** @type {import('jest').Config} */
export default {
  displayName: 'e2e',
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e'],
  testMatch: ['**/*.test.js'],
  transform: {},
  // A browser start and a few real HTTP round trips per test.
  testTimeout: 60_000,
};
