import { exportJWK, generateKeyPair } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { AuthorizationCode } from 'simple-oauth2';
import { hashClientSecret } from '../dist/index.js';
import { DEV_WEB_CLIENT_SECRET, demoClients, WEB_CALLBACK_PATH, WEB_CLIENT_ID } from '../example-app/clients.js';
import { startExampleHost } from './support/example-host.js';
import { createUserAgent } from './support/user-agent.js';

const ALICE = { username: 'alice', password: 'alice-password' };
const POST_CLIENT_ID = 'example-web-post';
const JWT_CLIENT_ID = 'example-web-jwt';
const POST_SECRET = 'example-web-post-secret: with+special&chars=%';

/**
 * Confidential clients of third-party libraries against the example host (issue 16, "Done
 * when"): each signs a user in (code with PKCE), refreshes, and revokes, authenticating by
 * client_secret_basic (the example's own example-web), client_secret_post or private_key_jwt
 * (two more web-app clients registered beside the demo ones for this suite).
 */
describe('interop: confidential clients against the example host', () => {
  let host;
  let redirectUri;
  let privateKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'example-web-jwt-1', alg: 'ES256', use: 'sig' };
    const postSecretHash = await hashClientSecret(POST_SECRET);
    host = await startExampleHost({
      clients: (issuer) => {
        const web = `${issuer}${WEB_CALLBACK_PATH}`;
        return [
          ...demoClients(issuer),
          {
            clientId: POST_CLIENT_ID,
            redirectUris: [web],
            tokenEndpointAuthMethod: 'client_secret_post',
            clientSecretHash: postSecretHash,
          },
          {
            clientId: JWT_CLIENT_ID,
            redirectUris: [web],
            tokenEndpointAuthMethod: 'private_key_jwt',
            jwks: { keys: [publicJwk] },
          },
        ];
      },
    });
    redirectUri = `${host.issuer}${WEB_CALLBACK_PATH}`;
  });
  afterAll(() => host.stop());

  /** Sign in on the host's page for `authorizeUrl`; the redirect back, with the code, not followed. */
  async function signInAt(authorizeUrl) {
    const browser = createUserAgent();
    const answer = await browser.signIn(await browser.navigate(authorizeUrl), ALICE, { follow: false });
    expect(answer.status).toBe(302);
    return answer.location;
  }

  const methods = [
    ['ClientSecretBasic', WEB_CLIENT_ID, 'client_secret_basic'],
    ['ClientSecretPost', POST_CLIENT_ID, 'client_secret_post'],
    ['PrivateKeyJwt', JWT_CLIENT_ID, 'private_key_jwt'],
  ];
  const clientAuthOf = (library, name) =>
    name === 'ClientSecretBasic'
      ? library.ClientSecretBasic(DEV_WEB_CLIENT_SECRET)
      : name === 'ClientSecretPost'
        ? library.ClientSecretPost(POST_SECRET)
        : library.PrivateKeyJwt(library === oauth ? { key: privateKey, kid: 'example-web-jwt-1' } : privateKey);

  it.each(methods)('openid-client with %s: code, refresh, revoke', async (name, clientId, method) => {
    const config = await oidc.discovery(
      new URL(host.issuer),
      clientId,
      { redirect_uris: [redirectUri], token_endpoint_auth_method: method },
      clientAuthOf(oidc, name),
      { execute: [oidc.allowInsecureRequests] },
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const location = await signInAt(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      }),
    );
    const tokens = await oidc.authorizationCodeGrant(config, new URL(location), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      idTokenExpected: true,
    });
    expect(tokens.claims().aud).toBe(clientId);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await oidc.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it.each(methods)('oauth4webapi with %s: code, refresh, revoke', async (name, clientId) => {
    const options = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(
      new URL(host.issuer),
      await oauth.discoveryRequest(new URL(host.issuer), options),
    );
    const client = { client_id: clientId };
    const clientAuth = clientAuthOf(oauth, name);
    const verifier = oauth.generateRandomCodeVerifier();
    const authorize = new URL(as.authorization_endpoint);
    authorize.search = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const callback = oauth.validateAuthResponse(as, client, new URL(await signInAt(authorize)), oauth.skipStateCheck);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callback, redirectUri, verifier, options),
    );
    expect(tokens.token_type).toBe('bearer');
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, options),
    );
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token, options),
    );
    await expect(
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token, options),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('simple-oauth2 in its default mode (credentials in a Basic header): code and refresh; code, refresh and revoke', async () => {
    const client = new AuthorizationCode({
      client: { id: WEB_CLIENT_ID, secret: DEV_WEB_CLIENT_SECRET },
      auth: {
        tokenHost: host.issuer,
        tokenPath: '/oauth2/token',
        revokePath: '/oauth2/revoke',
        authorizePath: '/authorize',
      },
    });
    const verifier = oauth.generateRandomCodeVerifier();
    const authorizeUrl = client.authorizeURL({
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 'simple-state',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const location = new URL(await signInAt(authorizeUrl));
    expect(location.searchParams.get('state')).toBe('simple-state');
    const token = await client.getToken({
      code: location.searchParams.get('code'),
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(token.token.access_token).toMatch(/^eyJ/);
    const refreshed = await token.refresh();
    expect(refreshed.token.refresh_token).not.toBe(token.token.refresh_token);
    // Its strict JSON reader (wreck, json: 'strict') needs a JSON body: the revocation answers
    // 200 with `{}` (docs/revocation.md).
    await refreshed.revoke('refresh_token');
    await expect(refreshed.refresh()).rejects.toMatchObject({ output: { statusCode: 400 } });
  });
});
