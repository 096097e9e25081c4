/**
 * The signing keys of KEY_STORE (docs/keys.md): in the process for `memory` (the keys of
 * SIGNING_JWKS, or none, and the app generates one), or shared by every instance on one Redis or
 * PostgreSQL, encrypted under KEY_ENCRYPTION_KEY and rotated on a schedule every instance follows
 * (docs/keys.md "Shared key stores"). A shared store is read at start: an instance that cannot
 * read or decrypt its keys does not start.
 */
import { MemoryKeyStore, PostgresKeyStore, RedisKeyStore } from '../dist/index.js';
import { ConfigError } from './config.js';
import { redisReady } from './connections.js';

/**
 * A new key every 30 days, published a day before it signs, kept two days after (the library's
 * defaults, written out). createTokenRouter checks them against this app's router: publishAhead
 * must be at least jwksMaxAge + cacheTtl (300 + 30 s) and retireAfter at least the longest token
 * lifetime + cacheTtl + maxStale (1800 + 30 + 300 s) (docs/keys.md "Rotation options").
 */
export const KEY_ROTATION = Object.freeze({ every: 30 * 86_400, publishAhead: 86_400, retireAfter: 2 * 86_400 });

/** How long a start waits for Redis to be reachable before it gives up, in milliseconds. */
const REDIS_READY_MS = 10_000;

/**
 * @param {Pick<ReturnType<import('./config.js').readConfig>, 'keyStore' | 'keyEncryptionKey' | 'signingJwks' | 'storePrefix'>} config
 * @param {{ redis?: import('ioredis').Redis | import('ioredis').Cluster, pool?: import('pg').Pool }} connections
 *   the same ones as the code and refresh-token stores (example-app/connections.js)
 * @param {object} [options]
 * @param {import('../dist/index.js').KeyStoreEventListener} [options.onEvent]  keys made, outages of the store
 * @param {{ preparedStatements?: boolean }} [options.postgres]  more PostgresKeyStore options (PgBouncer's)
 * @returns {Promise<import('../dist/index.js').KeyStore | undefined>}  undefined: the app generates a key
 */
export async function createKeyStore(config, connections, { onEvent, postgres = {} } = {}) {
  const shared = {
    keyEncryptionKey: config.keyEncryptionKey,
    rotation: KEY_ROTATION,
    ...(onEvent === undefined ? {} : { onEvent }),
  };
  if (config.keyStore === 'redis') {
    try {
      await redisReady(connections.redis, REDIS_READY_MS);
    } catch (error) {
      throw new Error(`KEY_STORE=redis: ${error.message}, and the signing keys are read from it at start`);
    }
    return opened('Redis', () =>
      RedisKeyStore.open({
        client: connections.redis,
        ...(config.storePrefix === undefined ? {} : { prefix: config.storePrefix }),
        ...shared,
      }),
    );
  }
  if (config.keyStore === 'postgres') {
    return opened('PostgreSQL', () =>
      PostgresKeyStore.open({
        pool: connections.pool,
        table: `${config.storePrefix ?? 'pkce_'}signing_keys`,
        migrate: true, // safe on every start, and on several instances at once (an advisory lock)
        ...postgres,
        ...shared,
      }),
    );
  }
  return config.signingJwks === undefined ? undefined : MemoryKeyStore.fromJwks(config.signingJwks);
}

/** A key-encryption key that opens none of the stored keys is this app's setting at fault: say which. */
async function opened(server, open) {
  try {
    return await open();
  } catch (error) {
    if (error?.code === 'ERR_KEY_ENCRYPTION_KEY') {
      // The library's message names the kid and the KEK's id, never a key.
      throw new ConfigError('KEY_ENCRYPTION_KEY', `does not decrypt the signing keys in ${server}: ${error.message}`);
    }
    throw error;
  }
}
