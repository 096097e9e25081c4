import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium } from 'playwright-core';
import { demoClients, SPA_CALLBACK_PATH, SPA_CLIENT_ID } from '../example-app/clients.js';
import { spaRoutes } from '../example-app/spa-routes.js';
import { browserTestPlan, CHROMIUM_ARGS, CHROMIUM_PATH } from './support/chromium.js';
import { listenOnLoopback, startExampleHost, withRedirectUris } from './support/example-host.js';

/** Screenshots of each end state, for a person to look at (git-ignored). */
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

const { plan, reason } = browserTestPlan();

if (plan === 'skip') {
  console.warn(`SKIPPED: the browser test of the SPA did not run: ${reason}. In CI (CI=true) this fails instead.`);
  describe(`the SPA in headless Chromium — SKIPPED: ${reason}`, () => {
    it.skip('signs in across origins and shows the verified claims; shows the endpoint\'s error for a tampered verifier', () => {});
  });
} else {
  describe('the SPA in headless Chromium, served from another origin than the token endpoint', () => {
    if (plan === 'fail') {
      it('has Chromium to run in (CI=true)', () => {
        throw new Error(`CI=true, and ${reason}. .ci/run installs it with apt-get; the browser test must not be skipped in CI.`);
      });
      return;
    }

    let browser;
    let host;
    let spaServer;
    /** The SPA's origin: 127.0.0.1 on its own port, while the issuer is localhost on another. */
    let spaOrigin;
    let tokenEndpoint;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      // The SPA's server first: its origin goes into the SPA client's redirect URI, and the
      // token endpoint allows CORS from the origins of registered redirect URIs.
      spaServer = await listenOnLoopback();
      spaOrigin = `http://127.0.0.1:${spaServer.port}`;
      host = await startExampleHost({
        clients: (issuer) => withRedirectUris(demoClients(issuer), SPA_CLIENT_ID, [`${spaOrigin}${SPA_CALLBACK_PATH}`]),
      });
      tokenEndpoint = `${host.issuer}/oauth2/token`;
      const spaApp = express().use(
        spaRoutes({ issuer: host.issuer, tokenPath: '/oauth2/token', jwksPath: '/oauth2/jwks', appBaseUrl: spaOrigin }),
      );
      spaServer.server.on('request', spaApp);
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      await browser?.close();
      await host?.stop();
      await spaServer?.close();
    });

    /** A fresh browser profile (its own cookies and sessionStorage) and a page in it. */
    async function newPage() {
      const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const problems = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      const consoleMessages = [];
      page.on('console', (message) => consoleMessages.push(message.text()));
      return { context, page, problems, consoleMessages };
    }

    /** On the host's sign-in page: the demo user's credentials, as a person types them. */
    async function signInOnHostPage(page, username, password) {
      await page.waitForURL((url) => url.href.startsWith(`${host.issuer}/authorize?`));
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    const isTokenRequest = (response) => response.url() === tokenEndpoint && response.request().method() === 'POST';

    it('signs in: the SPA exchanges the code over CORS and shows the verified claims', async () => {
      const { context, page, problems } = await newPage();
      await page.goto(`${spaOrigin}/spa/`);
      await expect(page.locator('#status').textContent()).resolves.toBe('Not signed in.');

      const tokenResponse = page.waitForResponse(isTokenRequest);
      await page.locator('#sign-in').click();
      await signInOnHostPage(page, 'alice', 'alice-password');
      await page.locator('#id-token-claims').waitFor({ state: 'visible' });

      // The exchange was a cross-origin request, answered with CORS for the SPA's origin.
      const exchange = await tokenResponse;
      expect(new URL(page.url()).origin).toBe(spaOrigin);
      expect(new URL(tokenEndpoint).origin).not.toBe(spaOrigin);
      expect((await exchange.request().allHeaders()).origin).toBe(spaOrigin);
      expect(exchange.status()).toBe(200);
      expect((await exchange.allHeaders())['access-control-allow-origin']).toBe(spaOrigin);

      // What the page shows.
      expect(await page.locator('#status').textContent()).toBe(
        'Signed in as alice. ID token signature, iss, aud, exp and nonce verified.',
      );
      const idTokenClaims = JSON.parse(await page.locator('#id-token-claims').textContent());
      expect(idTokenClaims).toMatchObject({
        iss: host.issuer,
        sub: 'user-alice',
        aud: SPA_CLIENT_ID,
        azp: SPA_CLIENT_ID,
        preferred_username: 'alice',
        email: 'alice@example.com',
      });
      expect(typeof idTokenClaims.nonce).toBe('string');
      const accessTokenClaims = JSON.parse(await page.locator('#access-token-claims').textContent());
      expect(accessTokenClaims).toMatchObject({ iss: host.issuer, sub: 'user-alice', aud: SPA_CLIENT_ID, scope: ['openid', 'profile', 'email'] });
      await expect(page.locator('#error').isHidden()).resolves.toBe(true);
      await expect(page.locator('#tamper-notice').isHidden()).resolves.toBe(true);
      // The code left the address bar as soon as the page read it.
      expect(page.url()).toBe(`${spaOrigin}${SPA_CALLBACK_PATH}`);
      expect(problems).toEqual([]);

      await page.screenshot({ path: `${ARTIFACTS}spa-signed-in.png`, fullPage: true });
      await context.close();
    });

    it('a tampered verifier: the page shows the token endpoint\'s error', async () => {
      const { context, page, problems } = await newPage();
      await page.goto(`${spaOrigin}/spa/?tamper=1`);
      await page.locator('#tamper-notice').waitFor({ state: 'visible' });

      const tokenResponse = page.waitForResponse(isTokenRequest);
      await page.locator('#sign-in').click();
      await signInOnHostPage(page, 'bob', 'bob-password');
      await page.locator('#error').waitFor({ state: 'visible' });

      // The endpoint refused the code (the SPEC's `ciam` profile: 401 invalid_client), and the
      // page shows exactly what it said.
      const refusal = await tokenResponse;
      expect(refusal.status()).toBe(401);
      expect((await refusal.allHeaders())['access-control-allow-origin']).toBe(spaOrigin);
      const body = await refusal.json();
      expect(body.error).toBe('invalid_client');
      const error = page.locator('#error');
      expect(await error.getAttribute('data-error')).toBe(body.error);
      expect(await error.textContent()).toBe(`${body.error}: ${body.error_description}`);
      expect(await page.locator('#status').textContent()).toBe('The token endpoint refused the code (HTTP 401).');
      await expect(page.locator('#id-token-claims').isHidden()).resolves.toBe(true);
      await expect(page.locator('#access-token-claims').isHidden()).resolves.toBe(true);
      await expect(page.locator('#tamper-notice').isVisible()).resolves.toBe(true);
      expect(problems).toEqual([]);

      await page.screenshot({ path: `${ARTIFACTS}spa-error.png`, fullPage: true });
      await context.close();
    });

    it('a page on an origin that no client registered cannot read the token endpoint\'s answer (CORS)', async () => {
      /** A token request from the page, as far as the page can tell. Malformed: no code is at stake. */
      const tryTokenEndpoint = (endpoint) =>
        fetch(endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=authorization_code',
        }).then(
          async (response) => ({ read: true, status: response.status, body: await response.json() }),
          (error) => ({ read: false, message: String(error) }),
        );

      // The control: from the SPA's registered origin, the page reads the endpoint's answer.
      const allowed = await newPage();
      await allowed.page.goto(`${spaOrigin}/spa/`);
      expect(await allowed.page.evaluate(tryTokenEndpoint, tokenEndpoint)).toEqual({
        read: true,
        status: 400,
        body: expect.objectContaining({ error: 'invalid_request' }),
      });
      await allowed.context.close();

      // The same server under another host name is another origin, and no client registered it.
      const blockedOrigin = `http://localhost:${spaServer.port}`;
      const blocked = await newPage();
      await blocked.page.goto(`${blockedOrigin}/spa/`);
      expect(new URL(blocked.page.url()).origin).toBe(blockedOrigin);
      expect(await blocked.page.evaluate(tryTokenEndpoint, tokenEndpoint)).toEqual({
        read: false,
        message: expect.stringContaining('Failed to fetch'),
      });
      expect(blocked.consoleMessages.join('\n')).toContain(`from origin '${blockedOrigin}' has been blocked by CORS policy`);
      await blocked.context.close();
    });
  });
}
