/**
 * The example app (example-app/app.js) as its own process, on the stores of one distributed
 * deployment: what `example-app/server.js` is for one Redis or PostgreSQL server, for the
 * deployments `.ci/run` starts. The two-process tests run two of these, as behind a load balancer.
 *
 * Environment: PORT, ISSUER, SIGNING_JWKS, CLIENTS, STORE_PREFIX, REFRESH_TOKEN_REUSE_INTERVAL,
 * KEY_STORE and KEY_ENCRYPTION_KEY as for example-app/server.js (read by its own readConfig;
 * KEY_STORE=redis puts the keys on a Redis deployment's client, KEY_STORE=postgres on PgBouncer's
 * pool), and DEPLOYMENT, one of
 *   redis-cluster   REDIS_CLUSTER_NODES=host:port,...
 *   redis-sentinel  REDIS_SENTINELS=host:port,...  REDIS_SENTINEL_NAME
 *   pgbouncer       PGBOUNCER_URL=postgres://...
 * Needs the build (dist/).
 */
import { createServer } from 'node:http';
import {
  PostgresCodeStore,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  RedisRefreshTokenStore,
} from '../../dist/index.js';
import { createExampleApp } from '../../example-app/app.js';
import { readConfig, readKeyStoreSettings } from '../../example-app/config.js';
import { createKeyStore } from '../../example-app/key-store.js';
import {
  PGBOUNCER_STORE_OPTIONS,
  pgbouncerPool,
  redisClusterClient,
  redisSentinelClient,
} from './deployment-clients.js';

const env = process.env;

async function deploymentStores() {
  const prefix = env.STORE_PREFIX;
  if (env.DEPLOYMENT === 'redis-cluster' || env.DEPLOYMENT === 'redis-sentinel') {
    const lazy = { lazyConnect: true };
    const client =
      env.DEPLOYMENT === 'redis-cluster'
        ? redisClusterClient(env.REDIS_CLUSTER_NODES ?? '', lazy)
        : redisSentinelClient(env.REDIS_SENTINELS ?? '', env.REDIS_SENTINEL_NAME || 'pkce', lazy);
    client.on('error', () => undefined);
    await client.connect();
    const options = { client, ...(prefix === undefined ? {} : { prefix }) };
    return {
      codeStore: new RedisCodeStore(options),
      refreshTokenStore: new RedisRefreshTokenStore(options),
      connections: { redis: client },
      close: async () => client.disconnect(),
    };
  }
  if (env.DEPLOYMENT === 'pgbouncer') {
    const pool = pgbouncerPool(env.PGBOUNCER_URL ?? '');
    const tables = prefix ?? 'pkce_';
    const codeStore = new PostgresCodeStore({
      pool,
      table: `${tables}authorization_codes`,
      ...PGBOUNCER_STORE_OPTIONS,
    });
    const refreshTokenStore = new PostgresRefreshTokenStore({
      pool,
      table: `${tables}refresh_tokens`,
      ...PGBOUNCER_STORE_OPTIONS,
    });
    await codeStore.migrate();
    await refreshTokenStore.migrate();
    return { codeStore, refreshTokenStore, connections: { pool }, close: () => pool.end() };
  }
  throw new Error('DEPLOYMENT must be redis-cluster, redis-sentinel or pgbouncer');
}

let stores;
let server;
try {
  // STORE=memory and KEY_STORE=memory: readConfig then checks only what this process takes from
  // it (no REDIS_URL or DATABASE_URL); the key store's own settings are read beside.
  const keySettings = readKeyStoreSettings(env);
  const config = readConfig({ ...env, STORE: 'memory', KEY_STORE: 'memory', KEY_ENCRYPTION_KEY: undefined });
  const backend = env.DEPLOYMENT === 'pgbouncer' ? 'postgres' : 'redis';
  if (keySettings.keyStore !== 'memory' && keySettings.keyStore !== backend) {
    throw new Error(`KEY_STORE=${keySettings.keyStore} does not fit DEPLOYMENT=${env.DEPLOYMENT}`);
  }
  stores = await deploymentStores();
  const keyStore = await createKeyStore({ ...config, ...keySettings }, stores.connections, {
    postgres: PGBOUNCER_STORE_OPTIONS,
  });
  const { app } = await createExampleApp({
    issuer: config.issuer,
    codeStore: stores.codeStore,
    refreshTokenStore: stores.refreshTokenStore,
    ...(keyStore === undefined ? {} : { keyStore }),
    ...(config.clients === undefined ? {} : { clients: config.clients }),
    ...(config.refreshTokenReuseInterval === undefined
      ? {}
      : { refreshTokenReuseInterval: config.refreshTokenReuseInterval }),
  });
  server = createServer(app);
  server.listen(config.port, '127.0.0.1', () => {
    // The line example-instance.ts waits for, as for example-app/server.js.
    console.log(`pkce-token-router example listening on port ${config.port}`);
  });
} catch (error) {
  console.error(`Cannot start on ${env.DEPLOYMENT}: ${error.message}`);
  process.exit(1);
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void stores.close().finally(() => process.exit(0));
  });
}
