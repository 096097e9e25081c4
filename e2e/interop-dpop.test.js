import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { SPA_CALLBACK_PATH, SPA_CLIENT_ID } from '../example-app/clients.js';
import { startExampleHost } from './support/example-host.js';
import { createUserAgent } from './support/user-agent.js';

const ALICE = { username: 'alice', password: 'alice-password' };

/**
 * DPoP (RFC 9449) with the two client libraries that implement it, each with its own proofs
 * and key handling, as a public client (the demo SPA's registration) against the example host:
 * the code exchange, a refresh, the host's API and UserInfo, every request with a proof.
 */
describe('interop: DPoP with openid-client and oauth4webapi', () => {
  let host;
  let redirectUri;
  let apiEndpoint;
  let jwks;
  beforeAll(async () => {
    host = await startExampleHost();
    redirectUri = `${host.issuer}${SPA_CALLBACK_PATH}`;
    apiEndpoint = new URL(`${host.issuer}/api/profile`);
    jwks = createRemoteJWKSet(new URL(`${host.issuer}/oauth2/jwks`));
  });
  afterAll(() => host.stop());

  async function signInAt(authorizeUrl) {
    const browser = createUserAgent();
    const answer = await browser.signIn(await browser.navigate(authorizeUrl), ALICE, { follow: false });
    expect(answer.status).toBe(302);
    return answer.location;
  }

  /** The access token verifies against the JWKS and is bound to `publicKey` (RFC 9449 §6.1). */
  async function expectBoundTo(accessToken, publicKey) {
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: host.issuer });
    expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(await exportJWK(publicKey)) });
  }

  it('openid-client: code exchange, refresh, the API and UserInfo, all with DPoP', async () => {
    const config = await oidc.discovery(
      new URL(host.issuer),
      SPA_CLIENT_ID,
      { redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' },
      oidc.None(),
      { execute: [oidc.allowInsecureRequests] },
    );
    // Discovery says which proof algorithms the server takes (RFC 9449 §5.1).
    expect(config.serverMetadata().dpop_signing_alg_values_supported).toContain('ES256');
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, keyPair);
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
    const tokens = await oidc.authorizationCodeGrant(
      config,
      new URL(location),
      { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type).toBe('dpop');
    await expectBoundTo(tokens.access_token, keyPair.publicKey);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
    expect(refreshed.token_type).toBe('dpop');
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await expectBoundTo(refreshed.access_token, keyPair.publicKey);

    const api = await oidc.fetchProtectedResource(
      config,
      refreshed.access_token,
      apiEndpoint,
      'GET',
      undefined,
      undefined,
      {
        DPoP,
      },
    );
    expect(api.status).toBe(200);
    expect(await api.json()).toMatchObject({ sub: 'user-alice', client_id: SPA_CLIENT_ID });
    const userinfo = await oidc.fetchUserInfo(config, refreshed.access_token, 'user-alice', { DPoP });
    expect(userinfo.sub).toBe('user-alice');

    // Another key (a thief's) gets nothing with the refresh token: it is bound to the first (§5).
    const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    await expect(
      oidc.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP: thief }),
    ).rejects.toMatchObject({
      error: 'invalid_dpop_proof',
    });
    // Refused before it was spent: with the right key it still refreshes.
    const again = await oidc.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP });
    expect(again.token_type).toBe('dpop');
  });

  it('oauth4webapi: code exchange, refresh, the API and UserInfo, all with DPoP', async () => {
    const options = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(
      new URL(host.issuer),
      await oauth.discoveryRequest(new URL(host.issuer), options),
    );
    const client = { client_id: SPA_CLIENT_ID };
    const clientAuth = oauth.None();
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(client, keyPair);
    const verifier = oauth.generateRandomCodeVerifier();
    const authorize = new URL(as.authorization_endpoint);
    authorize.search = new URLSearchParams({
      client_id: SPA_CLIENT_ID,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const callback = oauth.validateAuthResponse(as, client, new URL(await signInAt(authorize)), oauth.skipStateCheck);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callback, redirectUri, verifier, {
        ...options,
        DPoP,
      }),
    );
    expect(tokens.token_type).toBe('dpop');
    await expectBoundTo(tokens.access_token, keyPair.publicKey);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, { ...options, DPoP }),
    );
    expect(refreshed.token_type).toBe('dpop');
    await expectBoundTo(refreshed.access_token, keyPair.publicKey);

    const api = await oauth.protectedResourceRequest(refreshed.access_token, 'GET', apiEndpoint, new Headers(), null, {
      ...options,
      DPoP,
    });
    expect(api.status).toBe(200);
    expect(await api.json()).toMatchObject({ sub: 'user-alice', client_id: SPA_CLIENT_ID });
    const userinfo = await oauth.processUserInfoResponse(
      as,
      client,
      'user-alice',
      await oauth.userInfoRequest(as, client, refreshed.access_token, { ...options, DPoP }),
    );
    expect(userinfo.sub).toBe('user-alice');

    // The bound access token without its proof, as a bearer token, is refused (RFC 9449 §7.2).
    // oauth4webapi reads the 401's WWW-Authenticate challenge and throws it.
    await expect(
      oauth.protectedResourceRequest(refreshed.access_token, 'GET', apiEndpoint, new Headers(), null, options),
    ).rejects.toMatchObject({
      status: 401,
      cause: expect.arrayContaining([
        expect.objectContaining({ parameters: expect.objectContaining({ error: 'invalid_token' }) }),
      ]),
    });
  });
});
