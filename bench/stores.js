// The stores the router is benchmarked on. The memory stores always run; a shared store runs
// when its URL is set. Adding a store is one entry here. Each run writes under its own prefix
// or tables, and removes them when it ends: the servers may be shared with other people's runs.
import { randomBytes } from 'node:crypto';

/**
 * Each backend: the environment variable that enables it, the library exports it needs, and how
 * to build the router's stores (plus a close()) from the built library. `stores` is spread into
 * the example app's options; the memory backend leaves the refresh tokens to its default store.
 */
export const STORE_BACKENDS = {
  memory: {
    env: undefined,
    adapters: ['MemoryCodeStore'],
    async create(lib) {
      const codeStore = new lib.MemoryCodeStore();
      return { stores: { codeStore }, close: async () => codeStore.close() };
    },
  },
  redis: {
    env: 'REDIS_URL',
    adapters: ['RedisCodeStore', 'RedisRefreshTokenStore'],
    driver: 'ioredis',
    async create(lib) {
      const { Redis } = await import('ioredis');
      // The client settings docs/stores.md recommends, plus auto-pipelining: concurrent requests'
      // commands share one write (docs/performance.md "How it measures").
      const client = new Redis(process.env.REDIS_URL, {
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 1,
        commandTimeout: 1000,
        socketTimeout: 2000,
        enableAutoPipelining: process.env.BENCH_REDIS_AUTOPIPELINING !== '0',
      });
      await new Promise((resolve, reject) => {
        client.once('ready', resolve);
        client.once('error', reject);
      });
      const prefix = `pkce-bench:${randomBytes(6).toString('hex')}:`;
      return {
        stores: {
          codeStore: new lib.RedisCodeStore({ client, prefix }),
          refreshTokenStore: new lib.RedisRefreshTokenStore({ client, prefix }),
        },
        close: async () => {
          // Refresh tokens live for 30 days: take this run's keys away now.
          await deleteRedisKeys(client, prefix);
          await client.quit();
        },
      };
    },
  },
  postgres: {
    env: 'DATABASE_URL',
    adapters: ['PostgresCodeStore', 'PostgresRefreshTokenStore'],
    driver: 'pg',
    async create(lib) {
      const { default: pg } = await import('pg');
      // The pool settings docs/stores.md recommends (and pg's default of 10 connections).
      const pool = new pg.Pool({
        connectionString: process.env.DATABASE_URL,
        connectionTimeoutMillis: 2000,
        query_timeout: 2000,
      });
      const stem = `pkce_bench_${randomBytes(4).toString('hex')}`;
      const codeStore = new lib.PostgresCodeStore({ pool, table: `${stem}_codes` });
      const refreshTokenStore = new lib.PostgresRefreshTokenStore({ pool, table: `${stem}_refresh` });
      await codeStore.migrate();
      await refreshTokenStore.migrate();
      return {
        stores: { codeStore, refreshTokenStore },
        close: async () => {
          await dropPostgresTables(pool, stem);
          await pool.end();
        },
      };
    },
  },
};

/**
 * The shared key stores of the keys targets (docs/keys.md "Shared key stores"), each on its own
 * table or prefix, with a fresh key-encryption key: `create(lib, alg)` resolves to the opened
 * store and a close() that removes what it wrote. The backend of the same name must be available.
 */
export const KEY_STORE_BACKENDS = {
  redis: {
    adapter: 'RedisKeyStore',
    async create(lib, alg) {
      const { Redis } = await import('ioredis');
      const client = new Redis(process.env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      await new Promise((resolve, reject) => {
        client.once('ready', resolve);
        client.once('error', reject);
      });
      const prefix = `pkce-bench-keys:${randomBytes(6).toString('hex')}:`;
      const keyStore = await lib.RedisKeyStore.open({ client, prefix, alg, keyEncryptionKey: randomBytes(32) });
      return {
        keyStore,
        close: async () => {
          await deleteRedisKeys(client, prefix);
          await client.quit();
        },
      };
    },
  },
  postgres: {
    adapter: 'PostgresKeyStore',
    async create(lib, alg) {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000 });
      const stem = `pkce_bench_${randomBytes(4).toString('hex')}`;
      const keyStore = await lib.PostgresKeyStore.open({
        pool,
        table: `${stem}_keys`,
        migrate: true,
        alg,
        keyEncryptionKey: randomBytes(32),
      });
      return {
        keyStore,
        close: async () => {
          await dropPostgresTables(pool, stem);
          await pool.end();
        },
      };
    },
  },
};

/** Why a backend cannot run here, or undefined when it can. */
export async function unavailableReason(name, lib) {
  const backend = STORE_BACKENDS[name];
  if (backend === undefined) return `unknown store "${name}"`;
  if (backend.env !== undefined && !process.env[backend.env]) return `${backend.env} is not set`;
  const missing = backend.adapters.filter((adapter) => typeof lib[adapter] !== 'function');
  if (missing.length > 0) return `${missing.join(', ')} not in this build`;
  if (backend.driver !== undefined) {
    try {
      await import(backend.driver);
    } catch {
      return `the ${backend.driver} package is not installed`;
    }
  }
  return undefined;
}

/** Drop the tables named `${stem}_…`: a run's stores' own tables, whatever they named them (the refresh store keeps two). */
export async function dropPostgresTables(pool, stem) {
  const { rows } = await pool.query('SELECT tablename FROM pg_tables WHERE tablename LIKE $1', [`${stem}\\_%`]);
  for (const { tablename } of rows) await pool.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
}

/** Delete every key under `prefix`, found with SCAN (never KEYS: the server may be shared). */
export async function deleteRedisKeys(client, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
