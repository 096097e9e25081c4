import { jest } from '@jest/globals';
import request from 'supertest';
import { hashSecret } from '../../lib/crypto/secrets.js';
import {
  type Client,
  type ClientRegistry,
  ConfigurationError,
  createTokenRouter,
  type TokenRouterEvent,
} from '../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  harness,
  ISSUER,
  postToken,
  REDIRECT_URI,
  refreshForm,
  SPA_ORIGIN,
  sharedKeyStore,
  signIn,
} from '../support/helpers.js';

/*
 * Issue 13 §4: what a ClientRegistry returns is validated at step 5 (docs/contract.md "Order of checks"),
 * before anything is spent; and the CORS step after the exchange never throws, so tokens are
 * either delivered or not issued.
 */

const GOOD: Client = { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] };

/** A registry answering `web` with whatever the test sets, and nothing for other ids. */
function switchableRegistry(extra: Partial<ClientRegistry> = {}): {
  registry: ClientRegistry;
  answer(record: unknown): void;
} {
  let current: unknown = GOOD;
  return {
    registry: {
      findClient: (clientId) => Promise.resolve((clientId === CLIENT_ID ? current : undefined) as Client | undefined),
      ...extra,
    },
    answer(record) {
      current = record;
    },
  };
}

const withInheritedRedirectUris = (): unknown =>
  Object.assign(Object.create({ redirectUris: [REDIRECT_URI] }) as object, { clientId: CLIENT_ID });
const throwingGetter = (): unknown =>
  Object.defineProperty({ clientId: CLIENT_ID }, 'redirectUris', {
    enumerable: true,
    get() {
      throw new Error('column missing');
    },
  });

/** Records a registry might return for `web` that the router cannot use. */
const MALFORMED: Array<[string, () => unknown]> = [
  ['a record without redirectUris', () => ({ clientId: CLIENT_ID })],
  ['a record whose redirectUris is inherited, not its own', withInheritedRedirectUris],
  [
    'a record whose redirectUris is a string, not an array',
    () => ({ clientId: CLIENT_ID, redirectUris: REDIRECT_URI }),
  ],
  ['a record whose redirectUris holds a non-string', () => ({ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI, 42] })],
  [
    'a record whose redirectUris has a hole',
    // biome-ignore lint/suspicious/noSparseArray: the hole is what this case is about
    () => ({ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI, , REDIRECT_URI] }),
  ],
  ['a record without clientId', () => ({ redirectUris: [REDIRECT_URI] })],
  ['a record whose allowedOrigins is a string', () => ({ ...GOOD, allowedOrigins: SPA_ORIGIN })],
  ['a record whose allowPlainPkce is not a boolean', () => ({ ...GOOD, allowPlainPkce: 'yes' })],
  ['a function (what a plain-object lookup gives for "constructor")', () => Object],
  ['a string', () => 'web'],
  ['an array', () => [GOOD]],
  ['a record whose redirectUris getter throws', throwingGetter],
];

describe('a ClientRegistry record is validated before anything is spent (docs/contract.md "Order of checks", step 5)', () => {
  let warning: jest.SpiedFunction<typeof process.emitWarning>;
  beforeEach(() => {
    warning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });
  afterEach(() => warning.mockRestore());

  it('a findClient that resolves null is an unknown client: refused as client_unknown, the code not spent', async () => {
    const { registry, answer } = switchableRegistry();
    const events: TokenRouterEvent[] = [];
    const h = await harness({ clients: registry, onEvent: (event) => void events.push(event) });
    const redeem = jest.spyOn(h.codeStore, 'redeem');
    const valid = await h.issue();
    answer(null);
    expectError(await postToken(h.app, valid), 400, 'invalid_request');
    expect(events).toContainEqual(expect.objectContaining({ type: 'request_rejected', reason: 'client_unknown' }));
    expect(redeem).not.toHaveBeenCalled();
    h.close();
  });

  it('a findClient that resolves null is client_unknown in the rfc6749 profile too: 401 invalid_client', async () => {
    const h = await harness({
      clients: { findClient: () => Promise.resolve(null as unknown as undefined) },
      errorProfile: 'rfc6749',
    });
    expectError(await postToken(h.app, await h.issue()), 401, 'invalid_client');
    h.close();
  });

  it('a record under another client_id (a case-insensitive lookup) is not this client: client_unknown', async () => {
    const h = await harness({
      clients: { findClient: () => Promise.resolve({ clientId: 'WEB', redirectUris: [REDIRECT_URI] }) },
    });
    const redeem = jest.spyOn(h.codeStore, 'redeem');
    expectError(await postToken(h.app, await h.issue()), 400, 'invalid_request');
    expect(redeem).not.toHaveBeenCalled();
    h.close();
  });

  it('a findClient that throws synchronously is an unreachable registry: 503, the code not spent', async () => {
    const h = await harness({
      clients: {
        findClient: () => {
          throw new Error('pool exhausted');
        },
      },
    });
    const redeem = jest.spyOn(h.codeStore, 'redeem');
    expectError(await postToken(h.app, await h.issue()), 503, 'temporarily_unavailable');
    expect(redeem).not.toHaveBeenCalled();
    h.close();
  });

  it.each(MALFORMED)(
    '%s: 503 temporarily_unavailable (client_record_invalid), the code not spent; the same code works once the record is fixed',
    async (_name, record) => {
      const { registry, answer } = switchableRegistry();
      const events: TokenRouterEvent[] = [];
      const h = await harness({ clients: registry, onEvent: (event) => void events.push(event) });
      const redeem = jest.spyOn(h.codeStore, 'redeem');
      const valid = await h.issue();
      answer(record());
      expectError(await postToken(h.app, valid).set('Origin', SPA_ORIGIN), 503, 'temporarily_unavailable');
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'request_rejected', reason: 'client_record_invalid', clientId: CLIENT_ID }),
      );
      expect(redeem).not.toHaveBeenCalled();
      answer(GOOD);
      expect((await postToken(h.app, valid).set('Origin', SPA_ORIGIN)).status).toBe(200);
      h.close();
    },
  );

  it.each(MALFORMED)('%s: 503 before the refresh token is spent, no family revoked', async (_name, record) => {
    const { registry, answer } = switchableRegistry();
    const h = await harness({ clients: registry });
    const { refresh_token: refreshToken } = await signIn(h);
    const rotate = jest.spyOn(h.refreshTokenStore, 'rotate');
    const revokeFamily = jest.spyOn(h.refreshTokenStore, 'revokeFamily');
    answer(record());
    expectError(await postToken(h.app, refreshForm(refreshToken!)), 503, 'temporarily_unavailable');
    expect(rotate).not.toHaveBeenCalled();
    expect(revokeFamily).not.toHaveBeenCalled();
    answer(GOOD);
    expect((await postToken(h.app, refreshForm(refreshToken!))).status).toBe(200);
    h.close();
  });

  it('a malformed record makes a revocation request 503 too, before the family is revoked', async () => {
    const { registry, answer } = switchableRegistry();
    const h = await harness({ clients: registry });
    const { refresh_token: refreshToken } = await signIn(h);
    const revokeFamily = jest.spyOn(h.refreshTokenStore, 'revokeFamily');
    answer({ clientId: CLIENT_ID });
    const res = await request(h.app)
      .post('/oauth2/revoke')
      .type('form')
      .send({ client_id: CLIENT_ID, token: refreshToken! });
    expectError(res, 503, 'temporarily_unavailable');
    expect(revokeFamily).not.toHaveBeenCalled();
    expect(await h.refreshTokenStore.find(hashSecret(refreshToken!))).toBeDefined();
    h.close();
  });

  it('warns once per malformed record, naming the client_id and never the code, verifier or record values', async () => {
    const clientId = 'warned-client';
    const secretUri = 'https://app.example.com/callback?tenant=s3cr3t';
    const h = await harness({
      clients: { findClient: () => Promise.resolve({ clientId, redirectUris: [secretUri, 7] } as unknown as Client) },
    });
    const first = await h.issue({ clientId });
    await postToken(h.app, first);
    await postToken(h.app, await h.issue({ clientId }));
    const messages = warning.mock.calls
      .map(([message]) => String(message))
      .filter((message: string) => message.includes('client registry'));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`"${clientId}"`);
    expect(messages[0]).toContain('redirectUris');
    for (const secret of [first.code!, first.code_verifier!, 's3cr3t']) expect(messages[0]).not.toContain(secret);
    h.close();
  });

  it('the record the router uses is a copy: a registry editing its record during the exchange changes nothing', async () => {
    const record = { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] };
    const h = await harness({
      clients: { findClient: () => Promise.resolve(record) },
      // Step 8, after step 5 read the record and before CORS reads the client's origins.
      onEvent: (event) => {
        if (event.type === 'code_redeemed') record.redirectUris.splice(0);
      },
    });
    const res = await postToken(h.app, await h.issue()).set('Origin', SPA_ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
    h.close();
  });
});

describe('CORS is decided without throwing: tokens are delivered or not issued', () => {
  it.each<[string, NonNullable<ClientRegistry['isAllowedOrigin']>]>([
    [
      'throws synchronously',
      () => {
        throw new Error('registry down');
      },
    ],
    ['rejects', () => Promise.reject(new Error('registry down'))],
    ['resolves something other than true', () => Promise.resolve('yes' as unknown as boolean)],
  ])(
    'an isAllowedOrigin that %s: the POST still gets its tokens (200), with no Access-Control-Allow-Origin',
    async (_name, isAllowedOrigin) => {
      const h = await harness({ clients: { findClient: () => Promise.resolve(GOOD), isAllowedOrigin } });
      const valid = await h.issue();
      const res = await postToken(h.app, valid).set('Origin', 'https://other.example');
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
      expect(res.headers).not.toHaveProperty('access-control-allow-origin');
      // The code was spent once, by this request, and the tokens reached the client.
      expect((await postToken(h.app, valid)).status).toBe(401);
      h.close();
    },
  );

  it('an isAllowedOrigin that throws: a preflight is answered 204 with no CORS headers', async () => {
    const h = await harness({
      clients: {
        findClient: () => Promise.resolve(GOOD),
        isAllowedOrigin: () => {
          throw new Error('registry down');
        },
      },
    });
    const res = await request(h.app).options('/oauth2/token').set('Origin', 'https://other.example');
    expect(res.status).toBe(204);
    expect(res.headers).not.toHaveProperty('access-control-allow-origin');
    h.close();
  });

  it('refuses at startup a registry whose isAllowedOrigin is not a function', async () => {
    const create = async () =>
      createTokenRouter({
        issuer: ISSUER,
        codeStore: (await harness()).codeStore,
        keyStore: await sharedKeyStore(),
        clients: { findClient: () => Promise.resolve(GOOD), isAllowedOrigin: true as never },
      });
    const error = await create().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe('clients.isAllowedOrigin');
  });
});
