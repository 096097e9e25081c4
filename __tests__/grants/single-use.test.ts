import { jest } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { hashSecret } from '../../lib/crypto/secrets.js';
import {
  type AuthorizationCodeStore,
  createTokenRouter,
  issueAuthorizationCode,
  type KeyStore,
  MemoryCodeStore,
  MemoryRefreshTokenStore,
  type RefreshTokenStore,
} from '../../lib/index.js';
import {
  CLIENT_ID,
  harness,
  ISSUER,
  pkcePair,
  postToken,
  REDIRECT_URI,
  sharedKeyStore,
  TWO_CLIENTS,
} from '../support/helpers.js';

describe('single use, and replay (docs/contract.md "Single use, and replay")', () => {
  it('a code is redeemed at most once', async () => {
    const h = await harness();
    const valid = await h.issue();
    expect((await postToken(h.app, valid)).status).toBe(200);
    expect((await postToken(h.app, valid)).status).toBe(401);
    h.close();
  });

  it('of N concurrent requests with the same valid code, exactly one gets tokens', async () => {
    const h = await harness();
    const valid = await h.issue();
    const server = h.app.listen(0);
    const agent = request(server);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => agent.post('/oauth2/token').type('form').send(valid)),
    );
    server.close();
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(49);
    h.close();
  });

  it('a request with a wrong verifier consumes the code, so the right verifier cannot follow', async () => {
    const h = await harness();
    const valid = await h.issue();
    expect((await postToken(h.app, { ...valid, code_verifier: pkcePair().verifier })).status).toBe(401);
    expect((await postToken(h.app, valid)).status).toBe(401);
    h.close();
  });

  it('a request with a wrong redirect_uri consumes the code too', async () => {
    const h = await harness();
    const valid = await h.issue();
    expect((await postToken(h.app, { ...valid, redirect_uri: 'https://app.example.com/other' })).status).toBe(401);
    expect((await postToken(h.app, valid)).status).toBe(401);
    h.close();
  });

  it('a request failing steps 1–6 (a malformed verifier) does not consume the code', async () => {
    const h = await harness();
    const valid = await h.issue();
    expect((await postToken(h.app, { ...valid, code_verifier: 'short' })).status).toBe(401);
    expect((await postToken(h.app, valid)).status).toBe(200);
    h.close();
  });

  it('a code presented again after it was redeemed revokes the refresh tokens issued from it', async () => {
    const h = await harness();
    const valid = await h.issue();
    const first = await postToken(h.app, valid);
    expect(first.status).toBe(200);
    expect((await postToken(h.app, valid)).status).toBe(401);
    const result = await h.refreshTokenStore.rotate(hashSecret(first.body.refresh_token));
    expect(result.outcome).toBe('unknown');
    h.close();
  });

  it.each([
    ['another client', { client_id: 'other' }],
    ['another redirect URI', { redirect_uri: 'https://app.example.com/elsewhere' }],
    ['another verifier', { code_verifier: pkcePair().verifier }],
  ])(
    'a replay with %s is refused without revoking: a used code alone is no lever to sign its user out',
    async (_case, change) => {
      const h = await harness({ clients: TWO_CLIENTS });
      const valid = await h.issue();
      const first = await postToken(h.app, valid);
      expect(first.status).toBe(200);
      expect((await postToken(h.app, { ...valid, ...change })).status).toBe(401);
      expect((await h.refreshTokenStore.rotate(hashSecret(first.body.refresh_token))).outcome).toBe('rotated');
      h.close();
    },
  );

  it('without a replay, the refresh token issued from a code stays live', async () => {
    const h = await harness();
    const first = await postToken(h.app, await h.issue());
    expect((await h.refreshTokenStore.rotate(hashSecret(first.body.refresh_token))).outcome).toBe('rotated');
    h.close();
  });

  it('codes expire (default 600 s) and the router refuses an expired code by its own clock', async () => {
    let now = 1_700_000_000_000;
    // A store that never forgets: the router's clock still refuses the code.
    const neverForgets: AuthorizationCodeStore = new MemoryCodeStore({ now: () => 0 });
    const keyStore = await sharedKeyStore();
    const app = express().use(createTokenRouter({ issuer: ISSUER, codeStore: neverForgets, keyStore, now: () => now }));
    const { verifier, challenge } = pkcePair();
    const grant = {
      clientId: CLIENT_ID,
      redirectUri: REDIRECT_URI,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256' as const,
      subject: 's',
      scope: ['openid'],
    };
    const code = await issueAuthorizationCode(neverForgets, grant, { now: () => now });
    now += 600_000;
    const res = await postToken(app, {
      client_id: CLIENT_ID,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(res.status).toBe(401);
    const fresh = await issueAuthorizationCode(neverForgets, grant, { now: () => now });
    now += 599_000;
    expect(
      (
        await postToken(app, {
          client_id: CLIENT_ID,
          grant_type: 'authorization_code',
          code: fresh,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        })
      ).status,
    ).toBe(200);
  });
});

describe("the router's clock (DESIGN: `now` is used for every time decision)", () => {
  it('reaches the default refresh-token store: a token issued at a clock far in the past still refreshes', async () => {
    const now = () => 1_000_000_000_000; // 2001, so Date.now would find every token long expired
    const codeStore = new MemoryCodeStore({ now });
    const app = express().use(createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore(), now }));
    const { verifier, challenge } = pkcePair();
    const code = await issueAuthorizationCode(
      codeStore,
      {
        clientId: CLIENT_ID,
        redirectUri: REDIRECT_URI,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        subject: 's',
        scope: ['openid'],
      },
      { now },
    );
    const first = await postToken(app, {
      client_id: CLIENT_ID,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(first.status).toBe(200);
    const refreshed = await postToken(app, {
      client_id: CLIENT_ID,
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    codeStore.close();
  });
});

describe('adapter failures (docs/contract.md "Errors": 503 temporarily_unavailable, no internals)', () => {
  const secretMessage = 'connect ECONNREFUSED 10.0.0.7:6379 password=hunter2';

  async function appWith(overrides: {
    codeStore?: AuthorizationCodeStore;
    keyStore?: KeyStore;
    refreshTokenStore?: RefreshTokenStore;
  }) {
    const codeStore = new MemoryCodeStore();
    const keyStore = await sharedKeyStore();
    const app = express().use(
      createTokenRouter({
        issuer: ISSUER,
        codeStore: overrides.codeStore ?? codeStore,
        keyStore: overrides.keyStore ?? keyStore,
        ...(overrides.refreshTokenStore ? { refreshTokenStore: overrides.refreshTokenStore } : {}),
      }),
    );
    const { verifier, challenge } = pkcePair();
    const code = await issueAuthorizationCode(codeStore, {
      clientId: CLIENT_ID,
      redirectUri: REDIRECT_URI,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      subject: 's',
      scope: ['openid'],
    });
    const valid = {
      client_id: CLIENT_ID,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    };
    return { app, codeStore, keyStore, valid };
  }

  function expectUnavailable(res: request.Response) {
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.text).not.toContain('ECONNREFUSED');
    expect(res.text).not.toContain('hunter2');
  }

  it('the code store failing to redeem gives 503', async () => {
    const failing: AuthorizationCodeStore = {
      save: () => Promise.resolve(),
      redeem: () => Promise.reject(new Error(secretMessage)),
    };
    const { app, valid } = await appWith({ codeStore: failing });
    expectUnavailable(await postToken(app, valid));
  });

  it('a code store that throws synchronously gives 503', async () => {
    const failing: AuthorizationCodeStore = {
      save: () => Promise.resolve(),
      redeem: () => {
        throw new Error(secretMessage);
      },
    };
    const { app, valid } = await appWith({ codeStore: failing });
    expectUnavailable(await postToken(app, valid));
  });

  it('with stores that have no atomic exchange, a failed save gives 503, and the code stays spent (docs/contract.md "When a store fails")', async () => {
    // A third-party pair written against the first contract: redeem, then save.
    const memory = new MemoryRefreshTokenStore();
    let saveFails = true;
    const failing: RefreshTokenStore = {
      save: (...args) => (saveFails ? Promise.reject(new Error(secretMessage)) : memory.save(...args)),
      rotate: (key) => memory.rotate(key),
      revokeFamily: (familyId) => memory.revokeFamily(familyId),
    };
    const { app, valid } = await appWith({ refreshTokenStore: failing });
    expectUnavailable(await postToken(app, valid));
    saveFails = false;
    expect((await postToken(app, valid)).status).toBe(401);
    memory.close();
  });

  it('with the memory stores, the exchange is one step: a saved first token is never missing for a redeemed code', async () => {
    const refreshTokenStore = new MemoryRefreshTokenStore();
    const save = jest.spyOn(refreshTokenStore, 'save');
    const { app, valid } = await appWith({ refreshTokenStore });
    const res = await postToken(app, valid);
    expect(res.status).toBe(200);
    // The first token was stored by the exchange itself, not by a separate save afterwards.
    expect(save).not.toHaveBeenCalled();
    expect((await refreshTokenStore.rotate(hashSecret(res.body.refresh_token))).outcome).toBe('rotated');
    refreshTokenStore.close();
  });

  it('the client registry failing gives 503', async () => {
    const codeStore = new MemoryCodeStore();
    const app = express().use(
      createTokenRouter({
        issuer: ISSUER,
        codeStore,
        keyStore: await sharedKeyStore(),
        clients: { findClient: () => Promise.reject(new Error(secretMessage)) },
      }),
    );
    expectUnavailable(
      await postToken(app, {
        client_id: 'web',
        grant_type: 'authorization_code',
        code: 'c',
        redirect_uri: REDIRECT_URI,
        code_verifier: 'v'.repeat(43),
      }),
    );
    codeStore.close();
  });

  it('the key store failing gives 503, before the code is spent', async () => {
    const keyStore = await sharedKeyStore();
    let keyDown = true;
    const flaky: KeyStore = {
      signingKey: () => (keyDown ? Promise.reject(new Error(secretMessage)) : keyStore.signingKey()),
      publicJwks: () => keyStore.publicJwks(),
    };
    const { app, codeStore, valid } = await appWith({ keyStore: flaky });
    const redeem = jest.spyOn(codeStore, 'redeem');
    expectUnavailable(await postToken(app, valid));
    expect(redeem).not.toHaveBeenCalled();
    keyDown = false;
    expect((await postToken(app, valid)).status).toBe(200);
  });

  it('5 before 6: an unknown client is refused as such even while the key store is down', async () => {
    const down: KeyStore = {
      signingKey: () => Promise.reject(new Error(secretMessage)),
      publicJwks: () => Promise.reject(new Error(secretMessage)),
    };
    const codeStore = new MemoryCodeStore();
    const app = express().use(
      createTokenRouter({
        issuer: ISSUER,
        codeStore,
        keyStore: down,
        clients: [{ clientId: 'web', redirectUris: [REDIRECT_URI] }],
      }),
    );
    const res = await postToken(app, {
      client_id: 'stranger',
      grant_type: 'authorization_code',
      code: 'c',
      redirect_uri: REDIRECT_URI,
      code_verifier: 'v'.repeat(43),
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    codeStore.close();
  });

  it('a key store that throws synchronously gives 503, before the code is spent', async () => {
    const throwing: KeyStore = {
      signingKey: () => {
        throw new Error(secretMessage);
      },
      publicJwks: () => Promise.resolve({ keys: [] }),
    };
    const { app, codeStore, valid } = await appWith({ keyStore: throwing });
    const redeem = jest.spyOn(codeStore, 'redeem');
    expectUnavailable(await postToken(app, valid));
    expect(redeem).not.toHaveBeenCalled();
  });

  it('the key store failing on the JWKS path gives 503', async () => {
    const failing: KeyStore = {
      signingKey: () => Promise.reject(new Error(secretMessage)),
      publicJwks: () => Promise.reject(new Error(secretMessage)),
    };
    const { app } = await appWith({ keyStore: failing });
    expectUnavailable(await request(app).get('/oauth2/jwks'));
  });
});
