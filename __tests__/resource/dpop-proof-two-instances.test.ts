import express from 'express';
import type { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import type pg from 'pg';
import request from 'supertest';
import { PostgresCodeStore, RedisCodeStore, type ReplayStore, requireAccessToken } from '../../lib/index.js';
import { accessTokenOf } from '../support/access-tokens.js';
import { type DpopKey, dpopKey, dpopProof } from '../support/dpop-proofs.js';
import { type Harness, harness, ISSUER } from '../support/helpers.js';
import { createPool, dropTables, freshTable } from '../support/postgres-fixture.js';
import { connectRedis, deletePrefix, freshPrefix } from '../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../support/services.js';

/*
 * RFC 9449 §11.1, across instances: two APIs (two requireAccessToken middlewares, each with its
 * own store object and connection) share one replay store on a real server; a proof the first
 * accepted is refused by the second.
 */

const ORIGIN = 'https://api.example.com';
const HTU = `${ORIGIN}/api/profile`;

let h: Harness;
let key: DpopKey;
let boundToken: string;

beforeAll(async () => {
  h = await harness();
  key = await dpopKey();
  const signing = await h.keyStore.signingKey();
  const issued = (await accessTokenOf(h)).claims;
  boundToken = await new SignJWT({ ...issued, cnf: { jkt: key.jkt } })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .sign(signing.key);
});
afterAll(() => h.close());

function instance(replayStore: ReplayStore) {
  const app = express();
  app.get(
    '/api/profile',
    requireAccessToken({ issuer: ISSUER, keyStore: h.keyStore, dpop: { publicOrigin: ORIGIN, replayStore } }),
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  return app;
}

async function replayedAcross(first: ReplayStore, second: ReplayStore): Promise<void> {
  const proof = await dpopProof(key, 'GET', HTU, { accessToken: boundToken });
  const call = (app: express.Express) =>
    request(app).get('/api/profile').set('Authorization', `DPoP ${boundToken}`).set('DPoP', proof);
  expect((await call(instance(first))).status).toBe(200);
  const replayed = await call(instance(second));
  expect(replayed.status).toBe(401);
  expect(replayed.body).toMatchObject({ error: 'invalid_dpop_proof' });
  expect(replayed.body.error_description).toContain('dpop_proof_replayed');
}

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'dpop-replay-redis',
  'a DPoP proof replayed across two instances on Redis',
  (url) => {
    const clients: Redis[] = [];
    const prefix = freshPrefix();
    beforeAll(async () => {
      clients.push(await connectRedis(url), await connectRedis(url));
    });
    afterAll(async () => {
      await deletePrefix(clients[0] as Redis, prefix);
      await Promise.all(clients.map((client) => client.quit()));
    });

    it('is refused by the second instance', async () => {
      await replayedAcross(
        new RedisCodeStore({ client: clients[0] as Redis, prefix }),
        new RedisCodeStore({ client: clients[1] as Redis, prefix }),
      );
    });
  },
);

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'dpop-replay-postgres',
  'a DPoP proof replayed across two instances on PostgreSQL',
  (url) => {
    const pools: pg.Pool[] = [];
    const table = freshTable('pkce_dpop');
    beforeAll(() => {
      pools.push(createPool(url), createPool(url));
    });
    afterAll(async () => {
      await dropTables(pools[0] as pg.Pool, [table]);
      await Promise.all(pools.map((pool) => pool.end()));
    });

    it('is refused by the second instance', async () => {
      const first = new PostgresCodeStore({ pool: pools[0] as pg.Pool, table });
      await first.migrate();
      await replayedAcross(first, new PostgresCodeStore({ pool: pools[1] as pg.Pool, table }));
    });
  },
);
