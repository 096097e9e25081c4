import express from 'express';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import request from 'supertest';
import {
  MemoryRefreshTokenStore,
  PostgresRefreshTokenStore,
  RedisRefreshTokenStore,
  type RefreshTokenStore,
  requireAccessToken,
} from '../../lib/index.js';
import { accessTokenOf } from '../support/access-tokens.js';
import { CLIENT_ID, harness, ISSUER } from '../support/helpers.js';
import { createPool, dropTables, freshTable } from '../support/postgres-fixture.js';
import { connectRedis, freshPrefix } from '../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../support/services.js';

/**
 * The vendor's revoke API revokes a refresh token and the access tokens issued with it: with
 * checkRevocation, an access token of a revoked refresh-token family is invalid_token.
 */
function revocationRules(storeOf: () => Promise<{ store: RefreshTokenStore; close: () => Promise<void> }>): void {
  it('RFC 7009 §2.1: once its refresh token is revoked, the access token is refused (invalid_token); others pass', async () => {
    const { store, close } = await storeOf();
    const h = await harness({ refreshTokenStore: store });
    const revoked = await accessTokenOf(h);
    const kept = await accessTokenOf(h);
    const app = express();
    app.get(
      '/api/profile',
      requireAccessToken({ keyStore: h.keyStore, issuer: ISSUER, checkRevocation: true, refreshTokenStore: store }),
      (req, res) => {
        res.json({ subject: req.auth?.subject });
      },
    );
    const call = (token: string) => request(app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expect((await call(revoked.accessToken)).status).toBe(200);
    const revocation = await request(h.app)
      .post('/oauth2/revoke')
      .type('form')
      .send({ token: revoked.refreshToken, client_id: CLIENT_ID });
    expect(revocation.status).toBe(200);
    const refused = await call(revoked.accessToken);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_token');
    expect(refused.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect((await call(kept.accessToken)).status).toBe(200);
    h.close();
    await close();
  });
}

describe('requireAccessToken checkRevocation: MemoryRefreshTokenStore', () => {
  revocationRules(async () => {
    const store = new MemoryRefreshTokenStore();
    return { store, close: async () => store.close() };
  });

  it('a refresh-token store that fails is 503 temporarily_unavailable, never a 500', async () => {
    const h = await harness();
    const { accessToken } = await accessTokenOf(h);
    const failing: RefreshTokenStore = {
      save: () => Promise.resolve(),
      rotate: () => Promise.resolve({ outcome: 'unknown' }),
      revokeFamily: () => Promise.resolve(),
      isFamilyRevoked: () => Promise.reject(new Error('store down')),
    };
    const app = express();
    app.get(
      '/api/profile',
      requireAccessToken({ keyStore: h.keyStore, issuer: ISSUER, checkRevocation: true, refreshTokenStore: failing }),
      (_req, res) => {
        res.json({});
      },
    );
    const res = await request(app).get('/api/profile').set('Authorization', `Bearer ${accessToken}`);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    h.close();
  });

  it('a token that names no refresh-token family is refused when revocation is checked', async () => {
    const h = await harness();
    const store = new MemoryRefreshTokenStore();
    const { claims } = await accessTokenOf(h);
    const { refresh_family: _family, ...withoutFamily } = claims;
    const key = await h.keyStore.signingKey();
    const { SignJWT } = await import('jose');
    const token = await new SignJWT(withoutFamily)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.key);
    const app = express();
    app.get(
      '/api/profile',
      requireAccessToken({ keyStore: h.keyStore, issuer: ISSUER, checkRevocation: true, refreshTokenStore: store }),
      (_req, res) => {
        res.json({});
      },
    );
    const res = await request(app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
    store.close();
    h.close();
  });
});

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'resource-revocation-redis',
  'requireAccessToken checkRevocation: RedisRefreshTokenStore on a real server',
  (url) => {
    let client: Redis;
    beforeAll(async () => {
      client = await connectRedis(url);
    });
    afterAll(async () => {
      await client.quit();
    });
    revocationRules(async () => ({
      store: new RedisRefreshTokenStore({ client, prefix: freshPrefix() }),
      close: async () => undefined,
    }));
  },
);

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'resource-revocation-postgres',
  'requireAccessToken checkRevocation: PostgresRefreshTokenStore on a real server',
  (url) => {
    let pool: pg.Pool;
    beforeAll(() => {
      pool = createPool(url);
    });
    afterAll(async () => {
      await pool.end();
    });
    revocationRules(async () => {
      const table = freshTable('pkce_res');
      const store = new PostgresRefreshTokenStore({ pool, table });
      await store.migrate();
      return { store, close: () => dropTables(pool, [table, `${table}_revoked_families`]) };
    });
  },
);
