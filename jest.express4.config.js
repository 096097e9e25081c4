// The same suite with `express` resolved to Express 4 (installed as the `express4` alias).
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  displayName: 'express4',
  globals: { EXPRESS_MAJOR: 4 },
  moduleNameMapper: { ...base.moduleNameMapper, '^express$': 'express4' },
};
