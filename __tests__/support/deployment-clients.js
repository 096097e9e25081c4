/**
 * The clients of the distributed deployments `.ci/run` starts (`.ci/services/`): a Redis Cluster,
 * Redis Sentinel and PgBouncer in transaction mode. Plain JavaScript, so that both the tests and
 * the processes `deployment-server.js` starts use the very same settings.
 *
 * Each is configured as docs/stores.md (and docs/contract.md "When a store fails") recommends:
 * fail at once while a server is unreachable (no offline queue), give up on a command after a
 * second, never resend after a reconnect a command whose caller was already told it failed, and
 * keep reconnecting. This file is the one place the tests take them from.
 */
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';

/** The settings docs/stores.md gives for one Redis server. */
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
 * The settings docs/stores.md gives for a Redis Cluster. A Cluster gives its
 * node connections an offline queue whatever `redisOptions` says (ioredis 6), so a command can
 * wait there through a failover: the deadline fence keeps it from running late, and these
 * settings keep the wait short: a dead node's commands give up after a few quick retries, not
 * after the command timeout.
 * @satisfies {import('ioredis').ClusterOptions}
 */
export const CLUSTER_SETTINGS = {
  enableOfflineQueue: false, // while the Cluster itself is not ready, fail at once
  clusterRetryStrategy: (/** @type {number} */ times) => Math.min(times * 100, 1_000), // reconnect forever
  maxRedirections: 3, // MOVED, ASK, TRYAGAIN, CLUSTERDOWN and a closed connection each count
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  slotsRefreshTimeout: 500,
  redisOptions: {
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 500,
  },
};

/** The settings docs/stores.md gives for Sentinel: the single-server settings, plus the Sentinel's own. */
export const SENTINEL_SETTINGS = {
  ...SINGLE_REDIS_SETTINGS,
  sentinelRetryStrategy: SINGLE_REDIS_SETTINGS.retryStrategy,
  sentinelCommandTimeout: 500,
};

/**
 * A `Cluster` client on the nodes of `list`, with {@link CLUSTER_SETTINGS}.
 * @param {string} list
 * @param {import('ioredis').ClusterOptions} [overrides]
 */
export function redisClusterClient(list, overrides = {}) {
  return new Cluster(parseAddresses(list), { ...CLUSTER_SETTINGS, ...overrides });
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
    ...SENTINEL_SETTINGS,
    sentinels: parseAddresses(list),
    name,
    // Told by the sentinels of a switch, it moves at once instead of on its next error.
    failoverDetector: true,
    ...overrides,
  });
}

/**
 * A pg Pool through PgBouncer, with the settings docs/stores.md gives. PgBouncer before 1.21
 * cannot keep a prepared statement across transactions in transaction mode, so the stores on it
 * take `preparedStatements: false` ({@link PGBOUNCER_STORE_OPTIONS}).
 * @param {string} url
 * @param {import('pg').PoolConfig} [overrides]
 */
export function pgbouncerPool(url, overrides = {}) {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 1_000,
    query_timeout: 2_000,
    idleTimeoutMillis: 10_000,
    ...overrides,
  });
  // An idle client whose server went away emits 'error' on the pool; unheard, it would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/** What a PostgreSQL store behind PgBouncer in transaction mode (1.18, Debian 12) needs. */
export const PGBOUNCER_STORE_OPTIONS = { preparedStatements: false };
