import { existsSync } from 'node:fs';

/**
 * Debian's Chromium (`apt-get install chromium`). The browser test drives it with
 * playwright-core; a test tool's own browser download cannot work where only the package
 * registries are reachable.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** CI sets `CI=true`: there a missing browser is a failure, never a skip. */
export function inCi() {
  return ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
}

/**
 * Whether the browser test runs: `'run'` when Chromium is at `path`; `'fail'` in CI without it;
 * `'skip'` elsewhere without it (with a reason to print).
 */
export function browserTestPlan(path = CHROMIUM_PATH) {
  if (existsSync(path)) return { plan: 'run' };
  const reason = `${path} not found (install it with: apt-get install chromium)`;
  return inCi() ? { plan: 'fail', reason } : { plan: 'skip', reason };
}
