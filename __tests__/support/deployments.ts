import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import {
  PGBOUNCER_STORE_OPTIONS,
  pgbouncerPool,
  redisClusterClient,
  redisSentinelClient,
} from './deployment-clients.js';
import { createPool } from './postgres-fixture.js';
import { type AnyRedis, connectRedis } from './redis-fixture.js';
import {
  DATABASE_URL,
  PGBOUNCER_URL,
  REDIS_CLUSTER_NODES,
  REDIS_SENTINEL_NAME,
  REDIS_SENTINELS,
  REDIS_URL,
  type ServerSpec,
} from './services.js';

/** The process the two-process tests start for a distributed deployment. */
export const DEPLOYMENT_SERVER = fileURLToPath(new URL('./deployment-server.js', import.meta.url));

/** One way a Redis store is deployed: one server, a Cluster, or a Sentinel's master. */
export interface RedisDeployment {
  server: ServerSpec;
  /** The stem of the suites' markers: `redis`, `redis-cluster`, `redis-sentinel`. */
  marker: string;
  /** A client on `where` (what `server.variable` holds), ready before it resolves. */
  connect(where: string): Promise<AnyRedis>;
  /** How a process of the example app reaches it: its script (default example-app/server.js) and environment. */
  process(where: string, prefix: string): { script?: string; env: Record<string, string> };
}

export const SINGLE_REDIS: RedisDeployment = {
  server: { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  marker: 'redis',
  connect: (url) => connectRedis(url),
  process: (url, prefix) => ({ env: { STORE: 'redis', REDIS_URL: url, STORE_PREFIX: prefix } }),
};

export const REDIS_CLUSTER: RedisDeployment = {
  server: { name: 'Redis Cluster', variable: 'REDIS_CLUSTER_NODES', url: REDIS_CLUSTER_NODES },
  marker: 'redis-cluster',
  async connect(nodes) {
    const client = redisClusterClient(nodes, { lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  },
  process: (nodes, prefix) => ({
    script: DEPLOYMENT_SERVER,
    env: { DEPLOYMENT: 'redis-cluster', REDIS_CLUSTER_NODES: nodes, STORE_PREFIX: prefix },
  }),
};

export const REDIS_SENTINEL: RedisDeployment = {
  server: { name: 'Redis Sentinel', variable: 'REDIS_SENTINELS', url: REDIS_SENTINELS },
  marker: 'redis-sentinel',
  async connect(sentinels) {
    const client = redisSentinelClient(sentinels, REDIS_SENTINEL_NAME, { lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  },
  process: (sentinels, prefix) => ({
    script: DEPLOYMENT_SERVER,
    env: { DEPLOYMENT: 'redis-sentinel', REDIS_SENTINELS: sentinels, REDIS_SENTINEL_NAME, STORE_PREFIX: prefix },
  }),
};

/** The distributed Redis deployments `.ci/run` starts beside the machine's server. */
export const DISTRIBUTED_REDIS = [REDIS_CLUSTER, REDIS_SENTINEL] as const;

/** One way a PostgreSQL store is reached: directly, or through PgBouncer in transaction mode. */
export interface PostgresDeployment {
  server: ServerSpec;
  /** The stem of the suites' markers: `postgres`, `pgbouncer`. */
  marker: string;
  pool(url: string, options?: pg.PoolConfig): pg.Pool;
  /** What the stores on it need beyond pool and table. */
  storeOptions: { preparedStatements?: boolean };
  process(url: string, prefix: string): { script?: string; env: Record<string, string> };
}

export const DIRECT_POSTGRES: PostgresDeployment = {
  server: { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  marker: 'postgres',
  pool: (url, options) => createPool(url, options),
  storeOptions: {},
  process: (url, prefix) => ({ env: { STORE: 'postgres', DATABASE_URL: url, STORE_PREFIX: prefix } }),
};

export const PGBOUNCER: PostgresDeployment = {
  server: { name: 'PgBouncer', variable: 'PGBOUNCER_URL', url: PGBOUNCER_URL },
  marker: 'pgbouncer',
  pool: (url, options) => pgbouncerPool(url, options),
  storeOptions: PGBOUNCER_STORE_OPTIONS,
  process: (url, prefix) => ({
    script: DEPLOYMENT_SERVER,
    env: { DEPLOYMENT: 'pgbouncer', PGBOUNCER_URL: url, STORE_PREFIX: prefix },
  }),
};
