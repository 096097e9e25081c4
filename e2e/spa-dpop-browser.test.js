import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { chromium } from 'playwright-core';
import { browserTestPlan, CHROMIUM_ARGS, CHROMIUM_PATH } from './support/chromium.js';
import { startExampleHost } from './support/example-host.js';

/**
 * The example SPA with DPoP (RFC 9449) in headless Chromium: its key is a non-extractable
 * WebCrypto key in IndexedDB, every token, refresh, API and UserInfo request carries a proof of
 * it, a token copied out of the page is refused without the key, and two tabs that refresh at
 * once both stay signed in (the grace window, `refreshTokenReuseInterval`).
 */
const { plan, reason } = browserTestPlan();

if (plan === 'skip') {
  console.warn(`SKIPPED: the SPA's DPoP browser test did not run: ${reason}. In CI (CI=true) this fails instead.`);
  describe(`the SPA with DPoP in headless Chromium — SKIPPED: ${reason}`, () => {
    it.skip('binds its tokens to a key the page cannot read out', () => {});
  });
} else {
  describe('the SPA with DPoP in headless Chromium', () => {
    if (plan === 'fail') {
      it('has Chromium to run in (CI=true)', () => {
        throw new Error(`CI=true, and ${reason}. .ci/run installs it; the browser test must not be skipped in CI.`);
      });
      return;
    }

    let browser;
    let host;
    let tokenEndpoint;
    let apiEndpoint;
    let userinfoEndpoint;

    beforeAll(async () => {
      host = await startExampleHost();
      tokenEndpoint = `${host.issuer}/oauth2/token`;
      apiEndpoint = `${host.issuer}/api/profile`;
      userinfoEndpoint = `${host.issuer}/userinfo`;
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      await browser?.close();
      await host?.stop();
    });

    async function newContext() {
      const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const problems = [];
      const newPage = async () => {
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        return page;
      };
      return { context, newPage, problems };
    }

    async function signIn(page) {
      await page.goto(`${host.issuer}/spa/`);
      await page.locator('#sign-in').click();
      await page.waitForURL((url) => url.href.startsWith(`${host.issuer}/authorize?`));
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('alice-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#api-profile', { hasText: 'user-alice' }).waitFor({ state: 'visible' });
      await page.locator('#userinfo-claims', { hasText: 'user-alice' }).waitFor({ state: 'visible' });
    }

    const isPost = (url) => (response) => response.url() === url && response.request().method() === 'POST';
    const isGet = (url) => (response) => response.url() === url && response.request().method() === 'GET';

    /** A DPoP proof's header and claims, as the server received it (checked by the server already). */
    function decodeProof(proof) {
      const [header, claims] = proof.split('.').slice(0, 2);
      return {
        header: JSON.parse(Buffer.from(header, 'base64url')),
        claims: JSON.parse(Buffer.from(claims, 'base64url')),
      };
    }

    it('every request carries a proof of one non-extractable key, and the tokens are bound to it (cnf.jkt)', async () => {
      const { context, newPage, problems } = await newContext();
      const page = await newPage();
      const exchange = page.waitForResponse(isPost(tokenEndpoint));
      const api = page.waitForResponse(isGet(apiEndpoint));
      const userinfo = page.waitForResponse(isGet(userinfoEndpoint));
      await signIn(page);

      // RFC 9449 §5: the token request's proof; the answer is a DPoP token bound to its key.
      const tokenResponse = await exchange;
      expect(tokenResponse.status()).toBe(200);
      const tokenProof = decodeProof((await tokenResponse.request().allHeaders()).dpop);
      expect(tokenProof.header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
      expect(Object.keys(tokenProof.header.jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
      expect(tokenProof.claims).toMatchObject({ htm: 'POST', htu: tokenEndpoint });
      const body = await tokenResponse.json();
      expect(body.token_type).toBe('DPoP');
      const jkt = await calculateJwkThumbprint(tokenProof.header.jwk);
      const jwks = createRemoteJWKSet(new URL(`${host.issuer}/oauth2/jwks`));
      const { payload } = await jwtVerify(body.access_token, jwks, { issuer: host.issuer });
      expect(payload.cnf).toEqual({ jkt });

      // RFC 9449 §7.1: the API and UserInfo calls send the token under the DPoP scheme, each with
      // a fresh proof of the same key carrying the token's hash (ath).
      for (const call of [await api, await userinfo]) {
        expect(call.status()).toBe(200);
        const headers = await call.request().allHeaders();
        expect(headers.authorization).toBe(`DPoP ${body.access_token}`);
        const proof = decodeProof(headers.dpop);
        expect(await calculateJwkThumbprint(proof.header.jwk)).toBe(jkt);
        expect(proof.claims).toMatchObject({ htm: 'GET', htu: call.url() });
        expect(proof.claims.jti).not.toBe(tokenProof.claims.jti);
      }

      // The key in IndexedDB is a CryptoKey the page can sign with but not export.
      const key = await page.evaluate(async () => {
        const { loadDpopKeyPair } = await import('/spa/dpop.js');
        const { privateKey } = await loadDpopKeyPair();
        const exported = await crypto.subtle.exportKey('jwk', privateKey).then(
          () => 'exported',
          (error) => error.name,
        );
        return { extractable: privateKey.extractable, usages: privateKey.usages, exported };
      });
      expect(key).toEqual({ extractable: false, usages: ['sign'], exported: 'InvalidAccessError' });

      // The refresh: a proof of the same key; the new access token is bound to it too.
      const refreshed = page.waitForResponse(isPost(tokenEndpoint));
      await page.locator('#refresh').click();
      const refreshResponse = await refreshed;
      expect(refreshResponse.status()).toBe(200);
      const refreshProof = decodeProof((await refreshResponse.request().allHeaders()).dpop);
      expect(await calculateJwkThumbprint(refreshProof.header.jwk)).toBe(jkt);
      const refreshBody = await refreshResponse.json();
      expect(refreshBody.token_type).toBe('DPoP');
      expect((await jwtVerify(refreshBody.access_token, jwks)).payload.cnf).toEqual({ jkt });
      expect(decodeProtectedHeader(refreshBody.access_token).alg).toBeDefined();
      await page.locator('#status', { hasText: 'Refreshed' }).waitFor();
      expect(problems).toEqual([]);
      await context.close();
    });

    it('the access token copied out of the page is refused by the API without the key', async () => {
      const { context, newPage, problems } = await newContext();
      const page = await newPage();
      await signIn(page);
      const { accessToken, refreshToken } = await page.evaluate(() =>
        JSON.parse(localStorage.getItem('example-spa:tokens')),
      );

      // As a bearer token: a DPoP-bound token is refused under the Bearer scheme (RFC 9449 §7.2).
      const asBearer = await fetch(apiEndpoint, { headers: { Authorization: `Bearer ${accessToken}` } });
      expect(asBearer.status).toBe(401);
      expect(asBearer.headers.get('www-authenticate')).toContain('error="invalid_token"');
      // Under the DPoP scheme without a proof: refused too (§7.1).
      const withoutProof = await fetch(apiEndpoint, { headers: { Authorization: `DPoP ${accessToken}` } });
      expect(withoutProof.status).toBe(401);
      // RFC 9449 §7.1: a DPoP challenge with the error (beside the Bearer one, both schemes being accepted).
      expect(withoutProof.headers.get('www-authenticate')).toMatch(
        /(^|, )DPoP realm="[^"]*", error="invalid_dpop_proof"/,
      );
      // The refresh token copied out is bound to the key as well: without a proof it gets nothing.
      const refresh = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: 'example-spa',
        }),
      });
      expect(refresh.status).toBe(400);
      expect((await refresh.json()).error).toBe('invalid_dpop_proof');
      // Refused before it was spent: the page's own refresh still works.
      await page.locator('#refresh').click();
      await page.locator('#status', { hasText: 'Refreshed' }).waitFor();
      expect(problems).toEqual([]);
      await context.close();
    });

    it('two tabs that refresh at the same moment both stay signed in, and refresh again', async () => {
      const { context, newPage, problems } = await newContext();
      const first = await newPage();
      await signIn(first);
      const second = await newPage();
      await second.goto(`${host.issuer}/spa/`);
      // The second tab shares the origin's tokens (localStorage) and key (IndexedDB).
      await second.locator('#api-profile', { hasText: 'user-alice' }).waitFor({ state: 'visible' });
      const presented = await first.evaluate(() => JSON.parse(localStorage.getItem('example-spa:tokens')).refreshToken);

      // Both tabs send the same refresh token at once: one rotates it, the other is inside the
      // grace window and gets a sibling successor (docs/refresh.md "The grace window").
      const answers = [first, second].map((page) => page.waitForResponse(isPost(tokenEndpoint)));
      await Promise.all([
        first.evaluate(() => document.getElementById('refresh').click()),
        second.evaluate(() => document.getElementById('refresh').click()),
      ]);
      const responses = await Promise.all(answers);
      for (const response of responses) {
        expect(new URLSearchParams(response.request().postData()).get('refresh_token')).toBe(presented);
        expect(response.status()).toBe(200);
      }
      await first.locator('#status', { hasText: 'Refreshed' }).waitFor();
      await second.locator('#status', { hasText: 'Refreshed' }).waitFor();

      // And the session goes on: a further refresh, from either tab, with what is stored now.
      const again = second.waitForResponse(isPost(tokenEndpoint));
      await second.locator('#refresh').click();
      expect((await again).status()).toBe(200);
      await second.locator('#api-profile', { hasText: 'user-alice' }).waitFor({ state: 'visible' });
      await expect(second.locator('#error').isHidden()).resolves.toBe(true);
      expect(problems).toEqual([]);
      await context.close();
    });
  });
}
