// The same suite with `express` resolved to Express 4 (installed as the `express4` alias).
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  displayName: 'express4',
  globals: { EXPRESS_MAJOR: 4 },
  moduleNameMapper: { ...base.moduleNameMapper, '^express$': 'express4' },
  // Beside what the base leaves out, the two-process tests: they start example-app processes,
  // which load the installed Express 5 whatever this run maps, so a second pass would test nothing new.
  testPathIgnorePatterns: [...base.testPathIgnorePatterns, '/__tests__/stores/two-instances\\.test\\.ts$'],
};
