import { ConfigurationError, createTokenRouter, MemoryCodeStore, type TokenRouterOptions } from '../../lib/index.js';
import { sharedKeyStore } from '../support/helpers.js';

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
        clients: [
          {
            clientId: 'a',
            redirectUris: ['https://a.example/cb'],
            allowedOrigins: ['https://b.example'],
            allowPlainPkce: false,
          },
        ],
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
    [
      'refreshTokenMaxAge below refreshTokenTtl',
      { refreshTokenTtl: 100, refreshTokenMaxAge: 50 },
      'refreshTokenMaxAge',
    ],
    ['errorProfile unknown', { errorProfile: 'oauth21' }, 'errorProfile'],
    ['tokenPath without a slash', { tokenPath: 'token' }, 'tokenPath'],
    ['jwksPath equal to tokenPath', { jwksPath: '/oauth2/token' }, 'jwksPath'],
    ['bodyLimit negative', { bodyLimit: -1 }, 'bodyLimit'],
    ['revocationPath equal to tokenPath', { revocationPath: '/oauth2/token' }, 'revocationPath'],
    ['discoveryPath equal to jwksPath', { discoveryPath: '/oauth2/jwks' }, 'discoveryPath'],
    ['revocationPath true', { revocationPath: true }, 'revocationPath'],
    ['discoveryMetadata an array', { discoveryMetadata: [] }, 'discoveryMetadata'],
    [
      'discoveryMetadata with discoveryPath false',
      { discoveryPath: false, discoveryMetadata: {} },
      'discoveryMetadata',
    ],
    ['discoveryMetadata not JSON-serialisable', { discoveryMetadata: { n: 10n } }, 'discoveryMetadata'],
    ['jwksMaxAge negative', { jwksMaxAge: -1 }, 'jwksMaxAge'],
    ['onEvent not a function', { onEvent: {} }, 'onEvent'],
    ['now not a function', { now: 5 }, 'now'],
    ['allowedOrigins with a path', { allowedOrigins: ['https://a.example/path'] }, 'allowedOrigins'],
    ['allowedOrigins null', { allowedOrigins: ['null'] }, 'allowedOrigins'],
    ['clients not an array or registry', { clients: 'web' }, 'clients'],
    ['a client without redirectUris', { clients: [{ clientId: 'a', redirectUris: [] }] }, 'clients[0].redirectUris'],
    [
      'a client with a relative redirect URI',
      { clients: [{ clientId: 'a', redirectUris: ['/cb'] }] },
      'clients[0].redirectUris',
    ],
    [
      'a client with an empty clientId',
      { clients: [{ clientId: '', redirectUris: ['https://a.example/cb'] }] },
      'clients[0].clientId',
    ],
    [
      'two clients with one clientId',
      {
        clients: [
          { clientId: 'a', redirectUris: ['https://a.example/cb'] },
          { clientId: 'a', redirectUris: ['https://a.example/cb'] },
        ],
      },
      'clients[1].clientId',
    ],
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

describe('dangerous configuration is refused at startup (issue 13 §4)', () => {
  let base: TokenRouterOptions;
  const codeStore = new MemoryCodeStore();
  beforeAll(async () => {
    base = { issuer: 'https://login.example.com', codeStore, keyStore: await sharedKeyStore() };
  });
  afterAll(() => codeStore.close());

  function refused(change: Record<string, unknown>): ConfigurationError {
    try {
      createTokenRouter({ ...base, ...change } as TokenRouterOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return error as ConfigurationError;
    }
    throw new Error('createTokenRouter accepted it');
  }
  const withRedirect = (uri: string, extra: Record<string, unknown> = {}) => ({
    clients: [{ clientId: 'a', redirectUris: [uri], ...extra }],
  });

  describe('a registered redirect URI', () => {
    it.each([
      ['with a fragment (RFC 6749 §3.1.2)', 'https://app.example.com/cb#done'],
      ['with an empty fragment', 'https://app.example.com/cb#'],
      ['with a wildcard in the host', 'https://*.example.com/cb'],
      ['with a wildcard in the path', 'https://app.example.com/*'],
      ['of the javascript: scheme', 'javascript:alert(1)'],
      ['of the JavaScript: scheme, in any case', 'JavaScript:alert(1)'],
      ['of the data: scheme', 'data:text/html,<script>alert(1)</script>'],
      ['of the vbscript: scheme', 'vbscript:msgbox(1)'],
      ['of the file: scheme', 'file:///etc/passwd'],
      ['over http to a non-loopback host', 'http://app.example.com/cb'],
      ['over http to a host that only starts like a loopback address', 'http://127.0.0.1.example.com/cb'],
      ['over http to a subdomain of localhost', 'http://app.localhost/cb'],
    ])('%s is refused, naming the client and the option', (_name, uri) => {
      const error = refused(withRedirect(uri));
      expect(error.code).toBe('ERR_OPTION_INVALID');
      expect(error.option).toBe('clients[0].redirectUris');
    });

    it.each([
      ['https', 'https://app.example.com/cb?tenant=a'],
      ['http to 127.0.0.1 (RFC 8252 §7.3)', 'http://127.0.0.1:49152/cb'],
      ['http to another 127.0.0.0/8 address', 'http://127.10.20.30/cb'],
      ['http to [::1]', 'http://[::1]:8080/cb'],
      ['http to localhost', 'http://localhost:3000/cb'],
      ['a custom scheme of a native app', 'com.example.app:/callback'],
    ])('%s is accepted', (_name, uri) => {
      expect(() => createTokenRouter({ ...base, ...withRedirect(uri) })).not.toThrow();
    });

    it('http to a non-loopback host is accepted for a client that opts in with allowInsecureRedirectUris: true', () => {
      expect(() =>
        createTokenRouter({
          ...base,
          ...withRedirect('http://dev-box.internal/cb', { allowInsecureRedirectUris: true }),
        }),
      ).not.toThrow();
    });

    it('the opt-in covers plain http only: a fragment, a wildcard or a javascript: URI is still refused', () => {
      for (const uri of ['http://dev-box.internal/cb#x', 'http://*.internal/cb', 'javascript:alert(1)']) {
        expect(refused(withRedirect(uri, { allowInsecureRedirectUris: true })).option).toBe('clients[0].redirectUris');
      }
    });

    it('the opt-in is read from the client itself, never from its prototype', () => {
      const inherited = Object.assign(Object.create({ allowInsecureRedirectUris: true }) as object, {
        clientId: 'a',
        redirectUris: ['http://dev-box.internal/cb'],
      });
      expect(refused({ clients: [inherited] }).option).toBe('clients[0].redirectUris');
    });

    it('allowInsecureRedirectUris must be a boolean', () => {
      expect(refused(withRedirect('https://app.example.com/cb', { allowInsecureRedirectUris: 'yes' })).option).toBe(
        'clients[0].allowInsecureRedirectUris',
      );
    });
  });

  describe('the issuer must be exactly its own parsed form (RFC 8414 §2, OIDC Discovery §4.3)', () => {
    it.each([
      ['a leading space', ' https://login.example.com'],
      ['a trailing space', 'https://login.example.com '],
      ['a newline', 'https://login.example.com\n'],
      ['a tab inside', 'https://login.exa\tmple.com'],
      ['userinfo', 'https://admin@login.example.com'],
      ['an uppercase host', 'https://Login.Example.com'],
      ['an uppercase scheme', 'HTTPS://login.example.com'],
      ['no slashes ("https:host")', 'https:login.example.com'],
      ['the default port written out', 'https://login.example.com:443'],
      ['dot segments', 'https://login.example.com/a/../tenant'],
      ['a space in the path', 'https://login.example.com/my tenant'],
      ['a query', 'https://login.example.com?tenant=a'],
      ['an empty query', 'https://login.example.com/?'],
      ['a fragment', 'https://login.example.com#x'],
      ['http to a non-loopback host', 'http://login.example.com'],
      ['http to a host that only starts like a loopback address', 'http://127.0.0.1.example.com'],
    ])('refuses an issuer with %s', (_name, issuer) => {
      const error = refused({ issuer });
      expect(error.code).toBe('ERR_OPTION_INVALID');
      expect(error.option).toBe('issuer');
    });

    it('never quotes the userinfo of a refused issuer (it may hold a password)', () => {
      expect(refused({ issuer: 'https://admin:hunter2@login.example.com' }).message).not.toContain('hunter2');
    });

    it('says how the issuer is written when only its form is wrong', () => {
      expect(refused({ issuer: 'https://Login.Example.com' }).message).toContain('"https://login.example.com"');
    });

    it.each([
      'https://login.example.com',
      'https://login.example.com/',
      'https://login.example.com/tenant-a',
      'https://login.example.com:8443/tenant-a/',
      'http://localhost:3000',
      'http://127.0.0.1:8080',
      'http://127.0.0.2',
      'http://[::1]:3000',
    ])('accepts %s', (issuer) => {
      expect(() => createTokenRouter({ ...base, issuer })).not.toThrow();
    });
  });

  describe('token lifetimes are bounded and exact', () => {
    it.each([
      ['accessTokenTtl', 86_400],
      ['idTokenTtl', 86_400],
      ['refreshTokenTtl', 365 * 86_400],
    ])('%s up to its bound (%i s) is accepted', (option, max) => {
      expect(() => createTokenRouter({ ...base, [option]: max, refreshTokenMaxAge: 365 * 86_400 })).not.toThrow();
    });

    it.each([
      ['accessTokenTtl past 1 day', { accessTokenTtl: 86_401 }, 'accessTokenTtl'],
      ['idTokenTtl past 1 day', { idTokenTtl: 86_401 }, 'idTokenTtl'],
      [
        'refreshTokenTtl past 1 year',
        { refreshTokenTtl: 365 * 86_400 + 1, refreshTokenMaxAge: 365 * 86_400 + 1 },
        'refreshTokenTtl',
      ],
      ['refreshTokenMaxAge past 1 year', { refreshTokenMaxAge: 365 * 86_400 + 1 }, 'refreshTokenMaxAge'],
      ['accessTokenTtl in milliseconds (300000)', { accessTokenTtl: 300_000 }, 'accessTokenTtl'],
    ])('refuses %s', (_name, change, option) => {
      const error = refused(change);
      expect(error.code).toBe('ERR_OPTION_INVALID');
      expect(error.option).toBe(option);
      expect(error.message).toMatch(/at most \d+ \(1 (day|year)\)/);
    });

    it.each([
      ['a fraction', 60.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['a number past Number.MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER + 2],
    ])('refuses a lifetime that is not exactly representable: %s', (_name, value) => {
      for (const option of ['accessTokenTtl', 'idTokenTtl', 'refreshTokenTtl', 'refreshTokenMaxAge']) {
        expect(refused({ [option]: value }).option).toBe(option);
      }
    });
  });
});

describe('refreshTokenReuseInterval, the rotation grace window (docs/refresh.md "The grace window")', () => {
  let base: TokenRouterOptions;
  const codeStore = new MemoryCodeStore();
  beforeAll(async () => {
    base = { issuer: 'https://login.example.com', codeStore, keyStore: await sharedKeyStore() };
  });
  afterAll(() => codeStore.close());

  function refused(change: Record<string, unknown>): ConfigurationError {
    try {
      createTokenRouter({ ...base, ...change } as TokenRouterOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return error as ConfigurationError;
    }
    throw new Error('createTokenRouter accepted it');
  }

  it.each([0, 1, 10, 60])('takes %s seconds', (interval) => {
    expect(() => createTokenRouter({ ...base, refreshTokenReuseInterval: interval })).not.toThrow();
  });

  it.each([
    ['above a minute', 61],
    ['negative', -1],
    ['a fraction', 2.5],
    ['NaN', Number.NaN],
    ['in milliseconds', 10_000],
    ['a string', '10'],
  ])('refuses one %s with ERR_OPTION_INVALID', (_name, interval) => {
    const error = refused({ refreshTokenReuseInterval: interval });
    expect([error.code, error.option]).toEqual(['ERR_OPTION_INVALID', 'refreshTokenReuseInterval']);
    expect(error.message).toContain('from 0 to 60');
  });

  it('above 0, refuses a refresh-token store without rotateWithinGrace(), naming it', () => {
    class StrictOnlyStore {
      save = () => Promise.resolve();
      rotate = () => Promise.resolve({ outcome: 'unknown' as const });
      revokeFamily = () => Promise.resolve();
    }
    const error = refused({ refreshTokenStore: new StrictOnlyStore(), refreshTokenReuseInterval: 10 });
    expect([error.code, error.option]).toEqual(['ERR_OPTION_INVALID', 'refreshTokenReuseInterval']);
    expect(error.message).toContain('StrictOnlyStore has none');
    // At 0 the store is enough: strict rotation needs no window.
    expect(() =>
      createTokenRouter({ ...base, refreshTokenStore: new StrictOnlyStore(), refreshTokenReuseInterval: 0 }),
    ).not.toThrow();
  });
});
