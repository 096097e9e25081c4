import { createHash, randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import {
  type AuthorizationCodeGrant,
  type AuthorizationCodeRequest,
  createTokenRouter,
  issueAuthorizationCode,
  MemoryCodeStore,
  MemoryKeyStore,
  MemoryRefreshTokenStore,
  type TokenRouterOptions,
} from '../../lib/index.js';

export const ISSUER = 'https://login.example.com';
export const CLIENT_ID = 'web';
export const REDIRECT_URI = 'https://app.example.com/callback';
export const SPA_ORIGIN = 'https://app.example.com';

/** A PKCE pair (RFC 7636 §4.1–4.2). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

let sharedKeys: Promise<MemoryKeyStore> | undefined;
/** One RS256 key for the whole file: generating 2048-bit keys is slow. */
export function sharedKeyStore(): Promise<MemoryKeyStore> {
  sharedKeys ??= MemoryKeyStore.generate();
  return sharedKeys;
}

export interface Harness {
  app: Express;
  codeStore: MemoryCodeStore;
  refreshTokenStore: MemoryRefreshTokenStore;
  keyStore: MemoryKeyStore;
  /** Issue a code for the default client with a fresh PKCE pair; returns the form to redeem it. */
  issue(grant?: Partial<AuthorizationCodeRequest>, ttl?: number): Promise<Record<string, string>>;
  close(): void;
}

/** An Express app with the router mounted on in-process stores. */
export async function harness(options: Partial<TokenRouterOptions> = {}): Promise<Harness> {
  const codeStore = new MemoryCodeStore(options.now === undefined ? {} : { now: options.now });
  const refreshTokenStore = new MemoryRefreshTokenStore(options.now === undefined ? {} : { now: options.now });
  const keyStore = await sharedKeyStore();
  const app = express();
  app.use(
    createTokenRouter({
      issuer: ISSUER,
      codeStore,
      keyStore,
      refreshTokenStore,
      clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
      ...options,
    }),
  );
  return {
    app,
    codeStore,
    refreshTokenStore,
    keyStore,
    async issue(grant = {}, ttl) {
      const { verifier, challenge } = pkcePair();
      const code = await issueAuthorizationCode(
        codeStore,
        {
          clientId: CLIENT_ID,
          redirectUri: REDIRECT_URI,
          codeChallenge: challenge,
          codeChallengeMethod: 'S256',
          subject: 'user-123',
          scope: ['openid'],
          ...grant,
        },
        { ...(ttl === undefined ? {} : { ttl }), ...(options.now === undefined ? {} : { now: options.now }) },
      );
      return {
        client_id: grant.clientId ?? CLIENT_ID,
        grant_type: 'authorization_code',
        code,
        redirect_uri: grant.redirectUri ?? REDIRECT_URI,
        code_verifier: verifier,
      };
    },
    close() {
      codeStore.close();
      refreshTokenStore.close();
    },
  };
}

/** Assert the JSON error answer docs/contract.md "Errors" names, with its headers and nothing else in the body. */
export function expectError(res: request.Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(Object.keys(res.body).every((key) => key === 'error' || key === 'error_description')).toBe(true);
  expectRouterHeaders(res);
}

/**
 * What every answer of the router carries, whatever its status: no `X-Powered-By` (the host's
 * setting is not the router's), and on a 401 a `WWW-Authenticate` challenge (RFC 9110 §15.5.2)
 * carrying the body's error.
 */
export function expectRouterHeaders(res: request.Response): void {
  expect(res.headers).not.toHaveProperty('x-powered-by');
  if (res.status === 401) {
    expect(res.headers['www-authenticate']).toMatch(new RegExp(`^Bearer realm="[^"]+", error="${res.body.error}"`));
  }
}

/** The default client, and a second one with the same redirect URI, for client-binding tests. */
export const TWO_CLIENTS = [
  { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] },
  { clientId: 'other', redirectUris: [REDIRECT_URI] },
];

/** RFC 6749 §6: a refresh request's form. */
export function refreshForm(refreshToken: string, extra: Record<string, string> = {}): Record<string, string> {
  return { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: refreshToken, ...extra };
}

/** Redeem a fresh code and expect tokens; the token response. */
export async function signIn(
  h: Harness,
  grant: Partial<AuthorizationCodeRequest> = {},
): Promise<Record<string, string>> {
  const res = await postToken(h.app, await h.issue(grant));
  expect(res.status).toBe(200);
  return res.body as Record<string, string>;
}

/** Form-encode parameters in the order given (URLSearchParams escapes as browsers do). */
export function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** POST a form to the token endpoint. */
export function postToken(app: Express, body: string | Record<string, string>, path = '/oauth2/token') {
  return request(app)
    .post(path)
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .send(typeof body === 'string' ? body : form(body));
}

/** A grant as a store keeps it (without its expiry), for the stores' own tests. */
export const STORE_TEST_GRANT: Readonly<Omit<AuthorizationCodeGrant, 'expiresAt'>> = {
  clientId: 'web',
  redirectUri: 'https://app.example.com/cb',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  codeChallengeMethod: 'S256',
  subject: 'u',
  scope: ['openid'],
};
