import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import {
  createTokenRouter,
  issueAuthorizationCode,
  MemoryCodeStore,
  MemoryKeyStore,
  MemoryRefreshTokenStore,
} from '../lib/index.js';

/*
 * Interop: two independent OpenID Connect client libraries drive the router over a real socket,
 * from discovery through the authorization-code grant to refresh and revocation.
 */

const CLIENT_ID = 'interop-client';
const SUBJECT = 'user-42';

interface Provider {
  issuer: string;
  redirectUri: string;
  codeStore: MemoryCodeStore;
  close(): Promise<void>;
  /** What the host's authorization step does: issue a code and build the redirect back. */
  authorize(request: { codeChallenge: string; nonce: string; state: string; authTime: number }): Promise<URL>;
}

/** The router on a real port, at an http://localhost issuer (accepted for development). */
async function startProvider(keyStore: MemoryKeyStore): Promise<Provider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://localhost:${port}`;
  const redirectUri = `${issuer}/callback`;
  const codeStore = new MemoryCodeStore();
  const refreshTokenStore = new MemoryRefreshTokenStore();
  const app = express();
  app.use(
    createTokenRouter({
      issuer,
      codeStore,
      keyStore,
      refreshTokenStore,
      clients: [{ clientId: CLIENT_ID, redirectUris: [redirectUri] }],
      discoveryMetadata: { authorization_endpoint: `${issuer}/authorize`, scopes_supported: ['openid', 'profile'] },
    }),
  );
  server.on('request', app);
  return {
    issuer,
    redirectUri,
    codeStore,
    async authorize({ codeChallenge, nonce, state, authTime }) {
      const code = await issueAuthorizationCode(codeStore, {
        clientId: CLIENT_ID,
        redirectUri,
        codeChallenge,
        codeChallengeMethod: 'S256',
        subject: SUBJECT,
        scope: ['openid', 'profile'],
        nonce,
        authTime,
        acr: 'urn:example:loa:2',
        amr: ['pwd'],
      });
      const callback = new URL(redirectUri);
      callback.searchParams.set('code', code);
      callback.searchParams.set('state', state);
      return callback;
    },
    async close() {
      codeStore.close();
      refreshTokenStore.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(['RS256', 'ES256'] as const)('interop, %s', (alg) => {
  let provider: Provider;
  beforeAll(async () => {
    provider = await startProvider(await MemoryKeyStore.generate({ alg }));
  });
  afterAll(() => provider.close());

  describe('openid-client', () => {
    let config: client.Configuration;
    beforeAll(async () => {
      config = await client.discovery(new URL(provider.issuer), CLIENT_ID, undefined, client.None(), {
        execute: [client.allowInsecureRequests],
      });
      // Check ID token signatures against the discovered jwks_uri too, not only over the channel.
      client.enableNonRepudiationChecks(config);
    });

    it('discovery() finds the issuer, the endpoints and the signing algorithm', () => {
      const metadata = config.serverMetadata();
      expect(metadata.issuer).toBe(provider.issuer);
      expect(metadata.token_endpoint).toBe(`${provider.issuer}/oauth2/token`);
      expect(metadata.jwks_uri).toBe(`${provider.issuer}/oauth2/jwks`);
      expect(metadata.revocation_endpoint).toBe(`${provider.issuer}/oauth2/revoke`);
      expect(metadata.id_token_signing_alg_values_supported).toEqual([alg]);
      expect(metadata.supportsPKCE()).toBe(true);
    });

    async function signIn() {
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const state = client.randomState();
      const authTime = Math.floor(Date.now() / 1000) - 5;
      const callback = await provider.authorize({
        codeChallenge: await client.calculatePKCECodeChallenge(verifier),
        nonce,
        state,
        authTime,
      });
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedNonce: nonce,
        expectedState: state,
        idTokenExpected: true,
      });
      return { tokens, nonce, authTime };
    }

    it('authorizationCodeGrant() succeeds, and the ID token validates (signature, iss, aud, nonce, exp)', async () => {
      const { tokens, nonce, authTime } = await signIn();
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.expires_in).toBeGreaterThan(290);
      expect(tokens.scope).toBe('openid profile');
      expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{84}$/);
      expect(tokens.claims()).toMatchObject({
        iss: provider.issuer,
        aud: CLIENT_ID,
        sub: SUBJECT,
        nonce,
        auth_time: authTime,
        acr: 'urn:example:loa:2',
        amr: ['pwd'],
      });
    });

    it('the access token verifies against the discovered jwks_uri', async () => {
      const { tokens } = await signIn();
      const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
        issuer: provider.issuer,
        audience: CLIENT_ID,
      });
      expect(protectedHeader.alg).toBe(alg);
      expect(payload.sub).toBe(SUBJECT);
    });

    it('refreshTokenGrant() succeeds, rotating the refresh token, with a valid ID token for the same user', async () => {
      const { tokens, authTime } = await signIn();
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      const claims = refreshed.claims();
      expect(claims).toMatchObject({ iss: provider.issuer, aud: CLIENT_ID, sub: SUBJECT, auth_time: authTime });
      expect(claims).not.toHaveProperty('nonce');
      const again = await client.refreshTokenGrant(config, refreshed.refresh_token!, { scope: 'profile' });
      expect(again.scope).toBe('profile');
    });

    it('reusing a rotated refresh token fails with invalid_grant and revokes the family', async () => {
      const { tokens } = await signIn();
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
        status: 400,
      });
      await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    });

    it('tokenRevocation() succeeds, and the refresh token is dead after it', async () => {
      const { tokens } = await signIn();
      await client.tokenRevocation(config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    });
  });

  describe('oauth4webapi', () => {
    const options = { [oauth.allowInsecureRequests]: true };
    const oauthClient: oauth.Client = { client_id: CLIENT_ID };
    let as: oauth.AuthorizationServer;
    beforeAll(async () => {
      const issuer = new URL(provider.issuer);
      as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    });

    it('discovers the authorization server', () => {
      expect(as.issuer).toBe(provider.issuer);
      expect(as.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
      expect(as.code_challenge_methods_supported).toEqual(['S256']);
    });

    it('runs the code grant, then the refresh grant, validating each ID token and its signature', async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      const nonce = oauth.generateRandomNonce();
      const state = oauth.generateRandomState();
      const callback = await provider.authorize({
        codeChallenge: await oauth.calculatePKCECodeChallenge(verifier),
        nonce,
        state,
        authTime: Math.floor(Date.now() / 1000),
      });
      const params = oauth.validateAuthResponse(as, oauthClient, callback, state);
      const codeResponse = await oauth.authorizationCodeGrantRequest(
        as,
        oauthClient,
        oauth.None(),
        params,
        provider.redirectUri,
        verifier,
        options,
      );
      const result = await oauth.processAuthorizationCodeResponse(as, oauthClient, codeResponse, {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      await oauth.validateApplicationLevelSignature(as, codeResponse, options);
      expect(oauth.getValidatedIdTokenClaims(result)).toMatchObject({
        iss: provider.issuer,
        aud: CLIENT_ID,
        sub: SUBJECT,
        nonce,
      });

      const refreshResponse = await oauth.refreshTokenGrantRequest(
        as,
        oauthClient,
        oauth.None(),
        result.refresh_token!,
        options,
      );
      const refreshed = await oauth.processRefreshTokenResponse(as, oauthClient, refreshResponse);
      await oauth.validateApplicationLevelSignature(as, refreshResponse, options);
      expect(oauth.getValidatedIdTokenClaims(refreshed)).toMatchObject({
        iss: provider.issuer,
        aud: CLIENT_ID,
        sub: SUBJECT,
      });
      expect(refreshed.refresh_token).not.toBe(result.refresh_token);

      const reuse = await oauth.refreshTokenGrantRequest(as, oauthClient, oauth.None(), result.refresh_token!, options);
      await expect(oauth.processRefreshTokenResponse(as, oauthClient, reuse)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    });

    it('revokes a refresh token', async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const callback = await provider.authorize({
        codeChallenge: await oauth.calculatePKCECodeChallenge(verifier),
        nonce: 'n',
        state,
        authTime: 1,
      });
      const params = oauth.validateAuthResponse(as, oauthClient, callback, state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        oauthClient,
        oauth.None(),
        params,
        provider.redirectUri,
        verifier,
        options,
      );
      const result = await oauth.processAuthorizationCodeResponse(as, oauthClient, response, { expectedNonce: 'n' });
      const revocation = await oauth.revocationRequest(as, oauthClient, oauth.None(), result.refresh_token!, options);
      await oauth.processRevocationResponse(revocation);
      const after = await oauth.refreshTokenGrantRequest(as, oauthClient, oauth.None(), result.refresh_token!, options);
      await expect(oauth.processRefreshTokenResponse(as, oauthClient, after)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    });
  });
});
