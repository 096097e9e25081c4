import type { ClusterOptions, RedisOptions } from 'ioredis';

/**
 * The README's settings for a Redis Cluster ("Redis Cluster and Sentinel"). A Cluster gives its
 * node connections an offline queue whatever `redisOptions` says (ioredis 6), so a command can
 * wait there through a failover: the deadline fence keeps it from running late, and these
 * settings keep the wait short: a dead node's commands give up after a few quick retries, not
 * after the command timeout.
 */
export const RECOMMENDED_CLUSTER_OPTIONS = {
  enableOfflineQueue: false, // while the Cluster itself is not ready, fail at once
  clusterRetryStrategy: (times: number) => Math.min(times * 100, 1_000), // reconnect forever
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
} satisfies ClusterOptions;

/** The README's settings for Sentinel: the single-server settings, plus the Sentinel's own. */
export const RECOMMENDED_SENTINEL_OPTIONS = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1_000,
  socketTimeout: 2_000,
  connectTimeout: 1_000,
  retryStrategy: (times: number) => Math.min(times * 100, 1_000),
  sentinelRetryStrategy: (times: number) => Math.min(times * 100, 1_000),
  sentinelCommandTimeout: 500,
} satisfies RedisOptions;
