import { MemoryKeyStore } from '../dist/index.js';
import { WEB_CLIENT_ID } from '../example-app/clients.js';
import { startExampleHost } from './support/example-host.js';
import { createUserAgent, elementText } from './support/user-agent.js';

const ALICE = { username: 'alice', password: 'alice-password' };

/** The `/authorize` request the web app sent (the first redirect of /rp/login). */
function authorizationRequestOf(navigation, issuer) {
  const url = new URL(navigation.redirects[0]);
  expect(`${url.origin}${url.pathname}`).toBe(`${issuer}/authorize`);
  return url.searchParams;
}

describe('the server-side web app (openid-client) signs in through the example host', () => {
  let host;
  beforeAll(async () => {
    host = await startExampleHost();
  });
  afterAll(() => host.stop());

  it('/rp/login → /authorize → sign-in → /rp/callback → a signed-in page with the verified claims', async () => {
    const browser = createUserAgent();
    const signInPage = await browser.navigate(`${host.issuer}/rp/login`);
    const request = authorizationRequestOf(signInPage, host.issuer);
    expect(Object.fromEntries(request)).toMatchObject({
      client_id: WEB_CLIENT_ID,
      redirect_uri: `${host.issuer}/rp/callback`,
      response_type: 'code',
      code_challenge_method: 'S256',
      scope: 'openid profile email',
    });
    expect(request.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request.get('state')).toBeTruthy();
    expect(request.get('nonce')).toBeTruthy();
    expect(signInPage.status).toBe(200);

    const signedIn = await browser.signIn(signInPage, ALICE);
    // The host sends the browser to the callback with the code; the web app redeems it and
    // sends the browser on to its own page (post/redirect/get).
    const callback = new URL(signedIn.redirects[0]);
    expect(`${callback.origin}${callback.pathname}`).toBe(`${host.issuer}/rp/callback`);
    expect(callback.searchParams.get('state')).toBe(request.get('state'));
    expect(callback.searchParams.get('iss')).toBe(host.issuer);
    const code = callback.searchParams.get('code');
    expect(code).toBeTruthy();
    expect(signedIn.url).toBe(`${host.issuer}/rp/`);
    expect(signedIn.status).toBe(200);

    expect(elementText(signedIn.text, 'rp-status')).toBe('Signed in as Alice Liddell.');
    const idTokenClaims = JSON.parse(elementText(signedIn.text, 'rp-id-token-claims'));
    expect(idTokenClaims).toMatchObject({
      iss: host.issuer,
      sub: 'user-alice',
      aud: WEB_CLIENT_ID,
      azp: WEB_CLIENT_ID,
      nonce: request.get('nonce'),
      name: 'Alice Liddell',
      preferred_username: 'alice',
      email: 'alice@example.com',
    });
    const accessTokenClaims = JSON.parse(elementText(signedIn.text, 'rp-access-token-claims'));
    expect(accessTokenClaims).toMatchObject({
      iss: host.issuer,
      sub: 'user-alice',
      aud: WEB_CLIENT_ID,
      scope: ['openid', 'profile', 'email'],
    });
    // The page shows claims, never a secret: not the code, and no token (a JWT starts "eyJ").
    expect(signedIn.text).not.toContain(code);
    expect(signedIn.text).not.toContain('eyJ');

    // The web app's session holds: a later visit shows the same signed-in page.
    const again = await browser.navigate(`${host.issuer}/rp/`);
    expect(elementText(again.text, 'rp-status')).toBe('Signed in as Alice Liddell.');
  });

  it("signing out of the web app goes through the host's logout endpoint (openid-client's buildEndSessionUrl), which ends the host session and sends the browser back", async () => {
    const browser = createUserAgent();
    const signedIn = await browser.signIn(await browser.navigate(`${host.issuer}/rp/login`), ALICE);
    expect(signedIn.url).toBe(`${host.issuer}/rp/`);
    // Signed in on the host too: its /authorize no longer asks for a password.
    const home = await browser.navigate(`${host.issuer}/`);
    expect(home.text).toContain('Sign out of the host');

    const signedOut = await browser.navigate(`${host.issuer}/rp/logout`, { method: 'POST', body: '' });
    // POST /rp/logout → the end_session_endpoint of discovery → the registered post-logout URI.
    const logout = new URL(signedOut.redirects[0]);
    expect(`${logout.origin}${logout.pathname}`).toBe(`${host.issuer}/oauth2/logout`);
    expect(logout.searchParams.get('client_id')).toBe(WEB_CLIENT_ID);
    expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${host.issuer}/rp/`);
    expect(logout.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(signedOut.redirects.slice(1)).toEqual([`${host.issuer}/rp/`]);
    expect(signedOut.status).toBe(200);
    expect(signedOut.text).not.toContain('Signed in as');
    // The host session ended with it.
    expect((await browser.navigate(`${host.issuer}/`)).text).not.toContain('Sign out of the host');
  });

  it('a callback replayed in the same browser finds no sign-in to finish (each sign-in serves once)', async () => {
    const browser = createUserAgent();
    const signedIn = await browser.signIn(await browser.navigate(`${host.issuer}/rp/login`), ALICE);
    expect(signedIn.url).toBe(`${host.issuer}/rp/`);

    const replay = await browser.navigate(signedIn.redirects[0]);
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('data-error="no_pending_sign_in"');
  });

  it('a callback whose state is not the one this browser was sent with is refused', async () => {
    const browser = createUserAgent();
    const signInPage = await browser.navigate(`${host.issuer}/rp/login`);
    const answer = await browser.signIn(signInPage, ALICE, { follow: false });
    const forged = new URL(answer.location);
    forged.searchParams.set('state', 'not-the-state-this-browser-was-sent-with');

    const refused = await browser.navigate(forged);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('data-error="invalid_response"');
    expect(elementText(refused.text, 'rp-error')).toMatch(/state/);
  });

  it("a code someone else tries without the web app's secret is refused (401 invalid_client) and not spent: the web app then signs in with it", async () => {
    const browser = createUserAgent();
    const signInPage = await browser.navigate(`${host.issuer}/rp/login`);
    // Stop at the host's answer, as if an attacker had read the code off it, and try it first.
    const answer = await browser.signIn(signInPage, ALICE, { follow: false });
    const callback = new URL(answer.location);
    const stolen = await fetch(new URL('/oauth2/token', host.issuer), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: WEB_CLIENT_ID,
        code: callback.searchParams.get('code'),
        redirect_uri: `${host.issuer}/rp/callback`,
        code_verifier: 'a-guess-that-is-long-enough-to-be-a-well-formed-verifier',
      }),
    });
    expect(stolen.status).toBe(401);
    expect((await stolen.json()).error).toBe('invalid_client');

    // Client authentication comes before the code is redeemed: the code still works for its client.
    const signedIn = await browser.navigate(callback);
    expect(signedIn.status).toBe(200);
    expect(signedIn.text).toContain('Sign out');
  });

  it('an ID token that the published keys do not verify is refused (openid-client checks the signature)', async () => {
    // The host signs with one key but publishes another under the same kid.
    const signer = await MemoryKeyStore.generate();
    const impostor = await MemoryKeyStore.generate();
    const { kid } = await signer.signingKey();
    const keyStore = {
      signingKey: () => signer.signingKey(),
      publicJwks: async () => ({ keys: (await impostor.publicJwks()).keys.map((jwk) => ({ ...jwk, kid })) }),
    };
    const misconfigured = await startExampleHost({ keyStore });
    try {
      const browser = createUserAgent();
      const refused = await browser.signIn(await browser.navigate(`${misconfigured.issuer}/rp/login`), ALICE);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('data-error="invalid_response"');
      expect(elementText(refused.text, 'rp-error')).toMatch(/signature/);
    } finally {
      await misconfigured.stop();
    }
  });
});
