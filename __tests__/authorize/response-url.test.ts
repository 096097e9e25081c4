import {
  type AuthorizationErrorCode,
  authorizationErrorUrl,
  authorizationResponseUrl,
  ConfigurationError,
} from '../../lib/index.js';
import { ISSUER, REDIRECT_URI } from '../support/authorization-requests.js';

const CODE = 'SplxlOBeZQQYbYS6WxSbIA';

describe('authorizationResponseUrl: RFC 6749 §4.1.2, the redirect back with the code', () => {
  it('carries code, state and iss (RFC 9207), in that order', () => {
    const url = new URL(
      authorizationResponseUrl({ redirectUri: REDIRECT_URI, state: 'xyz' }, CODE, { issuer: ISSUER }),
    );
    expect(`${url.origin}${url.pathname}`).toBe(REDIRECT_URI);
    expect([...url.searchParams]).toEqual([
      ['code', CODE],
      ['state', 'xyz'],
      ['iss', ISSUER],
    ]);
  });

  it('"state: REQUIRED if the state parameter was present in the client authorization request": absent, none is sent', () => {
    const url = new URL(authorizationResponseUrl({ redirectUri: REDIRECT_URI }, CODE, { issuer: ISSUER }));
    expect(url.searchParams.has('state')).toBe(false);
  });

  it('§3.1.2: "The endpoint URI MAY include a query component, which MUST be retained", byte for byte', () => {
    const redirectUri = 'https://app.example.com/cb?tenant=a%20b&flag';
    const url = authorizationResponseUrl({ redirectUri, state: 's' }, CODE, { issuer: ISSUER });
    expect(url).toBe(`${redirectUri}&code=${CODE}&state=s&iss=${encodeURIComponent(ISSUER)}`);
  });

  it('a registered query that names code or state already is replaced, so the client reads one value', () => {
    const url = new URL(
      authorizationResponseUrl({ redirectUri: 'https://app.example.com/cb?state=old&x=1', state: 'new' }, CODE, {
        issuer: ISSUER,
      }),
    );
    expect(url.searchParams.getAll('state')).toEqual(['new']);
    expect(url.searchParams.get('x')).toBe('1');
  });

  it('a state with characters that need escaping comes back as sent', () => {
    const state = 'a b&c=d"\\<>?#%';
    const url = new URL(authorizationResponseUrl({ redirectUri: REDIRECT_URI, state }, CODE, { issuer: ISSUER }));
    expect(url.searchParams.get('state')).toBe(state);
    expect(url.hash).toBe('');
  });

  it('works for custom-scheme and loopback redirect URIs (RFC 8252 §7.1, §7.3)', () => {
    for (const redirectUri of ['com.example.app:/callback', 'http://127.0.0.1:8765/cb']) {
      const url = authorizationResponseUrl({ redirectUri }, CODE, { issuer: ISSUER });
      expect(url).toBe(`${redirectUri}?code=${CODE}&iss=${encodeURIComponent(ISSUER)}`);
    }
  });

  it.each<[string, () => unknown, string]>([
    ['an empty code', () => authorizationResponseUrl({ redirectUri: REDIRECT_URI }, '', { issuer: ISSUER }), 'code'],
    [
      'a redirect URI that is not a URI',
      () => authorizationResponseUrl({ redirectUri: 'callback' }, CODE, { issuer: ISSUER }),
      'request.redirectUri',
    ],
    [
      'no issuer',
      () => authorizationResponseUrl({ redirectUri: REDIRECT_URI }, CODE, {} as { issuer: string }),
      'issuer',
    ],
    [
      'an issuer with a query',
      () => authorizationResponseUrl({ redirectUri: REDIRECT_URI }, CODE, { issuer: `${ISSUER}?x=1` }),
      'issuer',
    ],
  ])('%s is a ConfigurationError naming it', (_name, call, option) => {
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(expect.objectContaining({ option }));
  });
});

describe('authorizationErrorUrl: RFC 6749 §4.1.2.1, an error back to the client of a valid request', () => {
  it('carries error, error_description, state and iss', () => {
    const url = new URL(
      authorizationErrorUrl({ redirectUri: REDIRECT_URI, state: 'xyz' }, 'access_denied', {
        issuer: ISSUER,
        description: 'The user declined.',
      }),
    );
    expect([...url.searchParams]).toEqual([
      ['error', 'access_denied'],
      ['error_description', 'The user declined.'],
      ['state', 'xyz'],
      ['iss', ISSUER],
    ]);
  });

  it('OIDC Core §3.1.2.6: login_required for prompt=none without a session, no description needed', () => {
    const url = new URL(authorizationErrorUrl({ redirectUri: REDIRECT_URI }, 'login_required', { issuer: ISSUER }));
    expect([...url.searchParams.keys()]).toEqual(['error', 'iss']);
  });

  it('an error that is not one of RFC 6749 §4.1.2.1 or OIDC Core §3.1.2.6 is a ConfigurationError', () => {
    const call = () =>
      authorizationErrorUrl({ redirectUri: REDIRECT_URI }, 'nope' as AuthorizationErrorCode, { issuer: ISSUER });
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OPTION_INVALID', option: 'error' }));
  });

  it.each(['say "no"', 'back\\slash', 'é', ''])(
    'error_description = 1*( %%x20-21 / %%x23-5B / %%x5D-7E ): %j is a ConfigurationError',
    (description) => {
      const call = () =>
        authorizationErrorUrl({ redirectUri: REDIRECT_URI }, 'access_denied', { issuer: ISSUER, description });
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_OPTION_INVALID', option: 'description' }));
    },
  );
});
