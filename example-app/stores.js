/**
 * The shared stores for STORE=redis and STORE=postgres, on the client settings the README
 * recommends: every store call fails fast while the store is unreachable (the router answers
 * 503 temporarily_unavailable), nothing queues up through an outage, and the connection comes
 * back on its own. The app starts even when its store is down.
 */
import { PostgresCodeStore, PostgresRefreshTokenStore, RedisCodeStore, RedisRefreshTokenStore } from '../dist/index.js';

/** How often a failed migration is tried again while the database is down, in milliseconds. */
const MIGRATE_RETRY_MS = 5_000;

/**
 * @param {ReturnType<import('./config.js').readConfig>} config
 * @param {{ log(message: string): void }} logger
 * @returns {Promise<{ codeStore?: object, refreshTokenStore?: object, close(): Promise<void> }>}
 *   no stores for STORE=memory: the app's in-process defaults are used
 */
export async function createStores(config, logger) {
  if (config.store === 'redis') return redisStores(config, logger);
  if (config.store === 'postgres') return postgresStores(config, logger);
  return { close: async () => {} };
}

async function redisStores(config, logger) {
  // A dev dependency of the library: a host brings its own Redis client.
  const { Redis } = await import('ioredis');
  const client = new Redis(config.redisUrl, {
    enableOfflineQueue: false, // fail at once while disconnected, instead of queueing
    autoResendUnfulfilledCommands: false, // never replay a redeem whose request already got 503
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    socketTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000), // keep trying, forever
  });
  watchConnection(client, 'Redis', logger, { up: 'ready', down: 'error' });
  const options = { client, ...(config.storePrefix === undefined ? {} : { prefix: config.storePrefix }) };
  return {
    codeStore: new RedisCodeStore(options),
    refreshTokenStore: new RedisRefreshTokenStore(options),
    close: async () => client.disconnect(),
  };
}

async function postgresStores(config, logger) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: 10,
    connectionTimeoutMillis: 2_000, // a request waits this long for a connection, no longer
    query_timeout: 2_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection whose server went away emits 'error' here; unheard, it would end the process.
  watchConnection(pool, 'PostgreSQL', logger, { up: 'connect', down: 'error' });
  const prefix = config.storePrefix ?? 'pkce_';
  const codeStore = new PostgresCodeStore({ pool, table: `${prefix}authorization_codes` });
  const refreshTokenStore = new PostgresRefreshTokenStore({ pool, table: `${prefix}refresh_tokens` });
  const migrating = migrateUntilDone([codeStore, refreshTokenStore], logger);
  return {
    codeStore,
    refreshTokenStore,
    close: async () => {
      migrating.stop();
      await pool.end();
    },
  };
}

/**
 * Create the tables now, or, while the database is down, keep trying in the background: the app
 * serves meanwhile, and its token requests answer 503 until the database is there.
 */
function migrateUntilDone(stores, logger) {
  let timer;
  let stopped = false;
  const attempt = async () => {
    try {
      for (const store of stores) await store.migrate();
      logger.log('PostgreSQL tables are ready.');
    } catch {
      logger.log(`PostgreSQL is unreachable; trying the migration again in ${MIGRATE_RETRY_MS / 1000} s.`);
      if (!stopped) timer = setTimeout(attempt, MIGRATE_RETRY_MS).unref();
    }
  };
  void attempt();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** One line when the store goes away and one when it is back, never the URL (it may hold a password). */
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
