/**
 * The example app's connections to Redis and PostgreSQL, one of each at most, shared by the code
 * and refresh-token stores (STORE) and the key store (KEY_STORE), on the client settings the
 * README recommends: every call fails fast while the server is unreachable (the router answers
 * 503 temporarily_unavailable), nothing queues up through an outage, and the connection comes
 * back on its own.
 */

/**
 * @param {ReturnType<import('./config.js').readConfig>} config  its `redisUrl` and `databaseUrl`, when set
 * @param {{ log(message: string): void }} logger
 * @returns {Promise<{ redis?: import('ioredis').Redis, pool?: import('pg').Pool, close(): Promise<void> }>}
 */
export async function openConnections(config, logger) {
  const connections = {};
  if (config.redisUrl !== undefined) connections.redis = await redisClient(config.redisUrl, logger);
  if (config.databaseUrl !== undefined) connections.pool = await postgresPool(config.databaseUrl, logger);
  return {
    ...connections,
    async close() {
      connections.redis?.disconnect();
      await connections.pool?.end();
    },
  };
}

async function redisClient(url, logger) {
  // A dev dependency of the library: a host brings its own Redis client.
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    enableOfflineQueue: false, // fail at once while disconnected, instead of queueing
    autoResendUnfulfilledCommands: false, // never replay a redeem whose request already got 503
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    socketTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000), // keep trying, forever
  });
  watchConnection(client, 'Redis', logger, { up: 'ready', down: 'error' });
  return client;
}

async function postgresPool(url, logger) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 2_000, // a request waits this long for a connection, no longer
    query_timeout: 2_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection whose server went away emits 'error' here; unheard, it would end the process.
  watchConnection(pool, 'PostgreSQL', logger, { up: 'connect', down: 'error' });
  return pool;
}

/**
 * Resolve once an ioredis client is ready, or reject after `ms`: with `enableOfflineQueue: false`
 * a command sent before then fails at once, which is right for a token request but not for the
 * key store's first read at start.
 */
export function redisReady(client, ms) {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', ready);
      reject(new Error(`Redis was not reachable within ${ms / 1000} s`));
    }, ms);
    client.once('ready', ready);
  });
}

/** One line when the server goes away and one when it is back, never the URL (it may hold a password). */
function watchConnection(emitter, name, logger, { up, down }) {
  let reachable;
  emitter.on(down, () => {
    if (reachable !== false) logger.log(`${name} is unreachable; token requests answer 503 until it is back.`);
    reachable = false;
  });
  emitter.on(up, () => {
    if (reachable === false) logger.log(`${name} is reachable again.`);
    reachable = true;
  });
}
