// The code stores the router is benchmarked on. The memory store always runs; a shared store
// runs when its URL is set and its adapter is in the build. Adding a store is one entry here.
import { randomUUID } from 'node:crypto';

/**
 * Each backend: the environment variable that enables it, the library export it needs, and how
 * to build a code store (plus a close()) from the built library.
 */
export const STORE_BACKENDS = {
  memory: {
    env: undefined,
    adapter: 'MemoryCodeStore',
    async create(lib) {
      const codeStore = new lib.MemoryCodeStore();
      return { codeStore, close: async () => codeStore.close() };
    },
  },
  redis: {
    env: 'REDIS_URL',
    adapter: 'RedisCodeStore',
    driver: 'ioredis',
    async create(lib) {
      const { default: Redis } = await import('ioredis');
      const client = new Redis(process.env.REDIS_URL);
      // A fresh prefix per run, so runs never see each other's codes.
      const codeStore = new lib.RedisCodeStore({ client, prefix: `pkce-bench:${randomUUID()}:` });
      return { codeStore, close: async () => void (await client.quit()) };
    },
  },
  postgres: {
    env: 'DATABASE_URL',
    adapter: 'PostgresCodeStore',
    driver: 'pg',
    async create(lib) {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
      const table = `pkce_bench_codes_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const codeStore = new lib.PostgresCodeStore({ pool, table });
      await codeStore.migrate();
      return {
        codeStore,
        close: async () => {
          await pool.query(`DROP TABLE IF EXISTS ${table}`);
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
  if (typeof lib[backend.adapter] !== 'function') return `${backend.adapter} is not in this build`;
  if (backend.driver !== undefined) {
    try {
      await import(backend.driver);
    } catch {
      return `the ${backend.driver} package is not installed`;
    }
  }
  return undefined;
}
