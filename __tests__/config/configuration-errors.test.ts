import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { describeValue, ERRORS_DOCUMENT_URL } from '../../lib/config/configuration-error.js';
import {
  type AuthorizationCodeRequest,
  ConfigurationError,
  type ConfigurationErrorCode,
  createTokenRouter,
  issueAuthorizationCode,
  MemoryCodeStore,
  MemoryKeyStore,
  PostgresKeyStore,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  type TokenRouterOptions,
} from '../../lib/index.js';
import { pkcePair, sharedKeyStore } from '../support/helpers.js';

/*
 * Issue 14 §6: every ConfigurationError ends with the link to its section of docs/errors.md, a
 * client's fields get the same "did you mean" as the options, and no message reads "undefined
 * undefined".
 */

const ERRORS_DOC = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** The anchors GitHub gives docs/errors.md's `##` headings: lower case, spaces as "-", other punctuation but "_" dropped. */
const ANCHORS = new Set(
  [...ERRORS_DOC.matchAll(/^## (.+)$/gm)].map(([, heading]) =>
    heading!
      .trim()
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-'),
  ),
);

/** Every code (the Record makes the compiler ask for a new one here), with a call that throws it. */
const ONE_OF_EACH: Record<ConfigurationErrorCode, (options: TokenRouterOptions) => unknown> = {
  ERR_OPTIONS_NOT_OBJECT: () => new RedisCodeStore('redis://127.0.0.1' as never),
  ERR_OPTION_UNKNOWN: (base) => createTokenRouter({ ...base, acessTokenTtl: 5 } as TokenRouterOptions),
  ERR_OPTION_MISSING: (base) => createTokenRouter({ ...base, issuer: undefined } as unknown as TokenRouterOptions),
  ERR_OPTION_INVALID: (base) => createTokenRouter({ ...base, tokenPath: 'oauth2/token' }),
  ERR_GRANT_INVALID: () => issueAuthorizationCode(codeStore, { clientId: 'a' } as AuthorizationCodeRequest),
  ERR_KEY_INVALID: () => MemoryKeyStore.fromJwks({ keys: [] }),
  // Checked before the pool is used: nothing listens on port 1.
  ERR_KEY_ENCRYPTION_KEY: () => PostgresKeyStore.open({ pool: unreachablePool(), keyEncryptionKey: 'c2hvcnQ=' }),
  ERR_KEY_STORE_UNAVAILABLE: () =>
    PostgresKeyStore.open({ pool: unreachablePool(), keyEncryptionKey: randomBytes(32).toString('base64') }),
};

const pools: pg.Pool[] = [];
/** A real pool on a port where nothing listens: a database that is down. */
function unreachablePool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
  pools.push(pool);
  return pool;
}
afterAll(() => Promise.all(pools.map((pool) => pool.end())));

async function caught(call: () => unknown): Promise<ConfigurationError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('did not throw');
}

let base: TokenRouterOptions;
const codeStore = new MemoryCodeStore();
beforeAll(async () => {
  base = { issuer: 'https://login.example.com', codeStore, keyStore: await sharedKeyStore() };
});
afterAll(() => codeStore.close());

describe('ConfigurationError messages link to docs/errors.md', () => {
  it('the link base is the repository named in the package metadata, in one constant', () => {
    expect(ERRORS_DOCUMENT_URL).toBe('https://github.com/pkce-token-router/pkce-token-router/blob/main/docs/errors.md');
  });

  it.each(Object.entries(ONE_OF_EACH))('%s ends with the link to its own section, which exists', async (code, call) => {
    const error = await caught(() => call(base));
    expect(error.code).toBe(code);
    const anchor = code.toLowerCase();
    expect(error.message.endsWith(` See ${ERRORS_DOCUMENT_URL}#${anchor}`)).toBe(true);
    // The sentence before the link is closed: "…; received "oauth2/token". See https://…".
    expect(error.message).toMatch(/[.?!] See https:\/\//);
    expect(ANCHORS).toContain(anchor);
  });

  it('docs/errors.md has one section for each code, and none for a code that does not exist', () => {
    const sections = [...ANCHORS].filter((anchor) => anchor.startsWith('err_'));
    expect(sections.sort()).toEqual(
      Object.keys(ONE_OF_EACH)
        .map((code) => code.toLowerCase())
        .sort(),
    );
  });

  it("docs/errors.md's sample message is the one the router throws", async () => {
    const error = await caught(() => ONE_OF_EACH.ERR_OPTION_INVALID(base));
    expect(ERRORS_DOC).toContain(`\n${error.message}\n`);
  });

  it.each<[string, Record<string, unknown>]>([
    ['issuer missing', { issuer: undefined }],
    ['issuer not a URL', { issuer: 'login.example.com' }],
    ['codeStore missing', { codeStore: undefined }],
    ['keyStore without methods', { keyStore: {} }],
    ['accessTokenTtl too long', { accessTokenTtl: 86_401 }],
    ['bodyLimit a string', { bodyLimit: '16k' }],
    ['now a number', { now: 5 }],
    ['idTokenAtHash a string', { idTokenAtHash: 'yes' }],
    ['accessTokenAudience without rfc9068', { accessTokenAudience: 'https://api.example.com' }],
    ['accessTokenAudience missing with rfc9068', { accessTokenFormat: 'rfc9068' }],
    ['discoveryMetadata owned name', { discoveryMetadata: { issuer: 'https://x.example' } }],
    ['clients a string', { clients: 'web' }],
    ['a client that is not an object', { clients: [5] }],
    ['a client without clientId', { clients: [{ redirectUris: ['https://a.example/cb'] }] }],
    ['a client without redirectUris', { clients: [{ clientId: 'a' }] }],
    ['a client with an undefined redirect URI', { clients: [{ clientId: 'a', redirectUris: [undefined] }] }],
    [
      'a client with allowPlainPkce a number',
      { clients: [{ clientId: 'a', redirectUris: ['https://a.example/cb'], allowPlainPkce: 1 }] },
    ],
    ['a client with a misspelt field', { clients: [{ clientId: 'a', redirectUri: 'https://a.example/cb' }] }],
  ])('%s: the message reads as a sentence and links its section', async (_name, change) => {
    const error = await caught(() => createTokenRouter({ ...base, ...change } as TokenRouterOptions));
    expect(error.message).not.toMatch(/undefined undefined|received (undefined|number|boolean|bigint|symbol) /);
    expect(error.message.endsWith(` See ${ERRORS_DOCUMENT_URL}#${error.code.toLowerCase()}`)).toBe(true);
  });
});

describe("a client's fields get the same checks as the options", () => {
  it('a misspelt field is refused with the field meant', async () => {
    const error = await caught(() =>
      createTokenRouter({
        ...base,
        clients: [{ clientId: 'a', redirectUri: ['https://a.example/cb'] }],
      } as unknown as TokenRouterOptions),
    );
    expect(error.code).toBe('ERR_OPTION_UNKNOWN');
    expect(error.option).toBe('clients[0].redirectUri');
    expect(error.message).toContain('clients[0]: unknown field "redirectUri"; did you mean "redirectUris"?');
  });

  it('a misspelling in another case, in a later client, names that client', async () => {
    const clients = [
      { clientId: 'a', redirectUris: ['https://a.example/cb'] },
      { clientId: 'b', redirectUris: ['https://b.example/cb'], allowplainpkce: true },
    ];
    const error = await caught(() => createTokenRouter({ ...base, clients } as unknown as TokenRouterOptions));
    expect(error.option).toBe('clients[1].allowplainpkce');
    expect(error.message).toContain('did you mean "allowPlainPkce"?');
  });

  it('a field near no known one is refused with the list of the fields a client takes', async () => {
    const clients = [{ clientId: 'a', redirectUris: ['https://a.example/cb'], displayName: 'App A' }];
    const error = await caught(() => createTokenRouter({ ...base, clients } as unknown as TokenRouterOptions));
    expect(error.code).toBe('ERR_OPTION_UNKNOWN');
    expect(error.message).toContain(
      'clients[0]: unknown field "displayName"; a clients entry takes clientId, redirectUris, allowedOrigins, allowPlainPkce, allowInsecureRedirectUris',
    );
  });

  it('a missing field says it received nothing, never "undefined undefined"', async () => {
    const error = await caught(() =>
      createTokenRouter({ ...base, clients: [{ clientId: 'a' }] } as unknown as TokenRouterOptions),
    );
    expect(error.option).toBe('clients[0].redirectUris');
    expect(error.message).toContain(
      'clients[0].redirectUris must be a non-empty array of absolute URIs; received nothing (undefined).',
    );
  });

  it('an entry that is not an object is named as the entry', async () => {
    const error = await caught(() => createTokenRouter({ ...base, clients: [['a']] } as unknown as TokenRouterOptions));
    expect(error.option).toBe('clients[0]');
    expect(error.message).toContain(
      'pkce-token-router: clients[0] must be an object such as { clientId, redirectUris }; received an array of 1.',
    );
  });
});

describe('a store given its client where its options go', () => {
  it('a Redis client is refused with the options object it belongs in', async () => {
    const redis = { eval: async () => null, evalsha: async () => null, options: {} };
    const error = await caught(() => new RedisCodeStore(redis as never));
    expect(error.code).toBe('ERR_OPTIONS_NOT_OBJECT');
    expect(error.message).toContain(
      'RedisCodeStore takes an options object holding the client: new RedisCodeStore({ client: redis }), not new RedisCodeStore(redis).',
    );
  });

  it('a pg Pool is refused with the options object it belongs in', async () => {
    const pool = { query: async () => ({ rows: [] }), _events: {} };
    const error = await caught(() => new PostgresRefreshTokenStore(pool as never));
    expect(error.code).toBe('ERR_OPTIONS_NOT_OBJECT');
    expect(error.message).toContain(
      'new PostgresRefreshTokenStore({ pool }), not new PostgresRefreshTokenStore(pool).',
    );
  });
});

describe('issueAuthorizationCode: a misspelt grant field', () => {
  it('is pointed out when the field it stands for is missing', async () => {
    const { challenge } = pkcePair();
    const grant = {
      clientId: 'a',
      redirectUri: 'https://a.example/cb',
      codeChalenge: challenge,
      codeChallengeMethod: 'S256',
      subject: 'u',
      scope: [],
    };
    const error = await caught(() => issueAuthorizationCode(codeStore, grant as unknown as AuthorizationCodeRequest));
    expect(error.code).toBe('ERR_GRANT_INVALID');
    expect(error.option).toBe('codeChallenge');
    expect(error.message).toContain(
      'grant.codeChallenge must be a well-formed PKCE challenge (RFC 7636 §4.2); received nothing (undefined); the grant has "codeChalenge": did you mean "codeChallenge"?',
    );
  });

  it('a grant that is not an object is named as the grant', async () => {
    const error = await caught(() => issueAuthorizationCode(codeStore, 'code' as unknown as AuthorizationCodeRequest));
    expect(error.message).toContain('pkce-token-router: grant must be an object; received "code".');
  });
});

describe('describeValue: how a received value reads', () => {
  it.each<[unknown, string]>([
    [undefined, 'nothing (undefined)'],
    [null, 'null'],
    [0, 'the number 0'],
    [Number.NaN, 'the number NaN'],
    [10n, 'the bigint 10n'],
    [true, 'true'],
    [Symbol('s'), 'a symbol'],
    ['web', '"web"'],
    ['x'.repeat(61), 'a string of 61 characters'],
    [[1, 2], 'an array of 2'],
    [() => 1, 'a function'],
    [{}, 'an object (Object)'],
    [Object.create(null), 'an object (no prototype)'],
  ])('%p reads as %s', (value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });
});
