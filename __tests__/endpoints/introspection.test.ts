import express from 'express';
import request from 'supertest';
import { type Client, hashClientSecret, type TokenRouterEvent } from '../../lib/index.js';
import { BASIC_CLIENT, basicHeader, CLIENT_SECRET, clientAuthFixture, POST_CLIENT } from '../support/client-auth.js';
import {
  CLIENT_ID,
  expectError,
  type Harness,
  harness,
  ISSUER,
  postToken,
  REDIRECT_URI,
  refreshForm,
  SPA_ORIGIN,
  signIn,
} from '../support/helpers.js';

/*
 * The introspection endpoint (RFC 7662): its request (§2.1), its answer (§2.2), its errors (§2.3)
 * and who may ask (§4). The answer for each kind of token is in introspection-answer.test.ts.
 */

const RESOURCE_SERVER = BASIC_CLIENT;
const MACHINE = 'machine';
const MACHINE_SECRET = 'machine-secret-of-enough-entropy-0123456789';

async function clients(): Promise<Client[]> {
  const fixture = await clientAuthFixture();
  return [
    { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] },
    ...fixture.clients,
    {
      clientId: MACHINE,
      redirectUris: [REDIRECT_URI],
      tokenEndpointAuthMethod: 'client_secret_basic',
      clientSecretHash: await hashClientSecret(MACHINE_SECRET),
      grantTypes: ['client_credentials'],
      scopes: ['status:read'],
    },
  ];
}

function introspect(
  h: Harness,
  form: Record<string, string>,
  auth: string | null = basicHeader(RESOURCE_SERVER, CLIENT_SECRET),
  path = '/oauth2/introspect',
) {
  const call = request(h.app).post(path).set('Content-Type', 'application/x-www-form-urlencoded');
  if (auth !== null) call.set('Authorization', auth);
  return call.send(new URLSearchParams(form).toString());
}

describe('introspection endpoint (RFC 7662)', () => {
  const events: TokenRouterEvent[] = [];
  let h: Harness;
  beforeAll(async () => {
    h = await harness({
      clients: await clients(),
      allowedOrigins: [SPA_ORIGIN],
      onEvent: (event) => void events.push(event),
    });
  });
  afterAll(() => h.close());

  it('RFC 7662 §2.1: "The protected resource calls the introspection endpoint using an HTTP POST request with parameters sent as application/x-www-form-urlencoded": an active access token gets 200 JSON, no-store', async () => {
    const tokens = await signIn(h);
    const res = await introspect(h, { token: tokens.access_token! });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ active: true, client_id: CLIENT_ID, sub: 'user-123', token_type: 'Bearer' });
  });

  it('RFC 7662 §2.2: the answer never holds the token itself', async () => {
    const tokens = await signIn(h);
    for (const token of [tokens.access_token!, tokens.refresh_token!]) {
      const res = await introspect(h, { token });
      expect(res.body.active).toBe(true);
      expect(res.text).not.toContain(token);
      // Nor a part of one: a JWT's signature, a refresh token's secret after its family id.
      expect(res.text).not.toContain(token.includes('.') ? token.slice(token.lastIndexOf('.') + 1) : token);
    }
  });

  it('RFC 7662 §2.2: "{"active": false}" for a token that is not active, and nothing else', async () => {
    const res = await introspect(h, { token: 'never-issued' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  it('RFC 7662 §2.1 token_type_hint: the server "MAY ignore this parameter": a wrong hint does not change the answer', async () => {
    const tokens = await signIn(h);
    const res = await introspect(h, { token: tokens.refresh_token!, token_type_hint: 'access_token' });
    expect(res.body).toMatchObject({ active: true, client_id: CLIENT_ID });
  });

  it('RFC 7662 §2.1: client_secret_post authenticates as well as Basic', async () => {
    const tokens = await signIn(h);
    const res = await introspect(
      h,
      { token: tokens.access_token!, client_id: POST_CLIENT, client_secret: CLIENT_SECRET },
      null,
    );
    expect(res.body.active).toBe(true);
  });

  it('RFC 7662 §4: a resource server may learn about tokens issued to other clients (the web app’s token, asked by another client)', async () => {
    const tokens = await signIn(h);
    const res = await introspect(h, { token: tokens.access_token! }, basicHeader(MACHINE, MACHINE_SECRET));
    expect(res.body).toMatchObject({ active: true, client_id: CLIENT_ID });
  });

  it('RFC 7662 §2.1: a client_credentials token introspects as the client itself', async () => {
    const issued = await request(h.app)
      .post('/oauth2/token')
      .set('Authorization', basicHeader(MACHINE, MACHINE_SECRET))
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(issued.status).toBe(200);
    const res = await introspect(h, { token: issued.body.access_token });
    expect(res.body).toMatchObject({ active: true, client_id: MACHINE, sub: MACHINE, scope: 'status:read' });
  });

  it('a rotated refresh token is no longer active (RFC 7662 §2.2)', async () => {
    const tokens = await signIn(h);
    expect((await postToken(h.app, refreshForm(tokens.refresh_token!))).status).toBe(200);
    expect((await introspect(h, { token: tokens.refresh_token! })).body).toEqual({ active: false });
  });

  it('RFC 7662 §2.1: "To prevent token scanning attacks, the endpoint MUST also require some form of authorization": without credentials, 401 invalid_client', async () => {
    const tokens = await signIn(h);
    const res = await introspect(h, { token: tokens.access_token!, client_id: RESOURCE_SERVER }, null);
    expectError(res, 401, 'invalid_client');
  });

  it('RFC 7662 §2.3: "If the protected resource uses OAuth 2.0 client credentials to authenticate to the introspection endpoint and its credentials are invalid, the authorization server responds with an HTTP 401"', async () => {
    const res = await introspect(h, { token: 'x' }, basicHeader(RESOURCE_SERVER, 'wrong'));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'invalid_client' });
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
  });

  it('RFC 7662 §2.1: a public client, which cannot authenticate, may not introspect: 401 invalid_client', async () => {
    const tokens = await signIn(h);
    expectError(
      await introspect(h, { token: tokens.access_token!, client_id: CLIENT_ID }, null),
      401,
      'invalid_client',
    );
  });

  it('RFC 7662 §2.1: token is REQUIRED: without it, 400 invalid_request', async () => {
    expectError(await introspect(h, {}), 400, 'invalid_request');
  });

  it('a repeated token parameter is 400 invalid_request (docs/contract.md "Request")', async () => {
    const res = await request(h.app)
      .post('/oauth2/introspect')
      .set('Authorization', basicHeader(RESOURCE_SERVER, CLIENT_SECRET))
      .type('form')
      .send('token=a&token=b');
    expectError(res, 400, 'invalid_request');
  });

  it('RFC 7662 §2.1 "HTTP POST": another method is 405 with Allow: POST', async () => {
    const res = await request(h.app).get('/oauth2/introspect');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('server to server: no CORS, even from an allowed origin (no preflight, no Access-Control-Allow-Origin)', async () => {
    const preflight = await request(h.app)
      .options('/oauth2/introspect')
      .set('Origin', SPA_ORIGIN)
      .set('Access-Control-Request-Method', 'POST');
    expect(preflight.status).toBe(405);
    expect(preflight.headers).not.toHaveProperty('access-control-allow-origin');
    const tokens = await signIn(h);
    const res = await introspect(h, { token: tokens.access_token! }).set('Origin', SPA_ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers).not.toHaveProperty('access-control-allow-origin');
  });

  it('raises token_introspected with the asking client and the answer, never the token', async () => {
    events.length = 0;
    const tokens = await signIn(h);
    await introspect(h, { token: tokens.access_token! });
    const event = events.find((candidate) => candidate.type === 'token_introspected');
    expect(event).toEqual({
      type: 'token_introspected',
      clientId: RESOURCE_SERVER,
      active: true,
      time: expect.any(Number),
    });
    expect(JSON.stringify(events)).not.toContain(tokens.access_token!);
  });

  it('discovery lists introspection_endpoint and its auth methods (RFC 8414 §2)', async () => {
    const res = await request(h.app).get('/.well-known/openid-configuration');
    expect(res.body.introspection_endpoint).toBe(`${ISSUER}/oauth2/introspect`);
    expect(res.body.introspection_endpoint_auth_methods_supported).toEqual(
      res.body.token_endpoint_auth_methods_supported.filter((method: string) => method !== 'none'),
    );
  });
});

describe('introspectionPath', () => {
  it('moves the endpoint; `false` leaves it out (the path goes on to the host) and out of discovery', async () => {
    const moved = await harness({ clients: await clients(), introspectionPath: '/rs/introspect' });
    const off = await harness({ clients: await clients(), introspectionPath: false });
    try {
      expect(
        (await introspect(moved, { token: 'x' }, basicHeader(RESOURCE_SERVER, CLIENT_SECRET), '/rs/introspect')).body,
      ).toEqual({ active: false });
      const host = express();
      host.use(off.app);
      host.use((_req, res) => void res.status(404).send('host'));
      expect((await request(host).post('/oauth2/introspect')).text).toBe('host');
      expect((await request(off.app).get('/.well-known/openid-configuration')).body).not.toHaveProperty(
        'introspection_endpoint',
      );
    } finally {
      moved.close();
      off.close();
    }
  });
});
