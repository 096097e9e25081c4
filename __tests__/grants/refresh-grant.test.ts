import { jest } from '@jest/globals';
import { createLocalJWKSet, decodeJwt, type JWK, jwtVerify } from 'jose';
import request from 'supertest';
import { hashSecret } from '../../lib/crypto/secrets.js';
import type { ErrorProfile, KeyStore, RefreshTokenStore } from '../../lib/index.js';
import { MemoryRefreshTokenStore } from '../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  type Harness,
  harness,
  ISSUER,
  postToken,
  refreshForm,
  sharedKeyStore,
  signIn,
  TWO_CLIENTS,
} from '../support/helpers.js';

describe('refresh grant: success (RFC 6749 §6)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('answers 200 with new access, refresh and ID tokens, with the headers and in the order of docs/contract.md "Success"', async () => {
    const first = await signIn(h);
    const res = await postToken(h.app, refreshForm(first.refresh_token!));
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual([
      'access_token',
      'refresh_token',
      'scope',
      'id_token',
      'token_type',
      'expires_in',
    ]);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.scope).toBe('openid');
    expect(res.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{84}$/);
    expect(res.body.refresh_token).not.toBe(first.refresh_token);
    expect(res.body.access_token).not.toBe(first.access_token);
  });

  it('every use rotates (RFC 9700 §4.14.2): each new refresh token works once, in a chain', async () => {
    let token = (await signIn(h)).refresh_token!;
    for (let i = 0; i < 3; i++) {
      const res = await postToken(h.app, refreshForm(token));
      expect(res.status).toBe(200);
      token = res.body.refresh_token;
    }
  });

  it('the refreshed ID token keeps iss, sub, aud and azp and the original auth_time, acr and amr, with no nonce (OIDC Core §12.2)', async () => {
    const first = await signIn(h, {
      nonce: 'n-123',
      authTime: 1_700_000_000,
      acr: 'urn:example:loa:2',
      amr: ['pwd', 'otp'],
    });
    const res = await postToken(h.app, refreshForm(first.refresh_token!));
    const keys = createLocalJWKSet((await request(h.app).get('/oauth2/jwks')).body as { keys: JWK[] });
    const original = (await jwtVerify(first.id_token!, keys)).payload;
    const { payload } = await jwtVerify(res.body.id_token, keys, { issuer: ISSUER, audience: CLIENT_ID });
    expect(original.nonce).toBe('n-123');
    expect(payload).toMatchObject({ iss: original.iss, sub: original.sub, aud: original.aud, azp: CLIENT_ID });
    expect(payload).toMatchObject({ auth_time: 1_700_000_000, acr: 'urn:example:loa:2', amr: ['pwd', 'otp'] });
    expect(payload).not.toHaveProperty('nonce');
    expect(payload.jti).not.toBe(original.jti);
  });

  it("carries the host's extra claims into refreshed tokens", async () => {
    const first = await signIn(h, { accessTokenClaims: { tenant: 't1' }, idTokenClaims: { email: 'u@example.com' } });
    const res = await postToken(h.app, refreshForm(first.refresh_token!));
    expect(decodeJwt(res.body.access_token)).toMatchObject({ tenant: 't1', sub: 'user-123', aud: CLIENT_ID });
    expect(decodeJwt(res.body.id_token)).toMatchObject({ email: 'u@example.com' });
  });

  it('a scope may narrow the original scopes: the access token and the answer carry the narrower scope', async () => {
    const first = await signIn(h, { scope: ['openid', 'profile', 'api'] });
    const res = await postToken(h.app, refreshForm(first.refresh_token!, { scope: 'api' }));
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api');
    expect(decodeJwt(res.body.access_token).scope).toEqual(['api']);
    expect(res.body).not.toHaveProperty('id_token');
  });

  it('the new refresh token keeps the original scopes, so a later refresh may ask for all of them again', async () => {
    const first = await signIn(h, { scope: ['openid', 'api'] });
    const narrowed = await postToken(h.app, refreshForm(first.refresh_token!, { scope: 'api' }));
    const full = await postToken(h.app, refreshForm(narrowed.body.refresh_token));
    expect(full.status).toBe(200);
    expect(full.body.scope).toBe('openid api');
  });

  it('an empty scope parameter means the original scopes', async () => {
    const first = await signIn(h, { scope: ['openid', 'api'] });
    const res = await postToken(h.app, refreshForm(first.refresh_token!, { scope: '' }));
    expect(res.body.scope).toBe('openid api');
  });

  it('stores the new refresh token only as a hash, in the same family, with an idle expiry', async () => {
    const first = await signIn(h);
    const res = await postToken(h.app, refreshForm(first.refresh_token!));
    const found = await h.refreshTokenStore.find(hashSecret(res.body.refresh_token));
    const original = await h.refreshTokenStore.find(hashSecret(first.refresh_token!));
    expect(found).toBeDefined();
    expect(found!.familyId).toBe(original!.familyId);
    expect(found!.familyExpiresAt).toBe(original!.familyExpiresAt);
    expect(found!.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(JSON.stringify(found)).not.toContain(res.body.refresh_token);
  });
});

describe('refresh grant: reuse revokes the family (RFC 9700 §4.14.2)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ errorProfile: 'rfc6749' });
  });
  afterAll(() => h.close());

  it('presenting a spent token fails with 400 invalid_grant', async () => {
    const first = await signIn(h);
    expect((await postToken(h.app, refreshForm(first.refresh_token!))).status).toBe(200);
    const replay = await postToken(h.app, refreshForm(first.refresh_token!));
    expect({ status: replay.status, error: replay.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it("and revokes the whole family: the token issued in its place (the thief's or the victim's) stops working", async () => {
    const first = await signIn(h);
    const second = await postToken(h.app, refreshForm(first.refresh_token!));
    const third = await postToken(h.app, refreshForm(second.body.refresh_token));
    expect(third.status).toBe(200);
    // The oldest token comes back: every descendant, including the newest, is dead.
    expect((await postToken(h.app, refreshForm(first.refresh_token!))).status).toBe(400);
    const newest = await postToken(h.app, refreshForm(third.body.refresh_token));
    expect({ status: newest.status, error: newest.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('other families of the same user and client live on', async () => {
    const a = await signIn(h);
    const b = await signIn(h);
    await postToken(h.app, refreshForm(a.refresh_token!));
    await postToken(h.app, refreshForm(a.refresh_token!));
    expect((await postToken(h.app, refreshForm(b.refresh_token!))).status).toBe(200);
  });

  it('of N concurrent uses of one token, exactly one succeeds', async () => {
    const first = await signIn(h);
    const server = h.app.listen(0);
    const agent = request(server);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        agent.post('/oauth2/token').type('form').send(refreshForm(first.refresh_token!)),
      ),
    );
    server.close();
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(29);
    expect(answers.filter((res) => res.status === 400).every((res) => res.body.error === 'invalid_grant')).toBe(true);
  });

  it("a concurrent use is reuse: the winner's new token dies with the family, even saved after the revocation", async () => {
    const first = await signIn(h);
    const store = h.refreshTokenStore;
    const save = store.save.bind(store);
    const revokeFamily = store.revokeFamily.bind(store);
    let revoked!: () => void;
    const revocation = new Promise<void>((resolve) => (revoked = resolve));
    // Force the race's worst order: the winner stores its new token only after the loser revoked.
    const saveSpy = jest.spyOn(store, 'save').mockImplementation(async (...args) => {
      await revocation;
      return save(...args);
    });
    const revokeSpy = jest.spyOn(store, 'revokeFamily').mockImplementation(async (familyId) => {
      await revokeFamily(familyId);
      revoked();
    });
    const answers = await Promise.all([
      postToken(h.app, refreshForm(first.refresh_token!)),
      postToken(h.app, refreshForm(first.refresh_token!)),
    ]);
    saveSpy.mockRestore();
    revokeSpy.mockRestore();
    expect(answers.map((res) => res.status).sort()).toEqual([200, 400]);
    const winner = answers.find((res) => res.status === 200)!;
    expect((await postToken(h.app, refreshForm(winner.body.refresh_token))).status).toBe(400);
  });

  it('a code presented again revokes the family issued from it, however far it has rotated', async () => {
    const valid = await h.issue();
    const first = await postToken(h.app, valid);
    const rotated = await postToken(h.app, refreshForm(first.body.refresh_token));
    expect(rotated.status).toBe(200);
    expect((await postToken(h.app, valid)).status).toBe(400);
    expect((await postToken(h.app, refreshForm(rotated.body.refresh_token))).status).toBe(400);
  });
});

describe('refresh grant: a token works only for its client', () => {
  it('another client presenting it gets 400 invalid_grant, and the family is revoked', async () => {
    const h = await harness({ clients: TWO_CLIENTS });
    const first = await signIn(h);
    const stolen = await postToken(h.app, refreshForm(first.refresh_token!, { client_id: 'other' }));
    expect({ status: stolen.status, error: stolen.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    // Spent by that request, and its family ended: the rightful client signs in again.
    expect((await postToken(h.app, refreshForm(first.refresh_token!))).status).toBe(400);
    h.close();
  });

  it('without a client registry, a token is still matched against its client', async () => {
    const h = await harness({ clients: undefined as never });
    const first = await signIn(h);
    const res = await postToken(h.app, refreshForm(first.refresh_token!, { client_id: 'someone-else' }));
    expect(res.body.error).toBe('invalid_grant');
    h.close();
  });
});

describe('refresh grant: lifetimes', () => {
  it('idle lifetime (refreshTokenTtl): a token unused for that long fails', async () => {
    let now = 1_700_000_000_000;
    const h = await harness({ now: () => now, refreshTokenTtl: 3600 });
    const first = await signIn(h);
    now += 3599_000;
    const kept = await postToken(h.app, refreshForm(first.refresh_token!));
    expect(kept.status).toBe(200);
    now += 3600_000;
    const idle = await postToken(h.app, refreshForm(kept.body.refresh_token));
    expect({ status: idle.status, error: idle.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    h.close();
  });

  it('the router refuses an idle-expired token by its own clock, even from a store that never forgets', async () => {
    let now = 1_700_000_000_000;
    const forgetful = new MemoryRefreshTokenStore({ now: () => 0 });
    const h = await harness({ now: () => now, refreshTokenTtl: 3600, refreshTokenStore: forgetful });
    const first = await signIn(h);
    now += 3600_000;
    expect((await postToken(h.app, refreshForm(first.refresh_token!))).body.error).toBe('invalid_grant');
    forgetful.close();
    h.close();
  });

  it('absolute lifetime (refreshTokenMaxAge): a family ends however often it rotates', async () => {
    let now = 1_700_000_000_000;
    const h = await harness({ now: () => now, refreshTokenTtl: 3600, refreshTokenMaxAge: 3 * 3600 });
    let token = (await signIn(h)).refresh_token!;
    // Used every 50 minutes, well within the idle lifetime: at 50, 100 and 150 minutes.
    for (let use = 1; use <= 3; use++) {
      now += 3000_000;
      const res = await postToken(h.app, refreshForm(token));
      expect(res.status).toBe(200);
      token = res.body.refresh_token;
    }
    now = 1_700_000_000_000 + 3 * 3600_000;
    const ended = await postToken(h.app, refreshForm(token));
    expect({ status: ended.status, error: ended.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    h.close();
  });

  it("a rotated token's idle expiry never passes the family's end", async () => {
    let now = 1_700_000_000_000;
    const h = await harness({ now: () => now, refreshTokenTtl: 3600, refreshTokenMaxAge: 4000 });
    const first = await signIn(h);
    now += 3000_000;
    const res = await postToken(h.app, refreshForm(first.refresh_token!));
    const record = await h.refreshTokenStore.find(hashSecret(res.body.refresh_token));
    expect(record!.expiresAt).toBe(1_700_000_000 + 4000);
    h.close();
  });

  it("the store is told the idle expiry, capped by the family's end", async () => {
    const h = await harness({ now: () => 1_700_000_000_000, refreshTokenTtl: 3600 });
    const rotateAndSave = jest.spyOn(h.refreshTokenStore, 'rotateAndSave');
    const first = await signIn(h);
    // The first token is stored by the code exchange; its successor by the atomic rotation.
    expect((await h.refreshTokenStore.find(hashSecret(first.refresh_token!)))?.expiresAt).toBe(1_700_003_600);
    await postToken(h.app, refreshForm(first.refresh_token!));
    expect(rotateAndSave.mock.calls.map((call) => call[1].expiresAt)).toEqual([1_700_003_600]);
    h.close();
  });
});

describe('refresh grant: scope (RFC 6749 §6, §3.3)', () => {
  it.each(['ciam', 'rfc6749'] as const)('%s profile: widening the scope gets 400 invalid_scope', async (profile) => {
    const h = await harness({ errorProfile: profile });
    const first = await signIn(h, { scope: ['openid'] });
    const res = await postToken(h.app, refreshForm(first.refresh_token!, { scope: 'openid admin' }));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_scope' });
    h.close();
  });

  it('a refused widening, coming after the token was spent, ends the family', async () => {
    const h = await harness();
    const first = await signIn(h, { scope: ['openid'] });
    await postToken(h.app, refreshForm(first.refresh_token!, { scope: 'admin' }));
    expect((await postToken(h.app, refreshForm(first.refresh_token!))).body.error).toBe('invalid_grant');
    h.close();
  });

  it.each([
    ['a double space', 'openid  api'],
    ['a leading space', ' openid'],
    ['a quote', 'open"id'],
    ['a backslash', 'open\\id'],
  ])('a malformed scope (%s) gets 400 invalid_scope, and does not spend the token', async (_name, scope) => {
    const h = await harness({ errorProfile: 'rfc6749' });
    const first = await signIn(h);
    const res = await postToken(h.app, refreshForm(first.refresh_token!, { scope }));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_scope' });
    expect((await postToken(h.app, refreshForm(first.refresh_token!))).status).toBe(200);
    h.close();
  });
});

/** Both profiles answer refresh errors per RFC 6749 §5.2; only client errors differ, as for codes. */
describe.each(['ciam', 'rfc6749'] as const)('refresh grant errors under the %s profile', (profile: ErrorProfile) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ errorProfile: profile, clients: TWO_CLIENTS });
  });
  afterAll(() => h.close());

  it('refresh_token missing: 400 invalid_request', async () => {
    expectError(await postToken(h.app, { client_id: CLIENT_ID, grant_type: 'refresh_token' }), 400, 'invalid_request');
  });

  it('refresh_token empty: 400 invalid_request', async () => {
    expectError(await postToken(h.app, refreshForm('')), 400, 'invalid_request');
  });

  it('refresh_token over 512 characters: 400 invalid_request', async () => {
    expectError(await postToken(h.app, refreshForm('r'.repeat(513))), 400, 'invalid_request');
  });

  it('refresh_token repeated: 400 invalid_request', async () => {
    const first = await signIn(h);
    const body = `${new URLSearchParams(refreshForm(first.refresh_token!))}&refresh_token=again`;
    expectError(await postToken(h.app, body), 400, 'invalid_request');
  });

  it('refresh_token unknown: 400 invalid_grant', async () => {
    expectError(await postToken(h.app, refreshForm('never-issued')), 400, 'invalid_grant');
  });

  it('client_id missing: 400 invalid_request', async () => {
    const first = await signIn(h);
    expectError(
      await postToken(h.app, { grant_type: 'refresh_token', refresh_token: first.refresh_token! }),
      400,
      'invalid_request',
    );
  });

  it(`client_id unknown to the registry: ${profile === 'ciam' ? '400 invalid_request' : '401 invalid_client'}, and the token is not spent`, async () => {
    const first = await signIn(h);
    const res = await postToken(h.app, refreshForm(first.refresh_token!, { client_id: 'stranger' }));
    if (profile === 'ciam') expectError(res, 400, 'invalid_request');
    else expectError(res, 401, 'invalid_client');
    expect((await postToken(h.app, refreshForm(first.refresh_token!))).status).toBe(200);
  });

  it('a token of another client: 400 invalid_grant', async () => {
    const first = await signIn(h);
    expectError(
      await postToken(h.app, refreshForm(first.refresh_token!, { client_id: 'other' })),
      400,
      'invalid_grant',
    );
  });

  it('a spent token: 400 invalid_grant', async () => {
    const first = await signIn(h);
    await postToken(h.app, refreshForm(first.refresh_token!));
    expectError(await postToken(h.app, refreshForm(first.refresh_token!)), 400, 'invalid_grant');
  });

  it('a revoked token: 400 invalid_grant', async () => {
    const first = await signIn(h);
    const record = await h.refreshTokenStore.find(hashSecret(first.refresh_token!));
    await h.refreshTokenStore.revokeFamily(record!.familyId);
    expectError(await postToken(h.app, refreshForm(first.refresh_token!)), 400, 'invalid_grant');
  });

  it('never echoes the refresh token', async () => {
    const first = await signIn(h);
    await postToken(h.app, refreshForm(first.refresh_token!));
    const res = await postToken(h.app, refreshForm(first.refresh_token!));
    expect(res.text).not.toContain(first.refresh_token);
  });
});

describe('refresh grant: order of checks and adapter failures', () => {
  it('the signing key is fetched before the token is spent: a key outage costs nothing', async () => {
    const keyStore = await sharedKeyStore();
    let keyDown = true;
    const flaky: KeyStore = {
      signingKey: () => (keyDown ? Promise.reject(new Error('hsm down')) : keyStore.signingKey()),
      publicJwks: () => keyStore.publicJwks(),
    };
    const h = await harness({ keyStore: keyStore });
    const first = await signIn(h);
    const h2 = await harness({ keyStore: flaky, refreshTokenStore: h.refreshTokenStore });
    const rotate = jest.spyOn(h.refreshTokenStore, 'rotate');
    const res = await postToken(h2.app, refreshForm(first.refresh_token!));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
    expect(rotate).not.toHaveBeenCalled();
    keyDown = false;
    expect((await postToken(h2.app, refreshForm(first.refresh_token!))).status).toBe(200);
    h.close();
    h2.close();
  });

  it('an unknown client is refused before the token is spent (step 5 before 7)', async () => {
    const h = await harness();
    const rotate = jest.spyOn(h.refreshTokenStore, 'rotate');
    const res = await postToken(h.app, refreshForm('x'.repeat(128), { client_id: 'stranger' }));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    expect(rotate).not.toHaveBeenCalled();
    h.close();
  });

  it('the refresh-token store failing to rotate gives 503, with no internals', async () => {
    const failing = new MemoryRefreshTokenStore();
    failing.rotate = () => Promise.reject(new Error('ECONNREFUSED 10.0.0.7:6379'));
    const h = await harness({ refreshTokenStore: failing as RefreshTokenStore });
    const res = await postToken(h.app, refreshForm('x'.repeat(128)));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
    expect(res.text).not.toContain('ECONNREFUSED');
    failing.close();
    h.close();
  });

  it("grant_type refresh_token does not require the code grant's parameters", async () => {
    const h = await harness();
    const first = await signIn(h);
    const res = await postToken(h.app, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: CLIENT_ID,
    });
    expect(res.status).toBe(200);
    h.close();
  });
});
