/**
 * The shared stores for STORE=redis and STORE=postgres, on the connections of
 * example-app/connections.js (the key store of KEY_STORE uses the same ones). The app starts even
 * when its store is down.
 */
import { PostgresCodeStore, PostgresRefreshTokenStore, RedisCodeStore, RedisRefreshTokenStore } from '../dist/index.js';

/** How often a failed migration is tried again while the database is down, in milliseconds. */
const MIGRATE_RETRY_MS = 5_000;

/**
 * @param {ReturnType<import('./config.js').readConfig>} config
 * @param {Awaited<ReturnType<import('./connections.js').openConnections>>} connections  its `redis` or `pool` for the store
 * @param {{ log(message: string): void }} logger
 * @returns {{ codeStore?: object, refreshTokenStore?: object, close(): void }}
 *   no stores for STORE=memory: the app's in-process defaults are used. close() stops the
 *   background migration; the connections are closed with their own close().
 */
export function createStores(config, connections, logger) {
  if (config.store === 'redis') {
    const options = {
      client: connections.redis,
      ...(config.storePrefix === undefined ? {} : { prefix: config.storePrefix }),
    };
    return {
      codeStore: new RedisCodeStore(options),
      refreshTokenStore: new RedisRefreshTokenStore(options),
      close: () => undefined,
    };
  }
  if (config.store === 'postgres') {
    const { pool } = connections;
    const prefix = config.storePrefix ?? 'pkce_';
    const codeStore = new PostgresCodeStore({ pool, table: `${prefix}authorization_codes` });
    const refreshTokenStore = new PostgresRefreshTokenStore({ pool, table: `${prefix}refresh_tokens` });
    const migrating = migrateUntilDone([codeStore, refreshTokenStore], logger);
    return { codeStore, refreshTokenStore, close: () => migrating.stop() };
  }
  return { close: () => undefined };
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
