import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import {
  PostgresKeyStore,
  type PostgresKeyStoreOptions,
  RedisKeyStore,
  type RedisKeyStoreOptions,
} from '../../../lib/index.js';
import { dropTables, dumpTables, freshTable } from '../../support/postgres-fixture.js';
import { type AnyRedis, deletePrefix, dumpPrefix, freshPrefix } from '../../support/redis-fixture.js';

/** The rotation the shared key stores' tests run: a day a key, published an hour ahead, kept two hours. */
export const TEST_ROTATION = { every: 86_400, publishAhead: 3_600, retireAfter: 7_200 } as const;
export const TEST_CACHE_TTL = 30;

type Overrides = { keyEncryptionKey?: Uint8Array } & Partial<PostgresKeyStoreOptions & RedisKeyStoreOptions>;

/** Change one character in the middle of a `iv.ciphertext.tag` ciphertext. */
export function flipOne(ciphertext: string): string {
  const at = Math.floor(ciphertext.length / 2);
  const was = ciphertext[at];
  return `${ciphertext.slice(0, at)}${was === 'A' ? 'B' : 'A'}${ciphertext.slice(at + 1)}`;
}

/** A fresh table on `pool`, and PostgresKeyStores over it. */
export function postgresKeyFixture(pool: pg.Pool, now: () => number, defaults: Partial<PostgresKeyStoreOptions> = {}) {
  const table = freshTable('pkce_k');
  const keyEncryptionKey = randomBytes(32);
  return {
    table,
    keyEncryptionKey,
    open: (overrides: Overrides = {}) =>
      PostgresKeyStore.open({
        pool,
        table,
        keyEncryptionKey,
        rotation: TEST_ROTATION,
        cacheTtl: TEST_CACHE_TTL,
        alg: 'ES256',
        migrate: true,
        now,
        ...defaults,
        ...overrides,
      }),
    readAtRest: () => dumpTables(pool, [table]),
    async tamper() {
      const { rows } = await pool.query<{ kid: string; private_jwk: string }>(
        `SELECT kid, private_jwk FROM ${table} LIMIT 1`,
      );
      const row = rows[0]!;
      await pool.query(`UPDATE ${table} SET private_jwk = $2 WHERE kid = $1`, [row.kid, flipOne(row.private_jwk)]);
    },
    cleanup: () => dropTables(pool, [table]),
  };
}

/** A fresh prefix on `client`, and RedisKeyStores under it. */
export function redisKeyFixture(client: AnyRedis, now: () => number, defaults: Partial<RedisKeyStoreOptions> = {}) {
  const prefix = freshPrefix();
  const keyEncryptionKey = randomBytes(32);
  const hash = `${prefix}signing-keys`;
  return {
    prefix,
    keyEncryptionKey,
    open: (overrides: Overrides = {}) =>
      RedisKeyStore.open({
        client,
        prefix,
        keyEncryptionKey,
        rotation: TEST_ROTATION,
        cacheTtl: TEST_CACHE_TTL,
        alg: 'ES256',
        now,
        ...defaults,
        ...overrides,
      }),
    readAtRest: () => dumpPrefix(client, prefix),
    async tamper() {
      const fields = await client.hgetall(hash);
      const field = Object.keys(fields).find((name) => name.startsWith('secret:'))!;
      const [kekId, ciphertext] = fields[field]!.split(' ');
      await client.hset(hash, field, `${kekId} ${flipOne(ciphertext!)}`);
    },
    cleanup: () => deletePrefix(client, prefix),
  };
}
