import express from 'express';
import { SignJWT } from 'jose';
import request from 'supertest';
import {
  ConfigurationError,
  createTokenRouter,
  MemoryCodeStore,
  type TokenRouterOptions,
  type UserInfoClaims,
} from '../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  form,
  type Harness,
  harness,
  ISSUER,
  SPA_ORIGIN,
  sharedKeyStore,
  signIn,
} from '../support/helpers.js';

/** Every claim of OIDC Core §5.4's scopes, and one of the host's own. */
const ALICE: UserInfoClaims = {
  name: 'Alice Liddell',
  given_name: 'Alice',
  preferred_username: 'alice',
  email: 'alice@example.com',
  email_verified: true,
  phone_number: '+1 555 0100',
  phone_number_verified: false,
  address: { country: 'GB' },
  department: 'wonderland',
};

interface UserInfoHarness extends Harness {
  lookups: [string, readonly string[]][];
}

async function userInfoHarness(options: Partial<TokenRouterOptions> = {}): Promise<UserInfoHarness> {
  const lookups: [string, readonly string[]][] = [];
  const h = await harness({
    userInfo: (subject, scope) => {
      lookups.push([subject, scope]);
      return subject === 'user-123' ? ALICE : undefined;
    },
    ...options,
  });
  return Object.assign(h, { lookups });
}

async function accessToken(h: Harness, scope: string[] = ['openid']): Promise<string> {
  return (await signIn(h, { scope })).access_token as string;
}

function getUserInfo(h: Harness, token: string) {
  return request(h.app).get('/userinfo').set('Authorization', `Bearer ${token}`);
}

describe('UserInfo (OpenID Connect Core §5.3)', () => {
  it('§5.3.2: GET with a Bearer access token answers the claims as JSON, sub first, Cache-Control: no-store', async () => {
    const h = await userInfoHarness();
    const res = await getUserInfo(h, await accessToken(h, ['openid', 'profile']));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body)[0]).toBe('sub');
    expect(res.body.sub).toBe('user-123');
    expect(h.lookups).toEqual([['user-123', ['openid', 'profile']]]);
    h.close();
  });

  it('§5.3.1: POST with the token in the Authorization header', async () => {
    const h = await userInfoHarness();
    const res = await request(h.app)
      .post('/userinfo')
      .set('Authorization', `Bearer ${await accessToken(h)}`);
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('user-123');
    h.close();
  });

  it('RFC 6750 §2.2: POST with access_token in a form body', async () => {
    const h = await userInfoHarness();
    const res = await request(h.app)
      .post('/userinfo')
      .type('form')
      .send(form({ access_token: await accessToken(h) }));
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('user-123');
    h.close();
  });

  it("behind the host's own express.urlencoded(), a POST's form-body token still works", async () => {
    const h = await userInfoHarness();
    const token = await accessToken(h);
    const codeStore = new MemoryCodeStore();
    const app = express()
      .use(express.urlencoded({ extended: false }))
      .use(
        createTokenRouter({
          issuer: ISSUER,
          codeStore,
          keyStore: await sharedKeyStore(),
          refreshTokenStore: h.refreshTokenStore,
          userInfo: () => ALICE,
        }),
      );
    const res = await request(app)
      .post('/userinfo')
      .type('form')
      .send(form({ access_token: token }));
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('user-123');
    codeStore.close();
    h.close();
  });

  it('RFC 6750 §3.1 invalid_request: a token in the header and the body ("more than one method"): 400', async () => {
    const h = await userInfoHarness();
    const token = await accessToken(h);
    const res = await request(h.app)
      .post('/userinfo')
      .set('Authorization', `Bearer ${token}`)
      .type('form')
      .send(form({ access_token: token }));
    expectError(res, 400, 'invalid_request');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+", error="invalid_request"/);
    h.close();
  });

  it('RFC 6750 §2.3: a token in the query is refused: 400 invalid_request', async () => {
    const h = await userInfoHarness();
    const res = await request(h.app).get(`/userinfo?access_token=${await accessToken(h)}`);
    expectError(res, 400, 'invalid_request');
    expect(h.lookups).toEqual([]);
    h.close();
  });

  it('RFC 6750 §3.1: no authentication information: 401 with a challenge without an error code', async () => {
    const h = await userInfoHarness();
    const res = await request(h.app).get('/userinfo');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}"`);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.body).not.toHaveProperty('error');
    h.close();
  });

  it.each([
    ['a JWT that is not one of ours', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
    ['not a JWT', 'abc.def'],
  ])('RFC 6750 §3.1 invalid_token: %s: 401 with error="invalid_token"', async (_name, token) => {
    const h = await userInfoHarness();
    const res = await getUserInfo(h, token);
    expectError(res, 401, 'invalid_token');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
    h.close();
  });

  it('an expired access token: 401 invalid_token', async () => {
    let now = Date.now();
    const h = await userInfoHarness({ now: () => now });
    const token = await accessToken(h);
    now += 301_000 + 5_000;
    expectError(await getUserInfo(h, token), 401, 'invalid_token');
    h.close();
  });

  it('an ID token is not an access token: 401 invalid_token', async () => {
    const h = await userInfoHarness();
    const { id_token: idToken } = await signIn(h);
    expectError(await getUserInfo(h, idToken as string), 401, 'invalid_token');
    h.close();
  });

  it('RFC 6750 §3.1 insufficient_scope: a token without openid: 403 with scope="openid"', async () => {
    const h = await userInfoHarness();
    const res = await getUserInfo(h, await accessToken(h, ['profile']));
    expectError(res, 403, 'insufficient_scope');
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope".*, scope="openid"$/);
    expect(h.lookups).toEqual([]);
    h.close();
  });

  it.each<[string, string[], Record<string, unknown>]>([
    ['openid alone', ['openid'], { sub: 'user-123', department: 'wonderland' }],
    [
      'profile',
      ['openid', 'profile'],
      {
        sub: 'user-123',
        name: 'Alice Liddell',
        given_name: 'Alice',
        preferred_username: 'alice',
        department: 'wonderland',
      },
    ],
    [
      'email',
      ['openid', 'email'],
      { sub: 'user-123', email: 'alice@example.com', email_verified: true, department: 'wonderland' },
    ],
    [
      'phone',
      ['openid', 'phone'],
      { sub: 'user-123', phone_number: '+1 555 0100', phone_number_verified: false, department: 'wonderland' },
    ],
    ['address', ['openid', 'address'], { sub: 'user-123', address: { country: 'GB' }, department: 'wonderland' }],
  ])('§5.4: with %s, the standard claims of the scopes not granted are left out', async (_name, scope, expected) => {
    const h = await userInfoHarness();
    expect((await getUserInfo(h, await accessToken(h, scope))).body).toEqual(expected);
    h.close();
  });

  it('§5.3.2 "The sub Claim in the UserInfo Response MUST be verified to exactly match the sub Claim in the ID Token": the callback cannot override sub, nor add token claims', async () => {
    const h = await harness({
      userInfo: () => ({ sub: 'someone-else', iss: 'https://evil.example', aud: 'x', exp: 1, email: 'a@b.example' }),
    });
    const { body } = await getUserInfo(h, await accessToken(h, ['openid', 'email']));
    expect(body).toEqual({ sub: 'user-123', email: 'a@b.example' });
    h.close();
  });

  it("a user the callback no longer knows: 401 invalid_token (the token's user is gone)", async () => {
    const h = await userInfoHarness();
    const res = await getUserInfo(h, (await signIn(h, { subject: 'user-gone' })).access_token as string);
    expectError(res, 401, 'invalid_token');
    h.close();
  });

  it.each<[string, () => unknown]>([
    [
      'throws',
      () => {
        throw new Error('db down');
      },
    ],
    ['rejects', () => Promise.reject(new Error('db down'))],
    ['gives a non-object', () => 'alice'],
    ['gives what JSON cannot hold', () => ({ n: 10n })],
  ])('a callback that %s: 503 temporarily_unavailable, nothing of the failure in the body', async (_name, lookup) => {
    const h = await harness({ userInfo: lookup as NonNullable<TokenRouterOptions['userInfo']> });
    const res = await getUserInfo(h, await accessToken(h));
    expectError(res, 503, 'temporarily_unavailable');
    expect(res.text).not.toContain('db down');
    h.close();
  });

  it('a refresh token revoked (RFC 7009) revokes the access tokens of its family here too: 401 invalid_token', async () => {
    const h = await userInfoHarness();
    const tokens = await signIn(h);
    expect((await getUserInfo(h, tokens.access_token as string)).status).toBe(200);
    const revoked = await request(h.app)
      .post('/oauth2/revoke')
      .type('form')
      .send(form({ client_id: CLIENT_ID, token: tokens.refresh_token as string }));
    expect(revoked.status).toBe(200);
    expectError(await getUserInfo(h, tokens.access_token as string), 401, 'invalid_token');
    h.close();
  });

  it('a key store that fails: 503 temporarily_unavailable', async () => {
    const keys = await sharedKeyStore();
    const token = await (async () => {
      const h = await userInfoHarness();
      const t = await accessToken(h);
      h.close();
      return t;
    })();
    const h = await userInfoHarness({
      keyStore: { signingKey: () => keys.signingKey(), publicJwks: () => Promise.reject(new Error('down')) },
    });
    expectError(await getUserInfo(h, token), 503, 'temporarily_unavailable');
    h.close();
  });

  it('other methods: 405 with Allow', async () => {
    const h = await userInfoHarness();
    const res = await request(h.app).put('/userinfo');
    expectError(res, 405, 'invalid_request');
    expect(res.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    h.close();
  });

  it('a malformed form body: 400 invalid_request, never a 500', async () => {
    const h = await userInfoHarness();
    expectError(await request(h.app).post('/userinfo').type('form').send('access_token=%zz'), 400, 'invalid_request');
    expectError(
      await request(h.app).post('/userinfo').type('form').send('access_token=a&access_token=b'),
      400,
      'invalid_request',
    );
    h.close();
  });

  it('an rfc9068 access token (typ at+jwt, aud the resource) works as well', async () => {
    const h = await userInfoHarness({ accessTokenFormat: 'rfc9068', accessTokenAudience: 'https://api.example.com' });
    const res = await getUserInfo(h, await accessToken(h, ['openid', 'email']));
    expect(res.body).toEqual({
      sub: 'user-123',
      email: 'alice@example.com',
      email_verified: true,
      department: 'wonderland',
    });
    h.close();
  });

  it('a token signed by the router for another issuer is refused', async () => {
    const h = await userInfoHarness();
    const { kid, alg, key } = await (await sharedKeyStore()).signingKey();
    const token = await new SignJWT({
      iss: 'https://other.example',
      sub: 'user-123',
      aud: CLIENT_ID,
      scope: ['openid'],
    })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti('x')
      .sign(key);
    expectError(await getUserInfo(h, token), 401, 'invalid_token');
    h.close();
  });
});

describe('UserInfo: CORS like the token endpoint', () => {
  it("an allowed origin (a client's redirect-URI origin) gets Access-Control-Allow-Origin, on success and on error, with the challenge exposed", async () => {
    const h = await userInfoHarness();
    const ok = await getUserInfo(h, await accessToken(h)).set('Origin', SPA_ORIGIN);
    expect(ok.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
    const refused = await request(h.app).get('/userinfo').set('Origin', SPA_ORIGIN);
    expect(refused.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
    expect(refused.headers['access-control-expose-headers']).toBe('WWW-Authenticate, DPoP-Nonce');
    const other = await getUserInfo(h, await accessToken(h)).set('Origin', 'https://evil.example');
    expect(other.headers).not.toHaveProperty('access-control-allow-origin');
    h.close();
  });

  it('a preflight from an allowed origin allows GET and POST with Authorization', async () => {
    const h = await userInfoHarness();
    const res = await request(h.app)
      .options('/userinfo')
      .set('Origin', SPA_ORIGIN)
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'authorization');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST');
    expect(res.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, DPoP');
    h.close();
  });
});

describe('UserInfo: discovery and options', () => {
  it('OIDC Discovery §3: userinfo_endpoint is listed when userInfo is given, at userinfoPath', async () => {
    const h = await userInfoHarness({ userinfoPath: '/oauth2/userinfo' });
    expect((await request(h.app).get('/.well-known/openid-configuration')).body.userinfo_endpoint).toBe(
      `${ISSUER}/oauth2/userinfo`,
    );
    expect((await getUserInfo(h, await accessToken(h))).status).toBe(404);
    expect(
      (
        await request(h.app)
          .get('/oauth2/userinfo')
          .set('Authorization', `Bearer ${await accessToken(h)}`)
      ).status,
    ).toBe(200);
    h.close();
  });

  it("without userInfo there is no UserInfo endpoint: the path is the host app's", async () => {
    const h = await harness();
    expect((await request(h.app).get('/userinfo')).status).toBe(404);
    expect((await request(h.app).get('/.well-known/openid-configuration')).body).not.toHaveProperty(
      'userinfo_endpoint',
    );
    h.close();
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['userinfoPath without userInfo', { userinfoPath: '/userinfo' }, 'userinfoPath'],
    ['userInfo not a function', { userInfo: {} }, 'userInfo'],
    [
      'userinfoPath equal to the logout path',
      { userInfo: () => ({}), endSession: () => {}, userinfoPath: '/logout' },
      'userinfoPath',
    ],
    [
      'discoveryMetadata.userinfo_endpoint beside userInfo',
      { userInfo: () => ({}), discoveryMetadata: { userinfo_endpoint: 'https://x.example/userinfo' } },
      'discoveryMetadata.userinfo_endpoint',
    ],
  ])('refuses %s at createTokenRouter', async (_name, options, option) => {
    const codeStore = new MemoryCodeStore();
    let thrown: unknown;
    try {
      express().use(createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore(), ...options }));
    } catch (error) {
      thrown = error;
    }
    codeStore.close();
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect({ code: (thrown as ConfigurationError).code, option: (thrown as ConfigurationError).option }).toEqual({
      code: 'ERR_OPTION_INVALID',
      option,
    });
  });
});
