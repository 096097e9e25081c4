import { Redis } from 'ioredis';
import type pg from 'pg';
import {
  type AuthorizationCodeStore,
  PostgresCodeStore,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  RedisRefreshTokenStore,
  type RefreshTokenStore,
} from '../../lib/index.js';
import { type DpopKey, dpopKey, dpopProof } from '../support/dpop-proofs.js';
import { expectError, form, ISSUER } from '../support/helpers.js';
import { STORE_TIMEOUT_MS, tokenServer } from '../support/outage.js';
import { createPool, dropTables, freshTable } from '../support/postgres-fixture.js';
import { connectRedis, deletePrefix, freshPrefix, RECOMMENDED_REDIS_OPTIONS } from '../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, once, REDIS_URL } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/*
 * RFC 9449 §11.1 at the token endpoint, across instances: two routers, each with its own store
 * objects and connections to one real server, share the proofs' jtis through the code store's
 * "seen once" (the router's replay store). A proof the first accepted is refused by the second.
 * And a replay store that does not answer is a 503 that costs the user nothing.
 */

const HTU = `${ISSUER}/oauth2/token`;
let key: DpopKey;
beforeAll(async () => {
  key = await dpopKey();
});

type Server = Awaited<ReturnType<typeof tokenServer>>;
const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((server) => server.close())));

/** A router instance on these stores, with DPoP on. */
async function instance(codeStore: AuthorizationCodeStore, refreshTokenStore: RefreshTokenStore): Promise<Server> {
  const server = await tokenServer(codeStore, refreshTokenStore, { dpop: {} });
  servers.push(server);
  return server;
}

async function codeForm(server: Server): Promise<Record<string, string>> {
  const [params] = await server.issue(1);
  return params as Record<string, string>;
}

function post(server: Server, params: Record<string, string>, proof: string) {
  return server.agent
    .post('/oauth2/token')
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .set('DPoP', proof)
    .send(form(params));
}

type Stores = [AuthorizationCodeStore, RefreshTokenStore];

async function replayedAcross(first: Stores, second: Stores): Promise<void> {
  const [one, two] = [await instance(...first), await instance(...second)];
  const proof = await dpopProof(key, 'POST', HTU);
  expect((await post(one, await codeForm(one), proof)).status).toBe(200);
  const code = await codeForm(two);
  const replayed = await post(two, code, proof);
  expectError(replayed, 400, 'invalid_dpop_proof');
  expect(replayed.body.error_description).toContain('(dpop_proof_replayed)');
  // Nothing spent: the second instance's code still works with a fresh proof.
  expect((await post(two, code, await dpopProof(key, 'POST', HTU))).status).toBe(200);
}

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'dpop-token-replay-redis',
  'a token request DPoP proof replayed across two router instances on Redis',
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

    const stores = (client: Redis): Stores => [
      new RedisCodeStore({ client, prefix }),
      new RedisRefreshTokenStore({ client, prefix }),
    ];

    it('RFC 9449 §11.1: is refused by the second instance, and its code is not spent', async () => {
      await replayedAcross(stores(clients[0] as Redis), stores(clients[1] as Redis));
    });

    describe('with Redis unreachable', () => {
      let proxy: TcpProxy;
      let client: Redis;
      beforeAll(async () => {
        const target = new URL(url);
        proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
        client = new Redis({ ...RECOMMENDED_REDIS_OPTIONS, host: '127.0.0.1', port: proxy.port, lazyConnect: true });
        client.on('error', () => undefined);
        await client.connect();
      });
      afterAll(async () => {
        await proxy.restore();
        if (client.status !== 'ready') await once(client, 'ready', 10_000);
        client.disconnect();
        await proxy.close();
      });

      it("the proof's jti cannot be remembered: 503, and the code is not spent", async () => {
        const options = { client, prefix, timeoutMs: STORE_TIMEOUT_MS };
        const app = await instance(new RedisCodeStore(options), new RedisRefreshTokenStore(options));
        const code = await codeForm(app);
        await proxy.cut();
        const down = await post(app, code, await dpopProof(key, 'POST', HTU));
        expectError(down, 503, 'temporarily_unavailable');
        await proxy.restore();
        await once(client, 'ready', 10_000);
        expect((await post(app, code, await dpopProof(key, 'POST', HTU))).status).toBe(200);
      });
    });
  },
);

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'dpop-token-replay-postgres',
  'a token request DPoP proof replayed across two router instances on PostgreSQL',
  (url) => {
    const pools: pg.Pool[] = [];
    const codes = freshTable('pkce_dpop_codes');
    const tokens = freshTable('pkce_dpop_tokens');
    beforeAll(async () => {
      pools.push(createPool(url), createPool(url));
      await new PostgresCodeStore({ pool: pools[0] as pg.Pool, table: codes }).migrate();
      await new PostgresRefreshTokenStore({ pool: pools[0] as pg.Pool, table: tokens }).migrate();
    });
    afterAll(async () => {
      await dropTables(pools[0] as pg.Pool, [codes, tokens, `${tokens}_revoked_families`]);
      await Promise.all(pools.map((pool) => pool.end()));
    });

    const stores = (pool: pg.Pool): Stores => [
      new PostgresCodeStore({ pool, table: codes }),
      new PostgresRefreshTokenStore({ pool, table: tokens }),
    ];

    it('RFC 9449 §11.1: is refused by the second instance, and its code is not spent', async () => {
      await replayedAcross(stores(pools[0] as pg.Pool), stores(pools[1] as pg.Pool));
    });
  },
);
