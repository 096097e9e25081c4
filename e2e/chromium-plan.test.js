import { browserTestPlan, CHROMIUM_PATH } from './support/chromium.js';

describe('when the browser test runs', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it('without Chromium, outside CI: skipped, with the reason to show', () => {
    delete process.env.CI;
    expect(browserTestPlan('/nonexistent/chromium')).toEqual({
      plan: 'skip',
      reason: expect.stringContaining('apt-get install chromium'),
    });
  });

  it('without Chromium, in CI (CI=true): a failure, never a skip', () => {
    process.env.CI = 'true';
    expect(browserTestPlan('/nonexistent/chromium')).toMatchObject({ plan: 'fail' });
  });

  it('with Chromium at the path: it runs', () => {
    process.env.CI = 'true';
    // Any existing file stands in for the browser here; the SPA test launches the real one.
    expect(browserTestPlan(process.execPath)).toEqual({ plan: 'run' });
    expect(CHROMIUM_PATH).toBe('/usr/bin/chromium');
  });
});
