import { type AuthorizationRequestOptions, ConfigurationError, checkAuthorizationRequest } from '../../lib/index.js';
import { authorizationParams, ISSUER, OPTIONS, REDIRECT_URI } from '../support/authorization-requests.js';

/** Call with options as a host might mistype them; the mistake is thrown at once, before any lookup. */
function callWith(options: unknown): () => unknown {
  return () => checkAuthorizationRequest(authorizationParams(), options as AuthorizationRequestOptions);
}

describe('checkAuthorizationRequest: its options are checked on every call, as createTokenRouter checks its own', () => {
  it.each<[string, unknown, string, string]>([
    ['no options', undefined, 'ERR_OPTIONS_NOT_OBJECT', 'options'],
    ['a misspelt option', { ...OPTIONS, scope: ['openid'] }, 'ERR_OPTION_UNKNOWN', 'scope'],
    ['no issuer', { ...OPTIONS, issuer: undefined }, 'ERR_OPTION_MISSING', 'issuer'],
    [
      'an issuer not written as parsed',
      { ...OPTIONS, issuer: 'https://LOGIN.example.com' },
      'ERR_OPTION_INVALID',
      'issuer',
    ],
    ['an http issuer off loopback', { ...OPTIONS, issuer: 'http://login.example.com' }, 'ERR_OPTION_INVALID', 'issuer'],
    ['no clients', { ...OPTIONS, clients: undefined }, 'ERR_OPTION_MISSING', 'clients'],
    ['clients that are neither an array nor a registry', { ...OPTIONS, clients: {} }, 'ERR_OPTION_INVALID', 'clients'],
    [
      'a client with a wildcard redirect URI',
      { ...OPTIONS, clients: [{ clientId: 'web', redirectUris: ['https://app.example.com/*'] }] },
      'ERR_OPTION_INVALID',
      'clients[0].redirectUris',
    ],
    [
      'a client with a misspelt field',
      { ...OPTIONS, clients: [{ clientId: 'web', redirectUri: [REDIRECT_URI] }] },
      'ERR_OPTION_UNKNOWN',
      'clients[0].redirectUri',
    ],
    ['no scopes', { ...OPTIONS, scopes: undefined }, 'ERR_OPTION_MISSING', 'scopes'],
    ['no scope offered', { ...OPTIONS, scopes: [] }, 'ERR_OPTION_INVALID', 'scopes'],
    ['a scope string, not an array', { ...OPTIONS, scopes: 'openid profile' }, 'ERR_OPTION_INVALID', 'scopes'],
    ['a scope with a space', { ...OPTIONS, scopes: ['openid profile'] }, 'ERR_OPTION_INVALID', 'scopes'],
    ['a default scope not offered', { ...OPTIONS, defaultScope: ['admin'] }, 'ERR_OPTION_INVALID', 'defaultScope'],
    ['an empty default scope', { ...OPTIONS, defaultScope: [] }, 'ERR_OPTION_INVALID', 'defaultScope'],
    ['requireOpenid not a boolean', { ...OPTIONS, requireOpenid: 'yes' }, 'ERR_OPTION_INVALID', 'requireOpenid'],
    [
      'requireOpenid without openid offered',
      { ...OPTIONS, scopes: ['profile'], requireOpenid: true },
      'ERR_OPTION_INVALID',
      'scopes',
    ],
    [
      'requireOpenid with a default scope without openid',
      { ...OPTIONS, defaultScope: ['profile'], requireOpenid: true },
      'ERR_OPTION_INVALID',
      'defaultScope',
    ],
    [
      'ignoreUnknownScopes not a boolean',
      { ...OPTIONS, ignoreUnknownScopes: 1 },
      'ERR_OPTION_INVALID',
      'ignoreUnknownScopes',
    ],
  ])('%s: a ConfigurationError, thrown synchronously', (_name, options, code, option) => {
    expect(callWith(options)).toThrow(ConfigurationError);
    expect(callWith(options)).toThrow(expect.objectContaining({ code, option }));
  });

  it("the message links the code's section of docs/errors.md", () => {
    expect(callWith({ ...OPTIONS, scopes: [] })).toThrow(/docs\/errors\.md#err_option_invalid$/);
  });

  it('parameters that are neither URLSearchParams nor an object (req.body of a GET, say): a ConfigurationError', () => {
    const call = () => checkAuthorizationRequest(undefined as unknown as URLSearchParams, OPTIONS);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OPTION_INVALID', option: 'params' }));
  });

  it('a registry is looked up only once the options are good', async () => {
    let lookups = 0;
    const clients = {
      findClient: async () => {
        lookups++;
        return undefined;
      },
    };
    expect(callWith({ ...OPTIONS, clients, scopes: [] })).toThrow(ConfigurationError);
    expect(lookups).toBe(0);
    await checkAuthorizationRequest(authorizationParams(), { ...OPTIONS, clients, issuer: ISSUER });
    expect(lookups).toBe(1);
  });
});
