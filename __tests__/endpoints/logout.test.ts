import { jest } from '@jest/globals';
import express from 'express';
import { generateKeyPair, SignJWT } from 'jose';
import request from 'supertest';
import {
  ConfigurationError,
  createTokenRouter,
  type EndSessionContext,
  MemoryCodeStore,
  MemoryKeyStore,
  type TokenRouterEvent,
  type TokenRouterOptions,
} from '../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  form,
  type Harness,
  harness,
  ISSUER,
  REDIRECT_URI,
  sharedKeyStore,
  signIn,
} from '../support/helpers.js';

const SIGNED_OUT = 'https://app.example.com/signed-out';

interface LogoutHarness extends Harness {
  /** Every context endSession was called with. */
  calls: EndSessionContext[];
}

/** The router with logout mounted; the default client registers SIGNED_OUT. */
async function logoutHarness(options: Partial<TokenRouterOptions> = {}): Promise<LogoutHarness> {
  const calls: EndSessionContext[] = [];
  const h = await harness({
    clients: [
      { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [SIGNED_OUT, `${SIGNED_OUT}?a=1`] },
      { clientId: 'other', redirectUris: [REDIRECT_URI] },
    ],
    endSession: (_req, _res, context) => {
      calls.push(context);
    },
    ...options,
  });
  return Object.assign(h, { calls });
}

/** An ID token signed with the router's own key, with the claims given (iss and aud by default). */
async function ownIdToken(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const { kid, alg, key } = await (await sharedKeyStore()).signingKey();
  return new SignJWT({ iss: ISSUER, aud: CLIENT_ID, sub: 'user-123', ...claims })
    .setProtectedHeader({ alg, kid, typ: 'JWT', ...header })
    .sign(key);
}

function logout(h: Harness, params: Record<string, string>) {
  return request(h.app).get(`/logout?${form(params)}`);
}

describe('logout (OpenID Connect RP-Initiated Logout 1.0)', () => {
  it('§2: a logout request naming its client_id calls endSession, and with no post_logout_redirect_uri answers 204', async () => {
    const h = await logoutHarness();
    const res = await logout(h, { client_id: CLIENT_ID });
    expect(res.status).toBe(204);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(h.calls).toEqual([{ clientId: CLIENT_ID }]);
    h.close();
  });

  it('§3: redirects to a registered post_logout_redirect_uri, with state as a query parameter', async () => {
    const h = await logoutHarness();
    const res = await logout(h, { client_id: CLIENT_ID, post_logout_redirect_uri: SIGNED_OUT, state: 'af0 ifjsldkj' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${SIGNED_OUT}?state=af0+ifjsldkj`);
    expect(h.calls).toEqual([{ clientId: CLIENT_ID, redirectTo: `${SIGNED_OUT}?state=af0+ifjsldkj` }]);
    h.close();
  });

  it('§3: state is added after the query a registered URI already has', async () => {
    const h = await logoutHarness();
    const res = await logout(h, { client_id: CLIENT_ID, post_logout_redirect_uri: `${SIGNED_OUT}?a=1`, state: 's' });
    expect(res.headers.location).toBe(`${SIGNED_OUT}?a=1&state=s`);
    h.close();
  });

  it("the Tencent Cloud CIAM logout API's logout_redirect_uri is taken as post_logout_redirect_uri", async () => {
    const h = await logoutHarness();
    const res = await logout(h, { client_id: CLIENT_ID, logout_redirect_uri: SIGNED_OUT });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(SIGNED_OUT);
    h.close();
  });

  it('post_logout_redirect_uri and logout_redirect_uri that differ: 400 invalid_request, nothing ended', async () => {
    const h = await logoutHarness();
    const res = await logout(h, {
      client_id: CLIENT_ID,
      post_logout_redirect_uri: SIGNED_OUT,
      logout_redirect_uri: `${SIGNED_OUT}?a=1`,
    });
    expectError(res, 400, 'invalid_request');
    expect(h.calls).toEqual([]);
    h.close();
  });

  it.each([
    ['a URI not registered', 'https://attacker.example/'],
    ['a registered URI with something appended', `${SIGNED_OUT}/x`],
    ["the client's redirect URI (not a post-logout one)", REDIRECT_URI],
  ])(
    '§3 "MUST NOT perform post-logout redirection" to %s: JSON 400 invalid_request, no Location, nothing ended',
    async (_name, uri) => {
      const h = await logoutHarness();
      const res = await logout(h, { client_id: CLIENT_ID, post_logout_redirect_uri: uri, state: 's' });
      expectError(res, 400, 'invalid_request');
      expect(res.headers.location).toBeUndefined();
      expect(h.calls).toEqual([]);
      h.close();
    },
  );

  it("§3: another client's registered URI is not this client's", async () => {
    const h = await logoutHarness();
    const res = await logout(h, { client_id: 'other', post_logout_redirect_uri: SIGNED_OUT });
    expectError(res, 400, 'invalid_request');
    h.close();
  });

  it('without a client list nothing is registered: every post_logout_redirect_uri is refused', async () => {
    const calls: EndSessionContext[] = [];
    const codeStore = new MemoryCodeStore();
    const app = express().use(
      createTokenRouter({
        issuer: ISSUER,
        codeStore,
        keyStore: await sharedKeyStore(),
        endSession: (_req, _res, context) => {
          calls.push(context);
        },
      }),
    );
    const res = await request(app).get(
      `/logout?${form({ client_id: CLIENT_ID, post_logout_redirect_uri: SIGNED_OUT })}`,
    );
    expectError(res, 400, 'invalid_request');
    expect((await request(app).get(`/logout?client_id=${CLIENT_ID}`)).status).toBe(204);
    expect(calls).toEqual([{ clientId: CLIENT_ID }]);
    codeStore.close();
  });

  it("a ClientRegistry's record: its postLogoutRedirectUris are read, and a malformed list is 503 (the registry's fault)", async () => {
    const records: Record<string, unknown> = {
      web: { clientId: 'web', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [SIGNED_OUT] },
      broken: { clientId: 'broken', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: SIGNED_OUT },
    };
    const h = await logoutHarness({
      clients: { findClient: (id: string) => Promise.resolve(records[id] as never) },
    });
    const res = await logout(h, { client_id: 'web', post_logout_redirect_uri: SIGNED_OUT });
    expect(res.headers.location).toBe(SIGNED_OUT);
    const warned = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expectError(
      await logout(h, { client_id: 'broken', post_logout_redirect_uri: SIGNED_OUT }),
      503,
      'temporarily_unavailable',
    );
    warned.mockRestore();
    h.close();
  });

  it.each([
    ['javascript:alert(1)', 'a script URI'],
    ['data:text/html,<script>alert(1)</script>', 'a data URI'],
    ['https://rp.example.com/bye#frag', 'a URI with a fragment'],
    ['not a uri', 'no URI at all'],
  ])(
    "§3: a ClientRegistry record's post-logout URI that is %s (%s) is never redirected to: 400, endSession not called",
    async (uri) => {
      const h = await logoutHarness({
        clients: {
          findClient: (id: string) =>
            Promise.resolve(
              id === 'web'
                ? { clientId: 'web', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [uri] }
                : undefined,
            ),
        },
      });
      const res = await logout(h, { client_id: 'web', post_logout_redirect_uri: uri });
      expectError(res, 400, 'invalid_request');
      expect(res.headers.location).toBeUndefined();
      expect(h.calls).toEqual([]);
      h.close();
    },
  );

  it('RFC 9110 §10.2.2: a registered URI with non-ASCII characters is sent percent-encoded, a valid Location', async () => {
    const uri = 'https://例え.jp/über?x=ü';
    const h = await logoutHarness({
      clients: {
        findClient: (id: string) =>
          Promise.resolve(
            id === 'web' ? { clientId: 'web', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [uri] } : undefined,
          ),
      },
    });
    const res = await logout(h, { client_id: 'web', post_logout_redirect_uri: uri, state: 'st' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${new URL(uri).href}&state=st`);
    expect(res.headers.location).toMatch(/^[\x21-\x7e]+$/);
    h.close();
  });

  it('a client_id unknown to the client list: 400 invalid_request', async () => {
    const h = await logoutHarness();
    expectError(await logout(h, { client_id: 'nobody' }), 400, 'invalid_request');
    h.close();
  });

  it('neither client_id nor id_token_hint: 400 invalid_request (nothing to bind the logout to)', async () => {
    const h = await logoutHarness();
    expectError(await logout(h, {}), 400, 'invalid_request');
    expectError(await logout(h, { client_id: '', state: 's' }), 400, 'invalid_request');
    expect(h.calls).toEqual([]);
    h.close();
  });

  it.each([
    ['client_id', `client_id=${CLIENT_ID}&client_id=other`],
    ['post_logout_redirect_uri', `client_id=${CLIENT_ID}&post_logout_redirect_uri=a&post_logout_redirect_uri=b`],
    ['state', `client_id=${CLIENT_ID}&state=a&state=b`],
    ['a bracketed client_id', `client_id[]=${CLIENT_ID}`],
    ['a malformed escape', `client_id=${CLIENT_ID}&state=%zz`],
    ['a state of non-ASCII characters', `client_id=${CLIENT_ID}&state=%C3%A9`],
  ])('a repeated or malformed parameter (%s): 400 invalid_request', async (_name, query) => {
    const h = await logoutHarness();
    expectError(await request(h.app).get(`/logout?${query}`), 400, 'invalid_request');
    expect(h.calls).toEqual([]);
    h.close();
  });

  it('§2 "The OP MUST support the use of the HTTP GET and POST methods": POST with a form body', async () => {
    const h = await logoutHarness();
    const res = await request(h.app)
      .post('/logout')
      .type('form')
      .send(form({ client_id: CLIENT_ID, post_logout_redirect_uri: SIGNED_OUT, state: 'x' }));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${SIGNED_OUT}?state=x`);
    expectError(await request(h.app).post('/logout').type('json').send('{}'), 400, 'invalid_request');
    h.close();
  });

  it("a POST behind the host's own express.urlencoded() is read from what it parsed", async () => {
    const calls: EndSessionContext[] = [];
    const codeStore = new MemoryCodeStore();
    const app = express()
      .use(express.urlencoded({ extended: true }))
      .use(
        createTokenRouter({
          issuer: ISSUER,
          codeStore,
          keyStore: await sharedKeyStore(),
          clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [SIGNED_OUT] }],
          endSession: (_req, _res, context) => {
            calls.push(context);
          },
        }),
      );
    const res = await request(app)
      .post('/logout')
      .type('form')
      .send(form({ client_id: CLIENT_ID, post_logout_redirect_uri: SIGNED_OUT }));
    expect(res.headers.location).toBe(SIGNED_OUT);
    // qs turns a bracketed parameter into an object: still refused as malformed.
    expectError(
      await request(app).post('/logout').type('form').send(`client_id[a]=${CLIENT_ID}`),
      400,
      'invalid_request',
    );
    expect(calls).toEqual([{ clientId: CLIENT_ID, redirectTo: SIGNED_OUT }]);
    codeStore.close();
  });

  it('other methods (HEAD included: it must not sign anyone out): 405 with Allow: GET, POST', async () => {
    const h = await logoutHarness();
    const put = await request(h.app).put(`/logout?client_id=${CLIENT_ID}`);
    expectError(put, 405, 'invalid_request');
    expect(put.headers.allow).toBe('GET, POST');
    expect((await request(h.app).head(`/logout?client_id=${CLIENT_ID}`)).status).toBe(405);
    expect(h.calls).toEqual([]);
    h.close();
  });

  it('follows logoutPath', async () => {
    const h = await logoutHarness({ logoutPath: '/oauth2/logout' });
    expect((await request(h.app).get(`/oauth2/logout?client_id=${CLIENT_ID}`)).status).toBe(204);
    expect((await request(h.app).get(`/logout?client_id=${CLIENT_ID}`)).status).toBe(404);
    h.close();
  });
});

describe('logout: id_token_hint (RP-Initiated Logout 1.0 §2)', () => {
  it("a verified id_token_hint gives endSession its sub; client_id may be left out, taken from the hint's aud", async () => {
    const h = await logoutHarness();
    const { id_token: idToken } = await signIn(h, { subject: 'user-alice' });
    const res = await logout(h, { id_token_hint: idToken!, post_logout_redirect_uri: SIGNED_OUT });
    expect(res.status).toBe(303);
    expect(h.calls).toEqual([{ clientId: CLIENT_ID, subject: 'user-alice', redirectTo: SIGNED_OUT }]);
    h.close();
  });

  it('an expired ID token is still a hint', async () => {
    const h = await logoutHarness();
    const hint = await ownIdToken({ iat: 1_000_000, exp: 1_000_600 });
    const res = await logout(h, { id_token_hint: hint, client_id: CLIENT_ID });
    expect(res.status).toBe(204);
    expect(h.calls).toEqual([{ clientId: CLIENT_ID, subject: 'user-123' }]);
    h.close();
  });

  it('"the OP MUST verify that the Client Identifier matches the one used when issuing the ID Token": another aud is 400', async () => {
    const h = await logoutHarness();
    const { id_token: idToken } = await signIn(h);
    expectError(await logout(h, { id_token_hint: idToken!, client_id: 'other' }), 400, 'invalid_request');
    expect(h.calls).toEqual([]);
    h.close();
  });

  it('"the OP MUST validate that it was the issuer of the ID Token": signed by another key, 400', async () => {
    const h = await logoutHarness();
    const { privateKey } = await generateKeyPair('RS256');
    const { kid } = await (await sharedKeyStore()).signingKey();
    const forged = await new SignJWT({ iss: ISSUER, aud: CLIENT_ID, sub: 'user-123' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(privateKey);
    expectError(await logout(h, { id_token_hint: forged }), 400, 'invalid_request');
    expect(h.calls).toEqual([]);
    h.close();
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['another iss', { iss: 'https://other.example.com' }, {}],
    ['an access token (a scope claim)', { scope: ['openid'] }, {}],
    ['an access token (typ at+jwt)', {}, { typ: 'at+jwt' }],
    ['no aud', { aud: undefined }, {}],
  ])('a hint with %s is refused: 400', async (_name, claims, header) => {
    const h = await logoutHarness();
    expectError(
      await logout(h, { id_token_hint: await ownIdToken(claims, header), client_id: CLIENT_ID }),
      400,
      'invalid_request',
    );
    expect(h.calls).toEqual([]);
    h.close();
  });

  it('a hint signed by a key added and promoted at runtime is verified (the kept keys are read again on an unknown kid)', async () => {
    const keyStore = await MemoryKeyStore.generate();
    const h = await logoutHarness({ keyStore });
    const first = await signIn(h);
    expect((await logout(h, { id_token_hint: first.id_token as string })).status).toBe(204);
    keyStore.promote(await keyStore.addGenerated({ alg: 'ES256' }));
    const second = await signIn(h);
    expect((await logout(h, { id_token_hint: second.id_token as string })).status).toBe(204);
    h.close();
  });

  it('a hint that is not a JWT, or too long: 400', async () => {
    const h = await logoutHarness();
    expectError(await logout(h, { id_token_hint: 'not-a-jwt' }), 400, 'invalid_request');
    expectError(await logout(h, { id_token_hint: 'a'.repeat(9000), client_id: CLIENT_ID }), 400, 'invalid_request');
    h.close();
  });

  it('a key store that fails while checking the hint: 503 temporarily_unavailable, nothing ended', async () => {
    const keys = await sharedKeyStore();
    const h = await logoutHarness({
      keyStore: { signingKey: () => keys.signingKey(), publicJwks: () => Promise.reject(new Error('down')) },
    });
    const res = await logout(h, { id_token_hint: await ownIdToken({}), client_id: CLIENT_ID });
    expectError(res, 503, 'temporarily_unavailable');
    expect(h.calls).toEqual([]);
    h.close();
  });
});

describe("logout: the host's endSession", () => {
  it('may answer itself (its own page): the router then adds nothing', async () => {
    const h = await harness({
      clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [SIGNED_OUT] }],
      endSession: async (_req, res, context) => {
        await Promise.resolve();
        res.status(200).type('html').send(`<a href="${context.redirectTo}">Continue</a>`);
      },
    });
    const res = await logout(h, { client_id: CLIENT_ID, post_logout_redirect_uri: SIGNED_OUT });
    expect(res.status).toBe(200);
    expect(res.text).toBe(`<a href="${SIGNED_OUT}">Continue</a>`);
    expect(res.headers.location).toBeUndefined();
    h.close();
  });

  it("what it throws reaches the host's error handler (next(err)), not swallowed, not answered by the router", async () => {
    const failure = new Error('session store down');
    const h = await harness({
      endSession: () => Promise.reject(failure),
    });
    const seen: unknown[] = [];
    h.app.use(
      (
        error: unknown,
        _req: unknown,
        res: { status: (n: number) => { send: (b: string) => void } },
        _next: unknown,
      ) => {
        seen.push(error);
        res.status(500).send('host error page');
      },
    );
    const res = await logout(h, { client_id: CLIENT_ID });
    expect(res.status).toBe(500);
    expect(res.text).toBe('host error page');
    expect(seen).toEqual([failure]);
    h.close();
  });

  it("without endSession there is no logout endpoint: the path is the host app's", async () => {
    const h = await harness();
    expect((await request(h.app).get(`/logout?client_id=${CLIENT_ID}`)).status).toBe(404);
    h.close();
  });
});

describe('logout: the audit event', () => {
  it("session_ended is raised once endSession returned, with the client, the hint's subject and whether the user is redirected", async () => {
    const events: TokenRouterEvent[] = [];
    const h = await logoutHarness({ onEvent: (event) => void events.push(event) });
    const { id_token: idToken } = await signIn(h, { subject: 'user-alice' });
    events.length = 0;
    await logout(h, { id_token_hint: idToken as string, post_logout_redirect_uri: SIGNED_OUT });
    await logout(h, { client_id: CLIENT_ID });
    expect(events).toEqual([
      { type: 'session_ended', time: expect.any(Number), clientId: CLIENT_ID, subject: 'user-alice', redirected: true },
      { type: 'session_ended', time: expect.any(Number), clientId: CLIENT_ID, redirected: false },
    ]);
    h.close();
  });

  it('is not raised for a refused request, nor when endSession fails', async () => {
    const events: TokenRouterEvent[] = [];
    const refused = await logoutHarness({ onEvent: (event) => void events.push(event) });
    await logout(refused, { client_id: CLIENT_ID, post_logout_redirect_uri: 'https://attacker.example/' });
    refused.close();
    const failing = await harness({
      onEvent: (event) => void events.push(event),
      endSession: () => Promise.reject(new Error('down')),
    });
    failing.app.use(
      (_error: unknown, _req: unknown, res: { status: (n: number) => { end: () => void } }, _next: unknown) => {
        res.status(500).end();
      },
    );
    expect((await logout(failing, { client_id: CLIENT_ID })).status).toBe(500);
    failing.close();
    expect(events.filter((event) => event.type === 'session_ended')).toEqual([]);
  });
});

describe('logout: discovery and options', () => {
  it('RP-Initiated Logout 1.0 §2.1: discovery lists end_session_endpoint when endSession is given, and not otherwise', async () => {
    const h = await logoutHarness({ logoutPath: '/signout' });
    expect((await request(h.app).get('/.well-known/openid-configuration')).body.end_session_endpoint).toBe(
      `${ISSUER}/signout`,
    );
    h.close();
    const off = await harness();
    expect((await request(off.app).get('/.well-known/openid-configuration')).body).not.toHaveProperty(
      'end_session_endpoint',
    );
    off.close();
  });

  async function thrown(options: Partial<TokenRouterOptions>): Promise<ConfigurationError> {
    const codeStore = new MemoryCodeStore();
    try {
      createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore(), ...options });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return error as ConfigurationError;
    } finally {
      codeStore.close();
    }
    throw new Error('createTokenRouter did not throw');
  }

  it.each<[string, Record<string, unknown>, string]>([
    ['logoutPath without endSession (it would mount nothing)', { logoutPath: '/logout' }, 'logoutPath'],
    ['endSession not a function', { endSession: true }, 'endSession'],
    ['logoutPath equal to tokenPath', { endSession: () => {}, logoutPath: '/oauth2/token' }, 'logoutPath'],
    [
      'discoveryMetadata.end_session_endpoint beside endSession',
      { endSession: () => {}, discoveryMetadata: { end_session_endpoint: 'https://x.example/logout' } },
      'discoveryMetadata.end_session_endpoint',
    ],
    [
      'postLogoutRedirectUris with a fragment',
      {
        clients: [
          { clientId: 'a', redirectUris: ['https://a.example/cb'], postLogoutRedirectUris: ['https://a.example/#x'] },
        ],
      },
      'clients[0].postLogoutRedirectUris',
    ],
    [
      'postLogoutRedirectUris over plain http off loopback',
      {
        clients: [
          { clientId: 'a', redirectUris: ['https://a.example/cb'], postLogoutRedirectUris: ['http://a.example/'] },
        ],
      },
      'clients[0].postLogoutRedirectUris',
    ],
    [
      'postLogoutRedirectUris not an array',
      {
        clients: [
          { clientId: 'a', redirectUris: ['https://a.example/cb'], postLogoutRedirectUris: 'https://a.example/' },
        ],
      },
      'clients[0].postLogoutRedirectUris',
    ],
  ])('refuses %s at createTokenRouter', async (_name, options, option) => {
    const error = await thrown(options as Partial<TokenRouterOptions>);
    expect({ code: error.code, option: error.option }).toEqual({ code: 'ERR_OPTION_INVALID', option });
  });

  it("discoveryMetadata.end_session_endpoint is the host's to give when the router serves no logout", async () => {
    const h = await harness({ discoveryMetadata: { end_session_endpoint: 'https://sso.example.com/logout' } });
    expect((await request(h.app).get('/.well-known/openid-configuration')).body.end_session_endpoint).toBe(
      'https://sso.example.com/logout',
    );
    h.close();
  });
});
