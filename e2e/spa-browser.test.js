import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium } from 'playwright-core';
import { LOGOUT_PATH } from '../example-app/app.js';
import { demoClients, SPA_CALLBACK_PATH, SPA_CLIENT_ID } from '../example-app/clients.js';
import { spaRoutes } from '../example-app/spa-routes.js';
import { browserTestPlan, CHROMIUM_ARGS, CHROMIUM_PATH } from './support/chromium.js';
import { listenOnLoopback, startExampleHost, withClientFields } from './support/example-host.js';

/** Screenshots of each end state, for a person to look at (git-ignored). */
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

const { plan, reason } = browserTestPlan();

if (plan === 'skip') {
  console.warn(`SKIPPED: the browser test of the SPA did not run: ${reason}. In CI (CI=true) this fails instead.`);
  describe(`the SPA in headless Chromium — SKIPPED: ${reason}`, () => {
    it.skip("signs in across origins and shows the verified claims; shows the endpoint's error for a tampered verifier", () => {});
  });
} else {
  describe('the SPA in headless Chromium, served from another origin than the token endpoint', () => {
    if (plan === 'fail') {
      it('has Chromium to run in (CI=true)', () => {
        throw new Error(
          `CI=true, and ${reason}. .ci/run installs it with apt-get; the browser test must not be skipped in CI.`,
        );
      });
      return;
    }

    let browser;
    let host;
    let spaServer;
    /** The SPA's origin: 127.0.0.1 on its own port, while the issuer is localhost on another. */
    let spaOrigin;
    let tokenEndpoint;
    let revocationEndpoint;
    let apiEndpoint;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      // The SPA's server first: its origin goes into the SPA client's redirect URI, and the
      // token endpoint allows CORS from the origins of registered redirect URIs.
      spaServer = await listenOnLoopback();
      spaOrigin = `http://127.0.0.1:${spaServer.port}`;
      host = await startExampleHost({
        clients: (issuer) =>
          withClientFields(demoClients(issuer), SPA_CLIENT_ID, {
            redirectUris: [`${spaOrigin}${SPA_CALLBACK_PATH}`],
            postLogoutRedirectUris: [`${spaOrigin}/spa/`],
          }),
      });
      tokenEndpoint = `${host.issuer}/oauth2/token`;
      revocationEndpoint = `${host.issuer}/oauth2/revoke`;
      apiEndpoint = `${host.issuer}/api/profile`;
      const spaApp = express().use(
        spaRoutes({
          issuer: host.issuer,
          tokenPath: '/oauth2/token',
          jwksPath: '/oauth2/jwks',
          revocationPath: '/oauth2/revoke',
          logoutPath: LOGOUT_PATH,
          appBaseUrl: spaOrigin,
        }),
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
    const isApiRequest = (response) => response.url() === apiEndpoint && response.request().method() === 'GET';
    const isRevocationRequest = (response) =>
      response.url() === revocationEndpoint && response.request().method() === 'POST';

    /**
     * Which of the SPA's controls a person sees. The host's own sign-out is not among them: it
     * belongs to the host's pages.
     */
    async function controlsOf(page) {
      return {
        signIn: await page.locator('#sign-in').isVisible(),
        signInEnabled: await page.locator('#sign-in').isEnabled(),
        signOut: await page.locator('#sign-out').isVisible(),
        hostSessionNote: await page.locator('#host-session-note').isVisible(),
        claims: await page.locator('#id-token-claims').isVisible(),
        hostSignOut: await page.getByRole('button', { name: 'Sign out of the host' }).count(),
      };
    }

    /** The token endpoint's answer to a refresh with `refreshToken`, asked from Node (no browser). */
    async function refresh(refreshToken) {
      const response = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: SPA_CLIENT_ID,
        }).toString(),
      });
      return { status: response.status, body: await response.json() };
    }

    it('signs in: the SPA exchanges the code over CORS and shows the verified claims', async () => {
      const { context, page, problems } = await newPage();
      await page.goto(`${spaOrigin}/spa/`);
      await expect(page.locator('#status').textContent()).resolves.toBe('Not signed in.');
      // Before sign-in: "Sign in" only; no sign-out of any kind.
      expect(await controlsOf(page)).toEqual({
        signIn: true,
        signInEnabled: true,
        signOut: false,
        hostSessionNote: false,
        claims: false,
        hostSignOut: 0,
      });

      const tokenResponse = page.waitForResponse(isTokenRequest);
      const apiResponse = page.waitForResponse(isApiRequest);
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
      const { refresh_token: refreshToken, access_token: accessToken } = await exchange.json();
      expect(typeof refreshToken).toBe('string');

      // Then the SPA calls the host's API (GET /api/profile behind requireAccessToken({ scopes:
      // ['profile'] })) over CORS, with the access token in the Authorization header only, under
      // the DPoP scheme with a proof (RFC 9449 §7.1; the token is bound to the SPA's key), and
      // shows its answer.
      const apiCall = await apiResponse;
      expect(apiCall.status()).toBe(200);
      expect((await apiCall.request().allHeaders()).authorization).toBe(`DPoP ${accessToken}`);
      expect(typeof (await apiCall.request().allHeaders()).dpop).toBe('string');
      expect(apiCall.url()).not.toContain(accessToken);
      expect((await apiCall.allHeaders())['access-control-allow-origin']).toBe(spaOrigin);
      expect((await apiCall.allHeaders())['cache-control']).toBe('no-store');
      await page.locator('#api-profile', { hasText: 'user-alice' }).waitFor({ state: 'visible' });
      expect(JSON.parse(await page.locator('#api-profile').textContent())).toEqual({
        sub: 'user-alice',
        client_id: SPA_CLIENT_ID,
        scope: 'openid profile email',
        name: 'Alice Liddell',
        preferred_username: 'alice',
      });
      await expect(page.locator('#api-error').isHidden()).resolves.toBe(true);
      // Without the token the API answers RFC 6750 §3.1's challenge, with no error code.
      const anonymous = await fetch(apiEndpoint);
      expect(anonymous.status).toBe(401);
      // The API takes DPoP too, so its challenge names both schemes (RFC 9449 §7.1).
      expect(anonymous.headers.get('www-authenticate')).toBe(
        `Bearer realm="${host.issuer}", DPoP realm="${host.issuer}", algs="ES256 ES384 PS256 RS256 EdDSA"`,
      );

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
      expect(accessTokenClaims).toMatchObject({
        iss: host.issuer,
        sub: 'user-alice',
        aud: SPA_CLIENT_ID,
        scope: ['openid', 'profile', 'email'],
      });
      await expect(page.locator('#error').isHidden()).resolves.toBe(true);
      await expect(page.locator('#tamper-notice').isHidden()).resolves.toBe(true);
      // The code left the address bar as soon as the page read it.
      expect(page.url()).toBe(`${spaOrigin}${SPA_CALLBACK_PATH}`);
      // After sign-in: "Sign out of the SPA" instead of "Sign in", and a pointer to the host's
      // pages for the host's own session.
      expect(await controlsOf(page)).toEqual({
        signIn: false,
        signInEnabled: false,
        signOut: true,
        hostSessionNote: true,
        claims: true,
        hostSignOut: 0,
      });
      expect(await page.locator('#host-home').getAttribute('href')).toBe(`${host.issuer}/`);
      expect(problems).toEqual([]);
      await page.screenshot({ path: `${ARTIFACTS}spa-signed-in.png`, fullPage: true });

      // A reload keeps the SPA signed in (its tokens live in the origin's localStorage).
      await page.reload();
      await expect(page.locator('#status').textContent()).resolves.toBe(
        'Signed in as alice. The ID token was verified at sign-in.',
      );
      expect(await controlsOf(page)).toMatchObject({ signIn: false, signOut: true, claims: true });
      expect(JSON.parse(await page.locator('#id-token-claims').textContent())).toEqual(idTokenClaims);

      // The host has a session for alice (its home page offers to end it).
      const hostPage = await context.newPage();
      await hostPage.goto(`${host.issuer}/`);
      expect(await hostPage.getByRole('button', { name: 'Sign out of the host' }).count()).toBe(1);

      // Sign out: the refresh token is revoked (RFC 7009, over CORS), the tokens forgotten, then the
      // browser goes through the host's logout endpoint (RP-Initiated Logout 1.0), which ends the
      // host session and sends it back to the SPA's registered post-logout URI with its state.
      const revocationResponse = page.waitForResponse(isRevocationRequest);
      const logoutRequest = page.waitForRequest((req) => req.url().startsWith(`${host.issuer}${LOGOUT_PATH}?`));
      await page.locator('#sign-out').click();
      const revocation = await revocationResponse;
      expect(revocation.status()).toBe(200);
      expect((await revocation.allHeaders())['access-control-allow-origin']).toBe(spaOrigin);
      expect(new URLSearchParams(revocation.request().postData())).toEqual(
        new URLSearchParams({ client_id: SPA_CLIENT_ID, token: refreshToken, token_type_hint: 'refresh_token' }),
      );
      const logout = await logoutRequest;
      const logoutParams = new URL(logout.url()).searchParams;
      expect([...logoutParams.keys()]).toEqual(['client_id', 'id_token_hint', 'post_logout_redirect_uri', 'state']);
      expect(logoutParams.get('client_id')).toBe(SPA_CLIENT_ID);
      expect(logoutParams.get('post_logout_redirect_uri')).toBe(`${spaOrigin}/spa/`);
      const logoutAnswer = await logout.response();
      expect(logoutAnswer.status()).toBe(303);
      expect(logoutAnswer.headers().location).toBe(
        `${spaOrigin}/spa/?${new URLSearchParams({ state: logoutParams.get('state') })}`,
      );
      await page
        .locator('#status', {
          hasText: 'Signed out of the SPA and of the host: its refresh token is revoked and the host session ended.',
        })
        .waitFor();
      expect(await controlsOf(page)).toEqual({
        signIn: true,
        signInEnabled: true,
        signOut: false,
        hostSessionNote: false,
        claims: false,
        hostSignOut: 0,
      });
      await expect(page.locator('#access-token-claims').isHidden()).resolves.toBe(true);
      await expect(page.locator('#error').isHidden()).resolves.toBe(true);
      expect(await page.evaluate(() => [...Object.keys(sessionStorage), ...Object.keys(localStorage)])).toEqual([]);
      // The state left the address bar.
      expect(page.url()).toBe(`${spaOrigin}/spa/`);
      // The host session is over.
      await hostPage.reload();
      expect(await hostPage.getByRole('button', { name: 'Sign out of the host' }).count()).toBe(0);
      await hostPage.close();
      // The refresh token copied out no longer refreshes: it is bound to the DPoP key the SPA
      // deleted at sign-out (and revoked), so without a proof of that key it is refused before
      // anything else (RFC 9449 §5; docs/contract.md step 6a).
      await expect(refresh(refreshToken)).resolves.toEqual({
        status: 400,
        body: expect.objectContaining({ error: 'invalid_dpop_proof' }),
      });
      // And the access token issued with it is refused by the API: bound to the key the sign-out
      // deleted, it is no bearer token (RFC 9449 §7.2); checkRevocation refuses it too
      // (__tests__/resource/revocation-check.test.ts).
      const afterRevocation = await fetch(apiEndpoint, { headers: { Authorization: `Bearer ${accessToken}` } });
      expect(afterRevocation.status).toBe(401);
      expect((await afterRevocation.json()).error).toBe('invalid_token');
      await expect(page.locator('#api-profile').isHidden()).resolves.toBe(true);
      // And a reload stays signed out.
      await page.reload();
      await expect(page.locator('#status').textContent()).resolves.toBe('Not signed in.');
      expect(await controlsOf(page)).toMatchObject({ signIn: true, signOut: false, claims: false });
      expect(problems).toEqual([]);

      await page.screenshot({ path: `${ARTIFACTS}spa-signed-out.png`, fullPage: true });
      await context.close();
    });

    it("a wrong password on the host's sign-in page keeps the username (escaped), never the password", async () => {
      const { context, page, problems } = await newPage();
      await page.goto(`${spaOrigin}/spa/`);
      await page.locator('#sign-in').click();

      // A username that would break out of the attribute, were it not escaped.
      const markup = 'alice"><b id="injected">x</b>';
      await signInOnHostPage(page, markup, 'wrong-password');
      await page.getByRole('alert').waitFor({ state: 'visible' });
      expect(await page.getByRole('alert').textContent()).toBe('Wrong username or password.');
      expect(await page.getByLabel('Username').inputValue()).toBe(markup);
      expect(await page.getByLabel('Password').inputValue()).toBe('');
      expect(await page.locator('#injected').count()).toBe(0);

      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('wrong-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor({ state: 'visible' });
      expect(await page.getByLabel('Username').inputValue()).toBe('alice');
      expect(await page.getByLabel('Password').inputValue()).toBe('');
      // The focus waits in the password field.
      expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('password');

      // Only the password typed again, and the sign-in goes through as alice.
      await page.getByLabel('Password').fill('alice-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#id-token-claims').waitFor({ state: 'visible' });
      expect(await page.locator('#status').textContent()).toBe(
        'Signed in as alice. ID token signature, iss, aud, exp and nonce verified.',
      );
      expect(problems).toEqual([]);
      await context.close();
    });

    it("a tampered verifier: the page shows the token endpoint's error", async () => {
      const { context, page, problems } = await newPage();
      await page.goto(`${spaOrigin}/spa/?tamper=1`);
      await page.locator('#tamper-notice').waitFor({ state: 'visible' });

      const tokenResponse = page.waitForResponse(isTokenRequest);
      await page.locator('#sign-in').click();
      await signInOnHostPage(page, 'bob', 'bob-password');
      await page.locator('#error').waitFor({ state: 'visible' });

      // The endpoint refused the code (docs/contract.md "The ciam profile": 401 invalid_client), and the
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

    it("a page on an origin that no client registered cannot read the token endpoint's answer (CORS)", async () => {
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
      expect(blocked.consoleMessages.join('\n')).toContain(
        `from origin '${blockedOrigin}' has been blocked by CORS policy`,
      );
      await blocked.context.close();
    });
  });
}
