import { jest } from '@jest/globals';
import request from 'supertest';
import { MemoryRefreshTokenStore, type RefreshTokenStore } from '../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  form,
  type Harness,
  harness,
  postToken,
  refreshForm,
  SPA_ORIGIN,
  signIn,
  TWO_CLIENTS,
} from '../support/helpers.js';

/** RFC 7009 §2.1: a revocation request. */
function revoke(h: Harness, body: string | Record<string, string>, path = '/oauth2/revoke') {
  return request(h.app)
    .post(path)
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .send(typeof body === 'string' ? body : form(body));
}

function refresh(h: Harness, refreshToken: string, clientId = CLIENT_ID) {
  return postToken(h.app, refreshForm(refreshToken, { client_id: clientId }));
}

describe('revocation endpoint (RFC 7009)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ clients: TWO_CLIENTS });
  });
  afterAll(() => h.close());

  it('revokes a refresh token: 200, no-store, and the token no longer refreshes', async () => {
    const tokens = await signIn(h);
    const res = await revoke(h, {
      client_id: CLIENT_ID,
      token: tokens.refresh_token!,
      token_type_hint: 'refresh_token',
    });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    // RFC 7009 §2.2: the body is ignored by the client; an empty JSON object, which every JSON reader takes.
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.text).toBe('{}');
    const after = await refresh(h, tokens.refresh_token!);
    expect({ status: after.status, error: after.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it("a revoked refresh token's family is dead: the tokens rotated from it fail too", async () => {
    const tokens = await signIn(h);
    const rotated = await refresh(h, tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    // The client revokes the token it has now; the older, spent one is of the same family.
    expect((await revoke(h, { client_id: CLIENT_ID, token: rotated.body.refresh_token })).status).toBe(200);
    expect((await refresh(h, rotated.body.refresh_token)).status).toBe(400);
  });

  it('revoking a spent token of the family also ends it', async () => {
    const tokens = await signIn(h);
    const rotated = await refresh(h, tokens.refresh_token!);
    expect((await revoke(h, { client_id: CLIENT_ID, token: tokens.refresh_token! })).status).toBe(200);
    expect((await refresh(h, rotated.body.refresh_token)).status).toBe(400);
  });

  it('works without a hint, and whatever the hint says (RFC 7009 §2.1: only a hint)', async () => {
    for (const hint of [undefined, 'access_token', 'something_else']) {
      const tokens = await signIn(h);
      const body = {
        client_id: CLIENT_ID,
        token: tokens.refresh_token!,
        ...(hint === undefined ? {} : { token_type_hint: hint }),
      };
      expect((await revoke(h, body)).status).toBe(200);
      expect((await refresh(h, tokens.refresh_token!)).status).toBe(400);
    }
  });

  it('answers 200 for an unknown token (RFC 7009 §2.2)', async () => {
    expect((await revoke(h, { client_id: CLIENT_ID, token: 'never-issued' })).status).toBe(200);
  });

  it('answers 200 for an access token, which simply runs out', async () => {
    const tokens = await signIn(h);
    expect(
      (await revoke(h, { client_id: CLIENT_ID, token: tokens.access_token!, token_type_hint: 'access_token' })).status,
    ).toBe(200);
  });

  it("refuses silently to revoke another client's token (RFC 7009 §2.1): 200, and the token still works", async () => {
    const tokens = await signIn(h);
    expect((await revoke(h, { client_id: 'other', token: tokens.refresh_token! })).status).toBe(200);
    expect((await refresh(h, tokens.refresh_token!)).status).toBe(200);
  });

  it('leaves other families alone', async () => {
    const a = await signIn(h);
    const b = await signIn(h);
    await revoke(h, { client_id: CLIENT_ID, token: a.refresh_token! });
    expect((await refresh(h, b.refresh_token!)).status).toBe(200);
  });

  it('ignores unknown parameters', async () => {
    const tokens = await signIn(h);
    expect(
      (await revoke(h, `${form({ client_id: CLIENT_ID, token: tokens.refresh_token! })}&foo=1&foo=2`)).status,
    ).toBe(200);
  });
});

describe.each(['ciam', 'rfc6749'] as const)('revocation errors under the %s profile', (profile) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ errorProfile: profile });
  });
  afterAll(() => h.close());

  it('token missing: 400 invalid_request', async () => {
    expectError(await revoke(h, { client_id: CLIENT_ID }), 400, 'invalid_request');
  });

  it('token empty: 400 invalid_request', async () => {
    expectError(await revoke(h, { client_id: CLIENT_ID, token: '' }), 400, 'invalid_request');
  });

  it('client_id missing: 400 invalid_request', async () => {
    expectError(await revoke(h, { token: 'x' }), 400, 'invalid_request');
  });

  it('a known parameter repeated: 400 invalid_request', async () => {
    expectError(await revoke(h, 'client_id=web&token=a&token=b'), 400, 'invalid_request');
  });

  it(`client_id unknown to the registry: ${profile === 'ciam' ? '400 invalid_request' : '401 invalid_client'}`, async () => {
    const res = await revoke(h, { client_id: 'stranger', token: 'x' });
    if (profile === 'ciam') expectError(res, 400, 'invalid_request');
    else expectError(res, 401, 'invalid_client');
  });

  it('a wrong content type: 400 invalid_request', async () => {
    const res = await request(h.app)
      .post('/oauth2/revoke')
      .set('Content-Type', 'application/json')
      .send('{"token":"x"}');
    expectError(res, 400, 'invalid_request');
  });

  it('a method other than POST or OPTIONS: 405 with Allow', async () => {
    const res = await request(h.app).get('/oauth2/revoke');
    expectError(res, 405, 'invalid_request');
    expect(res.headers.allow).toBe('POST, OPTIONS');
  });

  it('body over the size limit: 413', async () => {
    expectError(await revoke(h, { client_id: CLIENT_ID, token: 'x'.repeat(17 * 1024) }), 413, 'invalid_request');
  });
});

describe('revocation endpoint: CORS, paths and stores', () => {
  it('answers a preflight from an allowed origin like the token path, and none from others', async () => {
    const h = await harness();
    const allowed = await request(h.app)
      .options('/oauth2/revoke')
      .set('Origin', SPA_ORIGIN)
      .set('Access-Control-Request-Method', 'POST');
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
    expect(allowed.headers['access-control-allow-methods']).toBe('POST');
    const refused = await request(h.app).options('/oauth2/revoke').set('Origin', 'https://evil.example');
    expect(refused.headers).not.toHaveProperty('access-control-allow-origin');
    const tokens = await signIn(h);
    const actual = await revoke(h, { client_id: CLIENT_ID, token: tokens.refresh_token! }).set('Origin', SPA_ORIGIN);
    expect(actual.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
    h.close();
  });

  it('follows revocationPath, and is left out with revocationPath: false', async () => {
    const moved = await harness({ revocationPath: '/revoke' });
    const tokens = await signIn(moved);
    expect((await revoke(moved, { client_id: CLIENT_ID, token: tokens.refresh_token! }, '/revoke')).status).toBe(200);
    expect((await revoke(moved, { client_id: CLIENT_ID, token: 'x' })).status).toBe(404);
    moved.close();
    const off = await harness({ revocationPath: false });
    expect((await revoke(off, { client_id: CLIENT_ID, token: 'x' })).status).toBe(404);
    off.close();
  });

  it('looks the token up with find() and never spends it', async () => {
    const h = await harness({ clients: TWO_CLIENTS });
    const rotate = jest.spyOn(h.refreshTokenStore, 'rotate');
    const tokens = await signIn(h);
    await revoke(h, { client_id: 'other', token: tokens.refresh_token! });
    await revoke(h, { client_id: CLIENT_ID, token: tokens.refresh_token! });
    expect(rotate).not.toHaveBeenCalled();
    h.close();
  });

  it('with a store that has no find(), spends the token with rotate() to learn its client, and still revokes the family', async () => {
    const store = new MemoryRefreshTokenStore();
    const withoutFind: RefreshTokenStore = {
      save: (key, record, expiresAt) => store.save(key, record, expiresAt),
      rotate: (key) => store.rotate(key),
      revokeFamily: (familyId) => store.revokeFamily(familyId),
    };
    const h = await harness({ refreshTokenStore: withoutFind });
    const tokens = await signIn(h);
    expect((await revoke(h, { client_id: CLIENT_ID, token: tokens.refresh_token! })).status).toBe(200);
    expect((await refresh(h, tokens.refresh_token!)).status).toBe(400);
    store.close();
    h.close();
  });

  it('a store failure gives 503 temporarily_unavailable, with no internals', async () => {
    const failing = new MemoryRefreshTokenStore();
    failing.find = () => Promise.reject(new Error('ECONNREFUSED 10.0.0.7:6379'));
    const h = await harness({ refreshTokenStore: failing });
    const res = await revoke(h, { client_id: CLIENT_ID, token: 'x' });
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
    expect(res.text).not.toContain('ECONNREFUSED');
    failing.close();
    h.close();
  });

  it('never echoes the token', async () => {
    const h = await harness();
    const tokens = await signIn(h);
    const res = await revoke(h, `${form({ client_id: CLIENT_ID, token: tokens.refresh_token! })}&token=again`);
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(tokens.refresh_token);
    h.close();
  });
});
