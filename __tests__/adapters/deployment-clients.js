/**
 * The clients of the distributed deployments `.ci/run` starts (`.ci/services/`): a Redis Cluster,
 * Redis Sentinel and PgBouncer in transaction mode. Plain JavaScript, so that both the tests and
 * the processes `deployment-server.js` starts use the very same settings.
 *
 * Each is configured as the README ("Redis", "PostgreSQL", "When the store is down") recommends
 * for a single server: fail at once while a server is unreachable (no offline queue), give up on
 * a command after a second, never resend after a reconnect a command whose caller was already
 * told it failed, and keep reconnecting.
 */
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';

/** The README's settings for one Redis server (README "Redis"). */
export const SINGLE_REDIS_SETTINGS = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1_000,
  socketTimeout: 2_000,
  connectTimeout: 1_000,
  retryStrategy: (/** @type {number} */ times) => Math.min(times * 100, 1_000),
};

/** `host:port,host:port` (the form of REDIS_CLUSTER_NODES and REDIS_SENTINELS) as addresses. */
export function parseAddresses(/** @type {string} */ list) {
  return list.split(',').map((entry) => {
    const [host, port] = entry.trim().split(':');
    if (host === undefined || port === undefined || !/^\d+$/.test(port)) throw new Error(`not host:port: ${entry}`);
    return { host, port: Number(port) };
  });
}

/**
 * A `Cluster` client on the nodes of `list`. The per-node connections get the single-server
 * settings that a Cluster lets through (`redisOptions` cannot set the offline queue or the
 * reconnect strategy: those are the Cluster's own options below).
 * @param {string} list
 * @param {import('ioredis').ClusterOptions} [overrides]
 */
export function redisClusterClient(list, overrides = {}) {
  const { enableOfflineQueue, retryStrategy, ...perNode } = SINGLE_REDIS_SETTINGS;
  return new Cluster(parseAddresses(list), {
    enableOfflineQueue,
    clusterRetryStrategy: retryStrategy,
    redisOptions: perNode,
    // Slot maps refresh quickly after a failover (MOVED answers also trigger a refresh).
    slotsRefreshTimeout: 1_000,
    ...overrides,
  });
}

/**
 * A client of the master that the sentinels of `list` name `name`: on a failover, it asks them
 * for the new master and reconnects there.
 * @param {string} list
 * @param {string} name
 * @param {import('ioredis').RedisOptions} [overrides]
 */
export function redisSentinelClient(list, name, overrides = {}) {
  return new Redis({
    ...SINGLE_REDIS_SETTINGS,
    sentinels: parseAddresses(list),
    name,
    sentinelRetryStrategy: SINGLE_REDIS_SETTINGS.retryStrategy,
    sentinelCommandTimeout: 1_000,
    // Told by the sentinels of a switch, it moves at once instead of on its next error.
    failoverDetector: true,
    ...overrides,
  });
}

/**
 * A pg Pool through PgBouncer, with the README's settings ("PostgreSQL"). PgBouncer before 1.21
 * cannot keep a prepared statement across transactions in transaction mode, so the stores on it
 * take `preparedStatements: false` ({@link PGBOUNCER_STORE_OPTIONS}).
 * @param {string} url
 * @param {import('pg').PoolConfig} [overrides]
 */
export function pgbouncerPool(url, overrides = {}) {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 1_000, query_timeout: 2_000, idleTimeoutMillis: 10_000, ...overrides });
  // An idle client whose server went away emits 'error' on the pool; unheard, it would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/** What a PostgreSQL store behind PgBouncer in transaction mode (1.18, Debian 12) needs. */
export const PGBOUNCER_STORE_OPTIONS = { preparedStatements: false };
