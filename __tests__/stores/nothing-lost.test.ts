import express from 'express';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import {
  type AuthorizationCodeStore,
  type ClientRegistry,
  createTokenRouter,
  issueAuthorizationCode,
  type KeyStore,
  MemoryCodeStore,
  MemoryRefreshTokenStore,
  PostgresCodeStore,
  type PostgresPool,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  RedisRefreshTokenStore,
  type RedisScriptClient,
  type RefreshTokenStore,
} from '../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  ISSUER,
  pkcePair,
  postToken,
  REDIRECT_URI,
  refreshForm,
  sharedKeyStore,
} from '../support/helpers.js';
import { createPool, dropTables, freshTable } from '../support/postgres-fixture.js';
import { connectRedis, deletePrefix, freshPrefix } from '../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../support/services.js';

/*
 * docs/contract.md "Single use, and replay" and docs/contract.md "When a store fails": a 503 never costs the user
 * what they presented. Every call a token request makes to something that can fail (the client
 * registry, the key store, the store's server) is made to fail in turn, before it reaches its
 * target; the request must then be answered 503 and the same code or refresh token must work
 * on the retry. The one failure no store can undo is a reply lost after the server committed:
 * docs/stores.md "When the store is down" says what a client sees then.
 */

/** Counts calls through it, and fails the one numbered `failAt` (from 1) before it is made. */
class FaultPlan {
  calls = 0;
  failAt = 0;
  /** Wrap a call: the injected failure rejects as a real store or network failure would. */
  call<T>(make: () => Promise<T>): Promise<T> {
    this.calls += 1;
    if (this.calls === this.failAt) return Promise.reject(new Error('injected failure'));
    return make();
  }
  arm(failAt: number): void {
    this.calls = 0;
    this.failAt = failAt;
  }
}

interface Deployment {
  codeStore: AuthorizationCodeStore;
  refreshTokenStore: RefreshTokenStore;
  cleanup(): Promise<void> | void;
}

/** The router on `stores`, with its registry and key store going through the plan too. */
async function routerThrough(plan: FaultPlan, stores: Deployment) {
  const keys = await sharedKeyStore();
  const keyStore: KeyStore = {
    signingKey: () => plan.call(() => keys.signingKey()),
    publicJwks: () => keys.publicJwks(),
  };
  const client = { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] };
  const clients: ClientRegistry = {
    findClient: (id) => plan.call(async () => (id === CLIENT_ID ? client : undefined)),
  };
  const app = express();
  app.use(
    createTokenRouter({
      issuer: ISSUER,
      codeStore: stores.codeStore,
      refreshTokenStore: stores.refreshTokenStore,
      keyStore,
      clients,
    }),
  );
  const issue = async (): Promise<Record<string, string>> => {
    const { verifier, challenge } = pkcePair();
    const code = await issueAuthorizationCode(stores.codeStore, {
      clientId: CLIENT_ID,
      redirectUri: REDIRECT_URI,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      subject: 'user-nothing-lost',
      scope: ['openid'],
    });
    return {
      client_id: CLIENT_ID,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    };
  };
  return { app, issue };
}

/** How many failable calls one request makes when nothing fails. */
async function callsOf<T>(
  plan: FaultPlan,
  prepare: () => Promise<T>,
  send: (prepared: T) => Promise<{ status: number }>,
): Promise<number> {
  const prepared = await prepare();
  plan.arm(0);
  expect((await send(prepared)).status).toBe(200);
  return plan.calls;
}

/**
 * @param storeCalls how many store calls a request makes at the least: none on memory (nothing
 *   there can fail), one on a store with atomic steps
 */
function nothingLost(name: string, storeCalls: number, deploy: (plan: FaultPlan) => Promise<Deployment>): void {
  describe(name, () => {
    let plan: FaultPlan;
    let deployment: Deployment;
    let router: Awaited<ReturnType<typeof routerThrough>>;
    beforeEach(async () => {
      plan = new FaultPlan();
      deployment = await deploy(plan);
      router = await routerThrough(plan, deployment);
    });
    afterEach(async () => {
      await deployment.cleanup();
    });

    it('a failure at any call of a code exchange is a 503, and the same code then gets tokens', async () => {
      const calls = await callsOf(
        plan,
        () => router.issue(),
        (form) => postToken(router.app, form),
      );
      // The registry, the key store, and the store's.
      expect(calls).toBeGreaterThanOrEqual(2 + storeCalls);
      for (let failAt = 1; failAt <= calls; failAt += 1) {
        const form = await router.issue();
        plan.arm(failAt);
        expectError(await postToken(router.app, form), 503, 'temporarily_unavailable');
        plan.arm(0);
        const retry = await postToken(router.app, form);
        expect({ failAt, status: retry.status }).toEqual({ failAt, status: 200 });
      }
    });

    it('a failure at any call of a refresh is a 503, and the same refresh token then rotates', async () => {
      const signIn = async () => (await postToken(router.app, await router.issue())).body.refresh_token as string;
      const calls = await callsOf(plan, signIn, (token) => postToken(router.app, refreshForm(token)));
      expect(calls).toBeGreaterThanOrEqual(2 + storeCalls);
      for (let failAt = 1; failAt <= calls; failAt += 1) {
        const token = await signIn();
        plan.arm(failAt);
        expectError(await postToken(router.app, refreshForm(token)), 503, 'temporarily_unavailable');
        plan.arm(0);
        const retry = await postToken(router.app, refreshForm(token));
        expect({ failAt, status: retry.status }).toEqual({ failAt, status: 200 });
        // And the family lives on: the new token rotates too.
        expect((await postToken(router.app, refreshForm(retry.body.refresh_token))).status).toBe(200);
      }
    });
  });
}

describe('nothing is lost when a call fails mid-request (docs/contract.md "Single use, and replay")', () => {
  // The memory stores cannot fail: only the registry and the key store can.
  nothingLost('memory stores', 0, async () => {
    const codeStore = new MemoryCodeStore();
    const refreshTokenStore = new MemoryRefreshTokenStore();
    return {
      codeStore,
      refreshTokenStore,
      cleanup: () => {
        codeStore.close();
        refreshTokenStore.close();
      },
    };
  });
});

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'redis-nothing-lost',
  'nothing is lost when Redis fails mid-request',
  (url) => {
    let redis: Redis;
    beforeAll(async () => {
      redis = await connectRedis(url);
    });
    afterAll(async () => {
      await redis.quit();
    });
    nothingLost('Redis stores on one client', 1, async (plan) => {
      const prefix = freshPrefix();
      // Every script either reaches the server or fails before it is sent.
      const client: RedisScriptClient = {
        evalsha: (...args) => plan.call(() => redis.evalsha(...args)),
        eval: (...args) => plan.call(() => redis.eval(...args)),
      };
      return {
        codeStore: new RedisCodeStore({ client, prefix }),
        refreshTokenStore: new RedisRefreshTokenStore({ client, prefix }),
        cleanup: () => deletePrefix(redis, prefix),
      };
    });
  },
);

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'postgres-nothing-lost',
  'nothing is lost when PostgreSQL fails mid-request',
  (url) => {
    let database: pg.Pool;
    beforeAll(() => {
      database = createPool(url);
    });
    afterAll(async () => {
      await database.end();
    });
    nothingLost('PostgreSQL stores on one pool', 1, async (plan) => {
      const [codeTable, refreshTable] = [freshTable('pkce_nl_c'), freshTable('pkce_nl_r')];
      const pool: PostgresPool = { query: (text, values) => plan.call(() => database.query(text as string, values)) };
      const codeStore = new PostgresCodeStore({ pool: database, table: codeTable });
      const refreshTokenStore = new PostgresRefreshTokenStore({ pool: database, table: refreshTable });
      await Promise.all([codeStore.migrate(), refreshTokenStore.migrate()]);
      return {
        codeStore: new PostgresCodeStore({ pool, table: codeTable }),
        refreshTokenStore: new PostgresRefreshTokenStore({ pool, table: refreshTable }),
        cleanup: () => dropTables(database, [codeTable, refreshTable, `${refreshTable}_revoked_families`]),
      };
    });
  },
);
