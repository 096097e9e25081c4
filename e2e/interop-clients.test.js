import { generateCodeVerifier, OAuth2Client } from '@badgateway/oauth2-client';
import * as oidc from 'openid-client';
import { DEV_WEB_CLIENT_SECRET, WEB_CLIENT_ID } from '../example-app/clients.js';
import { startExampleHost } from './support/example-host.js';
import { createUserAgent } from './support/user-agent.js';

const ALICE = { username: 'alice', password: 'alice-password' };

/**
 * Third-party client libraries against the example host, each with its own defaults, the way an
 * application would use it: they find the endpoints by discovery, and a person signs in on the
 * host's page (the scripted user agent).
 */
describe('interop: third-party clients against the example host', () => {
  let host;
  let redirectUri;
  beforeAll(async () => {
    host = await startExampleHost();
    redirectUri = `${host.issuer}/rp/callback`;
  });
  afterAll(() => host.stop());

  /** Sign in on the host's page for `authorizeUrl`; the redirect back, with the code, not followed. */
  async function signInAt(browser, authorizeUrl) {
    const answer = await browser.signIn(await browser.navigate(authorizeUrl), ALICE, { follow: false });
    expect(answer.status).toBe(302);
    return answer.location;
  }

  it('@badgateway/oauth2-client with its default discovery (RFC 8414 /.well-known/oauth-authorization-server) signs in, refreshes and revokes', async () => {
    const fetched = [];
    const client = new OAuth2Client({
      server: `${host.issuer}/`,
      clientId: WEB_CLIENT_ID,
      // example-web is confidential; the library picks client_secret_basic from discovery.
      clientSecret: DEV_WEB_CLIENT_SECRET,
      fetch: (input, init) => {
        fetched.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      },
    });
    const codeVerifier = await generateCodeVerifier();
    const authorizeUri = await client.authorizationCode.getAuthorizeUri({
      redirectUri,
      state: 'badgateway-state',
      codeVerifier,
      scope: ['openid', 'profile'],
    });
    // Its discovery found the host's metadata, not a guess: the endpoints are the document's.
    expect(fetched[0]).toBe(`${host.issuer}/.well-known/oauth-authorization-server`);
    expect(client.serverMetadata?.issuer).toBe(host.issuer);
    expect(authorizeUri.startsWith(`${host.issuer}/authorize?`)).toBe(true);

    const location = await signInAt(createUserAgent(), authorizeUri);
    const token = await client.authorizationCode.getTokenFromCodeRedirect(location, {
      redirectUri,
      state: 'badgateway-state',
      codeVerifier,
    });
    expect(fetched).toContain(`${host.issuer}/oauth2/token`);
    expect(token.accessToken).toMatch(/^eyJ/);
    expect(typeof token.refreshToken).toBe('string');

    const refreshed = await client.refreshToken(token);
    expect(refreshed.refreshToken).not.toBe(token.refreshToken);
    await client.revoke(refreshed, 'refresh_token');
    expect(fetched).toContain(`${host.issuer}/oauth2/revoke`);
    await expect(client.refreshToken(refreshed)).rejects.toThrow();
  });

  it("openid-client's fetchUserInfo gets the signed-in user's claims from the UserInfo endpoint, and its buildEndSessionUrl signs the user out", async () => {
    const config = await oidc.discovery(
      new URL(host.issuer),
      WEB_CLIENT_ID,
      { redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic' },
      oidc.ClientSecretBasic(DEV_WEB_CLIENT_SECRET),
      { execute: [oidc.allowInsecureRequests] },
    );
    expect(config.serverMetadata().userinfo_endpoint).toBe(`${host.issuer}/userinfo`);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const browser = createUserAgent();
    const location = await signInAt(
      browser,
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile email',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      }),
    );
    const tokens = await oidc.authorizationCodeGrant(config, new URL(location), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const subject = tokens.claims().sub;

    const userInfo = await oidc.fetchUserInfo(config, tokens.access_token, subject);
    expect(userInfo).toEqual({
      sub: 'user-alice',
      name: 'Alice Liddell',
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
    });
    // openid-client checks the answer's sub against the one it expects (OIDC Core §5.3.2).
    await expect(oidc.fetchUserInfo(config, tokens.access_token, 'someone-else')).rejects.toThrow();

    expect((await browser.navigate(`${host.issuer}/`)).text).toContain('Sign out of the host');
    const endSession = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: `${host.issuer}/rp/`,
      state: 'end-state',
    });
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${host.issuer}/oauth2/logout`);
    const signedOut = await browser.navigate(endSession, { follow: false });
    expect(signedOut.status).toBe(303);
    expect(signedOut.location).toBe(`${host.issuer}/rp/?state=end-state`);
    expect((await browser.navigate(`${host.issuer}/`)).text).not.toContain('Sign out of the host');
  });
});
