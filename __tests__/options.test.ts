import { createTokenRouter, ConfigurationError, MemoryCodeStore, type TokenRouterOptions } from '../lib/index.js';
import { sharedKeyStore } from './helpers.js';

describe('createTokenRouter options are checked at once', () => {
  let base: TokenRouterOptions;
  const codeStore = new MemoryCodeStore();
  beforeAll(async () => {
    base = { issuer: 'https://login.example.com', codeStore, keyStore: await sharedKeyStore() };
  });
  afterAll(() => codeStore.close());

  function thrown(options: unknown): ConfigurationError {
    try {
      createTokenRouter(options as TokenRouterOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toBeInstanceOf(TypeError);
      return error as ConfigurationError;
    }
    throw new Error('createTokenRouter did not throw');
  }

  it('accepts the minimal options and every documented option', () => {
    expect(() => createTokenRouter(base)).not.toThrow();
    expect(() =>
      createTokenRouter({
        ...base,
        clients: [{ clientId: 'a', redirectUris: ['https://a.example/cb'], allowedOrigins: ['https://b.example'], allowPlainPkce: false }],
        allowedOrigins: ['https://c.example'],
        tokenPath: '/t',
        jwksPath: false,
        accessTokenTtl: 60,
        idTokenTtl: 60,
        refreshTokenTtl: 60,
        refreshTokenMaxAge: 120,
        errorProfile: 'rfc6749',
        bodyLimit: 1024,
        now: () => 0,
      }),
    ).not.toThrow();
    expect(() =>
      createTokenRouter({
        ...base,
        revocationPath: '/revoke',
        discoveryPath: '/.well-known/oauth-authorization-server',
        discoveryMetadata: { authorization_endpoint: 'https://login.example.com/authorize' },
        jwksMaxAge: 0,
        accessTokenFormat: 'rfc9068',
        accessTokenAudience: 'https://api.example.com',
        idTokenAtHash: true,
        onEvent: () => {},
      }),
    ).not.toThrow();
  });

  it.each([
    ['a missing options object', undefined, 'ERR_OPTIONS_NOT_OBJECT', 'options'],
    ['createTokenRouter used as middleware', { method: 'GET', headers: {} }, 'ERR_OPTIONS_NOT_OBJECT', 'options'],
  ])('refuses %s', (_name, options, code, option) => {
    const error = thrown(options);
    expect(error.code).toBe(code);
    expect(error.option).toBe(option);
  });

  it('names an unknown option and suggests the one meant', () => {
    const error = thrown({ ...base, acessTokenTTL: 5 });
    expect(error.code).toBe('ERR_OPTION_UNKNOWN');
    expect(error.message).toMatch(/acessTokenTTL.*did you mean "accessTokenTtl"/);
  });

  it('suggests the memory store when a store is missing', () => {
    const { codeStore: _omitted, ...rest } = base;
    const error = thrown(rest);
    expect(error.code).toBe('ERR_OPTION_MISSING');
    expect(error.option).toBe('codeStore');
    expect(error.message).toContain('new MemoryCodeStore()');
    const noKeys = thrown({ ...base, keyStore: undefined });
    expect(noKeys.message).toContain('MemoryKeyStore.generate()');
  });

  it('refuses a store without its methods, naming what is missing', () => {
    const error = thrown({ ...base, codeStore: { save: async () => undefined } });
    expect(error.code).toBe('ERR_OPTION_INVALID');
    expect(error.message).toMatch(/codeStore.*missing redeem/);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['issuer missing', { issuer: undefined }, 'issuer'],
    ['issuer not a URL', { issuer: 'login.example.com' }, 'issuer'],
    ['issuer over plain http', { issuer: 'http://login.example.com' }, 'issuer'],
    ['issuer with a query', { issuer: 'https://login.example.com?a=1' }, 'issuer'],
    ['issuer with a fragment', { issuer: 'https://login.example.com#x' }, 'issuer'],
    ['accessTokenTtl zero', { accessTokenTtl: 0 }, 'accessTokenTtl'],
    ['idTokenTtl fractional', { idTokenTtl: 1.5 }, 'idTokenTtl'],
    ['refreshTokenTtl a string', { refreshTokenTtl: '60' }, 'refreshTokenTtl'],
    ['refreshTokenMaxAge below refreshTokenTtl', { refreshTokenTtl: 100, refreshTokenMaxAge: 50 }, 'refreshTokenMaxAge'],
    ['errorProfile unknown', { errorProfile: 'oauth21' }, 'errorProfile'],
    ['tokenPath without a slash', { tokenPath: 'token' }, 'tokenPath'],
    ['jwksPath equal to tokenPath', { jwksPath: '/oauth2/token' }, 'jwksPath'],
    ['bodyLimit negative', { bodyLimit: -1 }, 'bodyLimit'],
    ['revocationPath equal to tokenPath', { revocationPath: '/oauth2/token' }, 'revocationPath'],
    ['discoveryPath equal to jwksPath', { discoveryPath: '/oauth2/jwks' }, 'discoveryPath'],
    ['revocationPath true', { revocationPath: true }, 'revocationPath'],
    ['discoveryMetadata an array', { discoveryMetadata: [] }, 'discoveryMetadata'],
    ['discoveryMetadata with discoveryPath false', { discoveryPath: false, discoveryMetadata: {} }, 'discoveryMetadata'],
    ['discoveryMetadata not JSON-serialisable', { discoveryMetadata: { n: 10n } }, 'discoveryMetadata'],
    ['jwksMaxAge negative', { jwksMaxAge: -1 }, 'jwksMaxAge'],
    ['onEvent not a function', { onEvent: {} }, 'onEvent'],
    ['now not a function', { now: 5 }, 'now'],
    ['allowedOrigins with a path', { allowedOrigins: ['https://a.example/path'] }, 'allowedOrigins'],
    ['allowedOrigins null', { allowedOrigins: ['null'] }, 'allowedOrigins'],
    ['clients not an array or registry', { clients: 'web' }, 'clients'],
    ['a client without redirectUris', { clients: [{ clientId: 'a', redirectUris: [] }] }, 'clients[0].redirectUris'],
    ['a client with a relative redirect URI', { clients: [{ clientId: 'a', redirectUris: ['/cb'] }] }, 'clients[0].redirectUris'],
    ['a client with an empty clientId', { clients: [{ clientId: '', redirectUris: ['https://a.example/cb'] }] }, 'clients[0].clientId'],
    ['two clients with one clientId', { clients: [{ clientId: 'a', redirectUris: ['https://a.example/cb'] }, { clientId: 'a', redirectUris: ['https://a.example/cb'] }] }, 'clients[1].clientId'],
  ])('refuses %s, naming the option', (_name, change, option) => {
    const error = thrown({ ...base, ...change });
    expect(error.option).toBe(option);
    expect(['ERR_OPTION_INVALID', 'ERR_OPTION_MISSING']).toContain(error.code);
    expect(error.message).toContain(option.replace(/\[\d+\].*/, ''));
  });

  it('accepts an http issuer on localhost for development', () => {
    expect(() => createTokenRouter({ ...base, issuer: 'http://localhost:3000' })).not.toThrow();
    expect(() => createTokenRouter({ ...base, issuer: 'http://127.0.0.1:3000' })).not.toThrow();
  });
});
