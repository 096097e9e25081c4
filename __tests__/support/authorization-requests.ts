import {
  type AuthorizationParams,
  type AuthorizationRequestOptions,
  type AuthorizationRequestOutcome,
  checkAuthorizationRequest,
} from '../../lib/index.js';
import { pkcePair } from './helpers.js';

export const ISSUER = 'https://login.example.com';
export const REDIRECT_URI = 'https://app.example.com/callback';
/** A registered redirect URI with a query of its own. */
export const REDIRECT_URI_WITH_QUERY = 'https://app.example.com/cb?tenant=a%20b';
export const PLAIN_REDIRECT_URI = 'com.example.legacy:/callback';

export const CLIENTS = [
  { clientId: 'web', redirectUris: [REDIRECT_URI, REDIRECT_URI_WITH_QUERY] },
  { clientId: 'legacy', redirectUris: [PLAIN_REDIRECT_URI], allowPlainPkce: true },
];

export const OPTIONS: AuthorizationRequestOptions = {
  issuer: ISSUER,
  clients: CLIENTS,
  scopes: ['openid', 'profile', 'email'],
};

/** A well-formed request of the `web` client; `overrides` set (or, as `undefined`, remove) parameters. */
export function authorizationParams(overrides: Record<string, string | undefined> = {}): URLSearchParams {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: 'web',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    state: 'af0ifjsldkj',
    nonce: 'n-0S6_WzA2Mj',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
  });
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) params.delete(name);
    else params.set(name, value);
  }
  return params;
}

/** The same parameters as Express 5's "simple" parser (node:querystring) gives them: arrays for repeated ones. */
export function asQueryObject(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name);
    query[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return query;
}

/** The two shapes the parameters come in. */
export const PARAM_SHAPES: [string, (params: URLSearchParams) => AuthorizationParams][] = [
  ['URLSearchParams', (params) => params],
  ['a req.query object', asQueryObject],
];

export function check(
  params: AuthorizationParams,
  options: AuthorizationRequestOptions = OPTIONS,
): Promise<AuthorizationRequestOutcome> {
  return checkAuthorizationRequest(params, options);
}

/** The outcome is shown to the user, with this error: no URL anywhere in it. */
export function expectShown(
  outcome: AuthorizationRequestOutcome,
  error: string,
  parameter?: 'client_id' | 'redirect_uri',
): void {
  expect(outcome).toMatchObject({ kind: 'show-error', error });
  if (parameter !== undefined) expect(outcome).toMatchObject({ parameter });
  expect(JSON.stringify(outcome)).not.toMatch(/https?:|example\./);
}

/**
 * The outcome redirects to the registered URI with `error`, `error_description` and `iss`, and
 * the state when `state` is given; returns the redirect URL's parameters.
 */
export function expectRedirected(
  outcome: AuthorizationRequestOutcome,
  error: string,
  state?: string,
  redirectUri = REDIRECT_URI,
): URLSearchParams {
  expect(outcome).toMatchObject({ kind: 'redirect-error', error });
  if (outcome.kind !== 'redirect-error') throw new Error('not a redirect-error');
  const url = new URL(outcome.redirectUrl);
  expect(url.href.split('?')[0]).toBe(redirectUri.split('?')[0]);
  expect(url.searchParams.get('error')).toBe(error);
  expect(url.searchParams.get('error_description')).toBe(outcome.description);
  // RFC 6749 §4.1.2.1: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ).
  expect(outcome.description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
  expect(url.searchParams.get('iss')).toBe(ISSUER);
  expect(url.searchParams.get('state')).toBe(state ?? null);
  expect(url.searchParams.has('code')).toBe(false);
  return url.searchParams;
}
