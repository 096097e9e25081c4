import { createServer } from 'node:http';
import express, { type Express } from 'express';
import request from 'supertest';
import {
  ConfigurationError,
  MemoryKeyStore,
  MemoryRefreshTokenStore,
  type RequireAccessTokenOptions,
  requireAccessToken,
} from '../../lib/index.js';
import { accessTokenOf, countingKeyStore } from '../support/access-tokens.js';
import { CLIENT_ID, type Harness, harness, ISSUER } from '../support/helpers.js';

const API = 'https://api.example.com';

/** The host's API: one route behind the middleware, answering what it saw on req.auth. */
function api(options: Partial<RequireAccessTokenOptions> & Pick<RequireAccessTokenOptions, 'keyStore'>): {
  app: Express;
  hostErrors: unknown[];
} {
  const app = express();
  const hostErrors: unknown[] = [];
  app.get('/api/profile', requireAccessToken({ issuer: ISSUER, ...options }), (req, res) => {
    res.json({
      subject: req.auth?.subject,
      clientId: req.auth?.clientId,
      scopes: req.auth?.scopes,
      jti: req.auth?.claims.jti,
    });
  });
  app.post(
    '/api/profile',
    express.urlencoded({ extended: false }),
    requireAccessToken({ issuer: ISSUER, ...options }),
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    hostErrors.push(error);
    res.status(500).send('<html>host error page</html>');
  });
  return { app, hostErrors };
}

/** RFC 6750 §3: the answer's status, challenge and JSON body, with the no-store headers. */
function expectRefusal(res: request.Response, status: number, error: string | undefined): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body.error).toBe(error);
  expect(typeof res.body.error_description).toBe('string');
  const challenge = res.headers['www-authenticate'] as string;
  if (error === undefined) expect(challenge).toBe(`Bearer realm="${ISSUER}"`);
  else expect(challenge).toMatch(new RegExp(`^Bearer realm="${ISSUER}", error="${error}", error_description="[^"]+"`));
}

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await harness();
  token = (await accessTokenOf(h)).accessToken;
});
afterAll(() => h.close());

describe('requireAccessToken: a valid token (RFC 6750 §2.1)', () => {
  it('passes a token the token endpoint issued, and puts subject, client, scopes and claims on req.auth', async () => {
    const { app } = api({ keyStore: h.keyStore, scopes: ['profile'] });
    const res = await request(app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      subject: 'user-123',
      clientId: CLIENT_ID,
      scopes: ['openid', 'profile'],
      jti: expect.any(String),
    });
  });

  it('passes an RFC 9068 token whose aud is the API', async () => {
    const rfc = await harness({ accessTokenFormat: 'rfc9068', accessTokenAudience: API });
    const { accessToken } = await accessTokenOf(rfc);
    const { app } = api({ keyStore: rfc.keyStore, accessTokenFormat: 'rfc9068', audience: API, scopes: ['profile'] });
    const res = await request(app).get('/api/profile').set('Authorization', `Bearer ${accessToken}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ clientId: CLIENT_ID, scopes: ['openid', 'profile'] });
    rfc.close();
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('RFC 9110 §11.1: the scheme is case-insensitive (%s)', async (scheme) => {
    const { app } = api({ keyStore: h.keyStore });
    expect((await request(app).get('/api/profile').set('Authorization', `${scheme} ${token}`)).status).toBe(200);
  });

  it('RFC 6750 §2.1: "Bearer" 1*SP b64token: two spaces are allowed', async () => {
    const { app } = api({ keyStore: h.keyStore });
    expect((await request(app).get('/api/profile').set('Authorization', `Bearer  ${token}`)).status).toBe(200);
  });
});

describe('requireAccessToken: no token (RFC 6750 §3.1)', () => {
  it('a request without authentication information gets 401 and a challenge with no error code', async () => {
    const { app } = api({ keyStore: h.keyStore });
    expectRefusal(await request(app).get('/api/profile'), 401, undefined);
  });

  it('a request using an unsupported authentication method (Basic) gets 401 with no error code', async () => {
    const { app } = api({ keyStore: h.keyStore });
    expectRefusal(
      await request(app).get('/api/profile').set('Authorization', 'Basic d2ViOnNlY3JldA=='),
      401,
      undefined,
    );
  });

  it('the realm is the option realm when given', async () => {
    const { app } = api({ keyStore: h.keyStore, realm: 'profile-api' });
    expect((await request(app).get('/api/profile')).headers['www-authenticate']).toBe('Bearer realm="profile-api"');
  });
});

describe('requireAccessToken: invalid_request (RFC 6750 §3.1), 400', () => {
  it.each([
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['two tokens', 'Bearer a b'],
    ['a tab for the space', 'Bearer\tabc'],
    ['characters outside b64token', 'Bearer abc$def'],
    ['padding inside the token', 'Bearer ab=cd'],
  ])('a malformed Authorization header (%s)', async (_name, header) => {
    const { app } = api({ keyStore: h.keyStore });
    expectRefusal(await request(app).get('/api/profile').set('Authorization', header), 400, 'invalid_request');
  });

  it('RFC 6750 §2.3: a token in the access_token query parameter is refused', async () => {
    const { app } = api({ keyStore: h.keyStore });
    const res = await request(app).get(`/api/profile?access_token=${token}`);
    expectRefusal(res, 400, 'invalid_request');
    expect(JSON.stringify(res.body) + res.headers['www-authenticate']).not.toContain(token);
  });

  it('RFC 6750 §2: more than one method (header and query) is invalid_request', async () => {
    const { app } = api({ keyStore: h.keyStore });
    const res = await request(app)
      .get(`/api/profile?x=1&access_token=${token}`)
      .set('Authorization', `Bearer ${token}`);
    expectRefusal(res, 400, 'invalid_request');
  });

  it('RFC 6750 §2.2: a token in a form body the host parsed is refused', async () => {
    const { app } = api({ keyStore: h.keyStore });
    const res = await request(app).post('/api/profile').type('form').send({ access_token: token });
    expectRefusal(res, 400, 'invalid_request');
  });

  it('a request with two Authorization headers is refused', async () => {
    const { app } = api({ keyStore: h.keyStore });
    const server = createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const http = import('node:http').then(({ request: send }) => {
        const req = send({ host: '127.0.0.1', port, path: '/api/profile', method: 'GET' }, (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.setHeader('Authorization', [`Bearer ${token}`, `Bearer ${token}`]);
        req.on('error', reject);
        req.end();
      });
      http.catch(reject);
    });
    server.close();
    expect(status).toBe(400);
    expect(JSON.parse(body).error).toBe('invalid_request');
  });
});

describe('requireAccessToken: invalid_token (RFC 6750 §3.1), 401', () => {
  it('an expired token, by the injected clock', async () => {
    const { app } = api({ keyStore: h.keyStore, now: () => Date.now() + 3_600_000 });
    expectRefusal(await request(app).get('/api/profile').set('Authorization', `Bearer ${token}`), 401, 'invalid_token');
  });

  it('a token of another issuer', async () => {
    const { app } = api({ keyStore: h.keyStore, issuer: 'https://other.example.com' });
    const res = await request(app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });

  it('an ID token presented as an access token', async () => {
    const { idToken } = await accessTokenOf(h);
    const { app } = api({ keyStore: h.keyStore });
    expectRefusal(
      await request(app).get('/api/profile').set('Authorization', `Bearer ${idToken}`),
      401,
      'invalid_token',
    );
  });

  it('a token that is not a JWT; the answer never echoes it', async () => {
    const { app, hostErrors } = api({ keyStore: h.keyStore });
    const res = await request(app).get('/api/profile').set('Authorization', 'Bearer opaque-token-value');
    expectRefusal(res, 401, 'invalid_token');
    expect(JSON.stringify(res.body) + res.headers['www-authenticate']).not.toContain('opaque-token-value');
    expect(hostErrors).toEqual([]);
  });
});

describe('requireAccessToken: insufficient_scope (RFC 6750 §3.1), 403', () => {
  it('scopes (all, the default): a token without every scope gets 403 and scope="..." naming them', async () => {
    const { app } = api({ keyStore: h.keyStore, scopes: ['profile', 'admin'] });
    const res = await request(app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expectRefusal(res, 403, 'insufficient_scope');
    expect(res.headers['www-authenticate']).toMatch(/, scope="profile admin"$/);
  });

  it("scopeMode 'any': one of the scopes is enough", async () => {
    const { app } = api({ keyStore: h.keyStore, scopes: ['admin', 'profile'], scopeMode: 'any' });
    expect((await request(app).get('/api/profile').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    const { app: none } = api({ keyStore: h.keyStore, scopes: ['admin', 'billing'], scopeMode: 'any' });
    expectRefusal(
      await request(none).get('/api/profile').set('Authorization', `Bearer ${token}`),
      403,
      'insufficient_scope',
    );
  });
});

describe('requireAccessToken: a failing key store', () => {
  it('is 503 temporarily_unavailable with no challenge, never a 500 or the host error page', async () => {
    const keyStore = countingKeyStore(await MemoryKeyStore.generate({ alg: 'ES256' }));
    keyStore.failing = true;
    const { app, hostErrors } = api({ keyStore });
    const res = await request(app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers).not.toHaveProperty('www-authenticate');
    expect(hostErrors).toEqual([]);
  });
});

describe('requireAccessToken: options, checked at creation', () => {
  const store = new MemoryRefreshTokenStore();
  afterAll(() => store.close());
  it.each([
    [{ scopes: 'profile' }, 'ERR_OPTION_INVALID', 'scopes'],
    [{ scopes: ['pro file'] }, 'ERR_OPTION_INVALID', 'scopes'],
    [{ scopeMode: 'some' }, 'ERR_OPTION_INVALID', 'scopeMode'],
    [{ scopeMode: 'any' }, 'ERR_OPTION_INVALID', 'scopeMode'],
    [{ realm: 'a"b' }, 'ERR_OPTION_INVALID', 'realm'],
    [{ checkRevocation: 'yes' }, 'ERR_OPTION_INVALID', 'checkRevocation'],
    [{ checkRevocation: true }, 'ERR_OPTION_MISSING', 'refreshTokenStore'],
    [{ checkRevocation: true, refreshTokenStore: { revokeFamily() {} } }, 'ERR_OPTION_INVALID', 'refreshTokenStore'],
    [{ refreshTokenStore: store }, 'ERR_OPTION_INVALID', 'refreshTokenStore'],
    [{ scope: ['profile'] }, 'ERR_OPTION_UNKNOWN', 'scope'],
    [{ issuer: undefined }, 'ERR_OPTION_MISSING', 'issuer'],
    [{ accessTokenFormat: 'rfc9068' }, 'ERR_OPTION_MISSING', 'audience'],
  ])('%j: %s naming %s', (bad, code, option) => {
    const make = () =>
      requireAccessToken({ keyStore: h.keyStore, issuer: ISSUER, ...bad } as RequireAccessTokenOptions);
    expect(make).toThrow(ConfigurationError);
    expect(make).toThrow(expect.objectContaining({ code, option }));
    expect(make).toThrow(/docs\/errors\.md#err_option_/);
  });

  it('checkRevocation with a store that has isFamilyRevoked() is accepted', () => {
    expect(() =>
      requireAccessToken({ keyStore: h.keyStore, issuer: ISSUER, checkRevocation: true, refreshTokenStore: store }),
    ).not.toThrow();
  });
});
