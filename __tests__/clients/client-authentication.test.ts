import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import request from 'supertest';
import { type Client, createTokenRouter, hashClientSecret, type TokenRouterEvent } from '../../lib/index.js';
import {
  ASSERTION_TYPE,
  BASIC_CLIENT,
  basicHeader,
  CLIENT_SECRET,
  clientAuthFixture,
  JWT_CLIENT,
  POST_CLIENT,
  TOKEN_ENDPOINT,
} from '../support/client-auth.js';
import { CLIENT_ID, type Harness, harness, ISSUER, REDIRECT_URI, refreshForm } from '../support/helpers.js';

type Form = Record<string, string>;
const TOKEN = '/oauth2/token';
const REVOKE = '/oauth2/revoke';

function post(h: Harness, body: Form, options: { authorization?: string; path?: string } = {}) {
  const req = request(h.app)
    .post(options.path ?? TOKEN)
    .set('Content-Type', 'application/x-www-form-urlencoded');
  if (options.authorization !== undefined) req.set('Authorization', options.authorization);
  return req.send(new URLSearchParams(body).toString());
}

/** RFC 6749 §5.2: 401 invalid_client, no-store, and a challenge: Basic when the client tried Basic. */
function expectInvalidClient(res: request.Response, challenge: 'Basic' | 'Bearer'): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'invalid_client' });
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['www-authenticate']).toMatch(new RegExp(`^${challenge} realm="${ISSUER}"`));
}

const events: TokenRouterEvent[] = [];
let h: Harness;
let fixture: Awaited<ReturnType<typeof clientAuthFixture>>;
let jwksServer: Server;
let jwksBase: string;
/** What the client's jwksUri answers, by path. */
const jwksAnswers = new Map<string, (res: import('node:http').ServerResponse) => void>();

beforeAll(async () => {
  fixture = await clientAuthFixture();
  jwksServer = createServer((req, res) => {
    const answer = jwksAnswers.get(req.url ?? '');
    if (answer === undefined) res.writeHead(404).end();
    else answer(res);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksBase = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  jwksAnswers.set('/good', (res) =>
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [fixture.publicJwk] })),
  );
  jwksAnswers.set('/garbage', (res) =>
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>not a jwks'),
  );
  // A JWKS of a megabyte, sent without Content-Length (chunked): over the router's limit.
  jwksAnswers.set('/huge', (res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`{"keys":[${JSON.stringify(fixture.publicJwk)}],"padding":"`);
    for (let chunk = 0; chunk < 16; chunk++) res.write('x'.repeat(65536));
    res.end('"}');
  });
  // Never answers: the router must give up within its bounded timeout.
  jwksAnswers.set('/hang', () => {});
  const uriClient = (clientId: string, path: string): Client => ({
    clientId,
    redirectUris: [REDIRECT_URI],
    tokenEndpointAuthMethod: 'private_key_jwt',
    jwksUri: `${jwksBase}${path}`,
  });
  h = await harness({
    clients: [
      { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] },
      ...fixture.clients,
      uriClient('uri-good', '/good'),
      uriClient('uri-garbage', '/garbage'),
      uriClient('uri-hang', '/hang'),
      uriClient('uri-huge', '/huge'),
    ],
    onEvent: (event) => void events.push(event),
  });
});
afterAll(async () => {
  h.close();
  jwksServer.closeAllConnections();
  await new Promise((resolve) => jwksServer.close(resolve));
});

const assertionForm = (client_assertion: string): Form => ({ client_assertion_type: ASSERTION_TYPE, client_assertion });

/** The code (and, for a refresh, the token) still works after a refused request: nothing was spent. */
async function expectCodeStillWorks(
  form: Form,
  authentication: { authorization?: string; body?: Form },
): Promise<void> {
  const res = await post(h, { ...form, ...authentication.body }, authentication);
  expect(res.status).toBe(200);
}

describe('client_secret_basic (RFC 6749 §2.3.1)', () => {
  const auth = () => ({ authorization: basicHeader(BASIC_CLIENT, CLIENT_SECRET) });

  it('"the client identifier is encoded using the application/x-www-form-urlencoded encoding algorithm", and so is the password: a code is exchanged', async () => {
    const res = await post(h, await h.issue({ clientId: BASIC_CLIENT }), auth());
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
  });

  it('the body may leave client_id out: the Basic client_id names the client', async () => {
    const { client_id: _omitted, ...form } = await h.issue({ clientId: BASIC_CLIENT });
    expect((await post(h, form, auth())).status).toBe(200);
  });

  it('a refresh and a revocation authenticate the same way', async () => {
    const tokens = await post(h, await h.issue({ clientId: BASIC_CLIENT }), auth());
    const refreshed = await post(h, refreshForm(tokens.body.refresh_token, { client_id: BASIC_CLIENT }), auth());
    expect(refreshed.status).toBe(200);
    const revoked = await post(h, { token: refreshed.body.refresh_token }, { ...auth(), path: REVOKE });
    expect(revoked.status).toBe(200);
    expect((await post(h, refreshForm(refreshed.body.refresh_token, { client_id: BASIC_CLIENT }), auth())).status).toBe(
      400,
    );
  });

  it('a wrong secret is 401 invalid_client with "WWW-Authenticate" matching the scheme used (§5.2); the code still works', async () => {
    const form = await h.issue({ clientId: BASIC_CLIENT });
    events.length = 0;
    const res = await post(h, form, { authorization: basicHeader(BASIC_CLIENT, 'wrong') });
    expectInvalidClient(res, 'Basic');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'request_rejected', reason: 'client_secret_invalid', clientId: BASIC_CLIENT }),
    );
    expect(JSON.stringify(events)).not.toContain('wrong');
    await expectCodeStillWorks(form, auth());
  });

  it.each([
    ['no colon', `Basic ${Buffer.from(BASIC_CLIENT).toString('base64')}`],
    ['bad base64', 'Basic !!!notbase64'],
    ['bad percent-encoding', `Basic ${Buffer.from(`${BASIC_CLIENT}:%ZZ`).toString('base64')}`],
  ])(
    'a malformed Basic header (%s) is 401 invalid_client, never a 500; the code still works',
    async (_name, authorization) => {
      const form = await h.issue({ clientId: BASIC_CLIENT });
      const res = await post(h, form, { authorization });
      expectInvalidClient(res, 'Basic');
      await expectCodeStillWorks(form, auth());
    },
  );

  it('a Basic client_id differing from the body client_id is 401 invalid_client; the code still works', async () => {
    const form = await h.issue({ clientId: BASIC_CLIENT });
    const res = await post(
      h,
      { ...form, client_id: POST_CLIENT },
      { authorization: basicHeader(BASIC_CLIENT, CLIENT_SECRET) },
    );
    expectInvalidClient(res, 'Basic');
    await expectCodeStillWorks(form, auth());
  });

  it('a failed authentication spends no refresh token', async () => {
    const tokens = await post(h, await h.issue({ clientId: BASIC_CLIENT }), auth());
    const form = refreshForm(tokens.body.refresh_token, { client_id: BASIC_CLIENT });
    expectInvalidClient(await post(h, form, { authorization: basicHeader(BASIC_CLIENT, 'wrong') }), 'Basic');
    expect((await post(h, form, auth())).status).toBe(200);
  });

  it('the client registered for Basic cannot post its secret in the body instead (a method it did not register)', async () => {
    const res = await post(h, { ...(await h.issue({ clientId: BASIC_CLIENT })), client_secret: CLIENT_SECRET });
    expectInvalidClient(res, 'Bearer');
  });
});

describe('client_secret_post (RFC 6749 §2.3.1)', () => {
  it('client_secret in the body authenticates the client', async () => {
    const res = await post(h, { ...(await h.issue({ clientId: POST_CLIENT })), client_secret: CLIENT_SECRET });
    expect(res.status).toBe(200);
  });

  it('a wrong secret is 401 invalid_client; the code still works', async () => {
    const form = await h.issue({ clientId: POST_CLIENT });
    expectInvalidClient(await post(h, { ...form, client_secret: 'wrong' }), 'Bearer');
    await expectCodeStillWorks(form, { body: { client_secret: CLIENT_SECRET } });
  });

  it('a confidential client without authentication is 401 invalid_client; the code still works', async () => {
    const form = await h.issue({ clientId: POST_CLIENT });
    events.length = 0;
    expectInvalidClient(await post(h, form), 'Bearer');
    expect(events).toContainEqual(expect.objectContaining({ reason: 'client_auth_missing' }));
    await expectCodeStillWorks(form, { body: { client_secret: CLIENT_SECRET } });
  });

  it('"The client MUST NOT use more than one authentication method in each request" (§2.3): Basic and a body secret is 401', async () => {
    const form = { ...(await h.issue({ clientId: POST_CLIENT })), client_secret: CLIENT_SECRET };
    const res = await post(h, form, { authorization: basicHeader(POST_CLIENT, CLIENT_SECRET) });
    expectInvalidClient(res, 'Basic');
    expect((await post(h, form)).status).toBe(200);
  });

  it('PKCE stays required for a confidential client (RFC 9700 §2.1.1): no code_verifier is 400', async () => {
    const { code_verifier: _omitted, ...form } = await h.issue({ clientId: POST_CLIENT });
    const res = await post(h, { ...form, client_secret: CLIENT_SECRET });
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('a repeated client_secret is refused as a repeated parameter', async () => {
    const form = await h.issue({ clientId: POST_CLIENT });
    const body = `${new URLSearchParams(form)}&client_secret=a&client_secret=b`;
    const res = await request(h.app).post(TOKEN).set('Content-Type', 'application/x-www-form-urlencoded').send(body);
    expect(res.status).toBe(400);
  });
});

describe('public clients ("none")', () => {
  it('work as before, with PKCE alone', async () => {
    expect((await post(h, await h.issue())).status).toBe(200);
  });

  it('a public client sending a Basic header it was never issued is 401 invalid_client', async () => {
    expectInvalidClient(await post(h, await h.issue(), { authorization: basicHeader(CLIENT_ID, 'made-up') }), 'Basic');
  });

  it('a public client sending a client_secret is 401 invalid_client; the code still works', async () => {
    const form = await h.issue();
    events.length = 0;
    expectInvalidClient(await post(h, { ...form, client_secret: 'made-up' }), 'Bearer');
    expect(events).toContainEqual(expect.objectContaining({ reason: 'client_auth_method_mismatch' }));
    await expectCodeStillWorks(form, {});
  });
});

describe('private_key_jwt (RFC 7523 §2.2, §3; OIDC Core §9)', () => {
  const exchange = async (assertion: string, clientId = JWT_CLIENT) =>
    post(h, { ...(await h.issue({ clientId })), ...assertionForm(assertion) });

  it('an assertion signed by the registered key, aud the token endpoint, authenticates the client', async () => {
    expect((await exchange(await fixture.assertion())).status).toBe(200);
  });

  it('"The token endpoint URL of the authorization server MAY be used as a value for an aud element", and so may the issuer', async () => {
    expect((await exchange(await fixture.assertion({ aud: ISSUER }))).status).toBe(200);
    expect(
      (await exchange(await fixture.assertion({ aud: ['https://elsewhere.example', TOKEN_ENDPOINT] }))).status,
    ).toBe(200);
  });

  it('a revocation authenticates with an assertion too', async () => {
    const res = await post(
      h,
      { client_id: JWT_CLIENT, token: 'any', ...assertionForm(await fixture.assertion()) },
      { path: REVOKE },
    );
    expect(res.status).toBe(200);
  });

  it.each<[string, () => Promise<string>]>([
    [
      '"The JWT MUST contain an "aud" (audience) claim" naming the server: a wrong aud',
      () => fixture.assertion({ aud: 'https://elsewhere.example/token' }),
    ],
    ['"The JWT MUST contain an "exp" (expiration time) claim": none', () => fixture.assertion({ exp: undefined })],
    [
      '"reject JWTs with an "exp" claim value that is unreasonably far in the future": an hour ahead',
      () => fixture.assertion({ exp: Math.floor(Date.now() / 1000) + 3600 }),
    ],
    [
      'an expired assertion',
      () => fixture.assertion({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 }),
    ],
    ['an "iat" in the future', () => fixture.assertion({ iat: Math.floor(Date.now() / 1000) + 600 })],
    [
      '"The JWT MUST contain an "iss" (issuer) claim" that is the client_id: another',
      () => fixture.assertion({ iss: 'someone-else' }),
    ],
    ['a "sub" that is not the client_id', () => fixture.assertion({ sub: 'someone-else' })],
    ['no "jti"', () => fixture.assertion({ jti: undefined })],
    [
      '"alg": "none"',
      async () => {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        return `${encode({ alg: 'none' })}.${encode({ iss: JWT_CLIENT, sub: JWT_CLIENT, aud: TOKEN_ENDPOINT, jti: 'j', exp: now + 60 })}.`;
      },
    ],
    [
      'HS256 keyed with the public key',
      () => fixture.assertion({}, { alg: 'HS256', key: new TextEncoder().encode(JSON.stringify(fixture.publicJwk)) }),
    ],
    [
      'HS256 keyed with the client secret',
      () => fixture.assertion({}, { alg: 'HS256', key: new TextEncoder().encode(CLIENT_SECRET) }),
    ],
    ['garbage', async () => 'not-a-jwt'],
  ])('%s: 401 invalid_client, and the code still works', async (_name, make) => {
    const form = await h.issue({ clientId: JWT_CLIENT });
    const res = await post(h, { ...form, ...assertionForm(await make()) });
    expectInvalidClient(res, 'Bearer');
    await expectCodeStillWorks(form, { body: assertionForm(await fixture.assertion()) });
  });

  it('"The "jti" … MUST only be used once": a replayed assertion is 401, the code still works', async () => {
    const assertion = await fixture.assertion();
    expect((await exchange(assertion)).status).toBe(200);
    const form = await h.issue({ clientId: JWT_CLIENT });
    events.length = 0;
    expectInvalidClient(await post(h, { ...form, ...assertionForm(assertion) }), 'Bearer');
    expect(events).toContainEqual(expect.objectContaining({ reason: 'client_assertion_replayed' }));
    expect(JSON.stringify(events)).not.toContain(assertion);
    await expectCodeStillWorks(form, { body: assertionForm(await fixture.assertion()) });
  });

  it('client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer', async () => {
    const res = await post(h, {
      ...(await h.issue({ clientId: JWT_CLIENT })),
      client_assertion_type: 'urn:other',
      client_assertion: await fixture.assertion(),
    });
    expectInvalidClient(res, 'Bearer');
  });

  it('keys fetched from the jwksUri verify the assertion', async () => {
    expect((await exchange(await fixture.assertion({}, { clientId: 'uri-good' }), 'uri-good')).status).toBe(200);
  });

  it.each([
    ['returns garbage', 'uri-garbage'],
    ['hangs', 'uri-hang'],
    ['answers more than 256 KiB', 'uri-huge'],
  ])(
    'a jwksUri that %s is 401 invalid_client (the client’s own endpoint), never a 500',
    async (_name, clientId) => {
      const form = await h.issue({ clientId });
      events.length = 0;
      const res = await post(h, { ...form, ...assertionForm(await fixture.assertion({}, { clientId })) });
      expectInvalidClient(res, 'Bearer');
      expect(events).toContainEqual(expect.objectContaining({ reason: 'client_jwks_unavailable' }));
    },
    10_000,
  );
});

describe('discovery lists what the configured clients use (RFC 8414 §2)', () => {
  it('token and revocation auth methods, and the assertion algorithms', async () => {
    const res = await request(h.app).get('/.well-known/openid-configuration');
    expect(res.body.token_endpoint_auth_methods_supported).toEqual([
      'none',
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ]);
    expect(res.body.revocation_endpoint_auth_methods_supported).toEqual(res.body.token_endpoint_auth_methods_supported);
    expect(res.body.token_endpoint_auth_signing_alg_values_supported).toContain('ES256');
    expect(res.body.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
    expect(res.body.token_endpoint_auth_signing_alg_values_supported).not.toContain('none');
  });

  it('public clients only: ["none"], and no signing algorithms', async () => {
    const plain = await harness();
    const res = await request(plain.app).get('/.well-known/openid-configuration');
    expect(res.body.token_endpoint_auth_methods_supported).toEqual(['none']);
    expect(res.body).not.toHaveProperty('token_endpoint_auth_signing_alg_values_supported');
    plain.close();
  });

  it('a registry: every method the router supports', async () => {
    const registry = await harness({ clients: { findClient: async () => undefined } });
    const res = await request(registry.app).get('/.well-known/openid-configuration');
    expect(res.body.token_endpoint_auth_methods_supported).toEqual([
      'none',
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ]);
    registry.close();
  });
});

describe('a registry record authenticates as a list entry does', () => {
  it('client_secret_post from a registry record', async () => {
    const clientSecretHash = await hashClientSecret('registry-secret');
    const registry = await harness({
      clients: {
        findClient: async (clientId) =>
          clientId === CLIENT_ID
            ? {
                clientId,
                redirectUris: [REDIRECT_URI],
                tokenEndpointAuthMethod: 'client_secret_post',
                clientSecretHash,
              }
            : undefined,
      },
    });
    const form = await registry.issue();
    expect((await post(registry, { ...form, client_secret: 'nope' })).status).toBe(401);
    expect((await post(registry, { ...form, client_secret: 'registry-secret' })).status).toBe(200);
    registry.close();
  });
});

describe('startup: private_key_jwt needs somewhere to remember jtis', () => {
  it('a code store without markSeen and no replayStore is ERR_OPTION_MISSING replayStore', async () => {
    const base = await harness();
    const codeStore = { save: async () => {}, redeem: async () => ({ outcome: 'unknown' as const }) };
    expect(() =>
      createTokenRouter({ issuer: ISSUER, codeStore, keyStore: base.keyStore, clients: fixture.clients }),
    ).toThrow(expect.objectContaining({ code: 'ERR_OPTION_MISSING', option: 'replayStore' }));
    expect(() =>
      createTokenRouter({
        issuer: ISSUER,
        codeStore,
        keyStore: base.keyStore,
        clients: fixture.clients,
        replayStore: base.codeStore,
      }),
    ).not.toThrow();
    base.close();
  });
});

describe('a registry record with unusable authentication fields is the registry’s fault', () => {
  it('a secret method without a clientSecretHash: 503 client_record_invalid, the code not spent', async () => {
    let broken = true;
    const clientSecretHash = await hashClientSecret('fixed-later');
    const seen: TokenRouterEvent[] = [];
    const registry = await harness({
      clients: {
        findClient: async (clientId) => ({
          clientId,
          redirectUris: [REDIRECT_URI],
          tokenEndpointAuthMethod: 'client_secret_post' as const,
          ...(broken ? {} : { clientSecretHash }),
        }),
      },
      onEvent: (event) => void seen.push(event),
    });
    const form = { ...(await registry.issue()), client_secret: 'fixed-later' };
    const warned = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const res = await post(registry, form);
    warned.mockRestore();
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
    expect(seen).toContainEqual(expect.objectContaining({ reason: 'client_record_invalid' }));
    broken = false;
    expect((await post(registry, form)).status).toBe(200);
    registry.close();
  });
});

describe('behind a host’s express.urlencoded(), the body’s credentials are read from req.body', () => {
  it('client_secret_post and private_key_jwt work, and a wrong secret is still 401', async () => {
    const express = (await import('express')).default;
    const host = await harness({ clients: fixture.clients });
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(host.app);
    const send = (body: Form) =>
      request(app)
        .post(TOKEN)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send(new URLSearchParams(body).toString());
    expect(
      (await send({ ...(await host.issue({ clientId: POST_CLIENT })), client_secret: CLIENT_SECRET })).status,
    ).toBe(200);
    expect((await send({ ...(await host.issue({ clientId: POST_CLIENT })), client_secret: 'wrong' })).status).toBe(401);
    expect(
      (await send({ ...(await host.issue({ clientId: JWT_CLIENT })), ...assertionForm(await fixture.assertion()) }))
        .status,
    ).toBe(200);
    host.close();
  });
});
