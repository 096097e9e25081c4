import type pg from 'pg';
import { MemoryKeyStore } from '../../../lib/index.js';
import { keyStoreContract } from '../../../lib/testing/index.js';
import { fakeClock } from '../../support/fake-clock.js';
import { createPool } from '../../support/postgres-fixture.js';
import { type AnyRedis, connectRedis } from '../../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../../support/services.js';
import { postgresKeyFixture, redisKeyFixture, TEST_CACHE_TTL, TEST_ROTATION } from './key-store-fixtures.js';

const memoryClock = fakeClock();
keyStoreContract(
  { describe, it, expect },
  {
    name: 'MemoryKeyStore',
    ...memoryClock,
    retiredKeyLifetime: 1_800 + 60,
    create: async () => {
      const store = await MemoryKeyStore.generate({ alg: 'ES256', maxTokenTtl: 1_800, now: memoryClock.now });
      return { open: async () => store };
    },
  },
);

/** What both shared stores can do: all of the contract. */
const SHARED = {
  retiredKeyLifetime: TEST_ROTATION.retireAfter,
  cacheTtl: TEST_CACHE_TTL,
  rotation: TEST_ROTATION,
  sharedBackend: true,
  checkAtRest: true,
  checkEncryption: true,
} as const;

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'postgres-key-store-contract',
  'PostgresKeyStore on a real server',
  (url) => {
    let pool: pg.Pool;
    beforeAll(() => {
      pool = createPool(url);
    });
    afterAll(() => pool.end());
    const clock = fakeClock();
    keyStoreContract(
      { describe, it, expect },
      { name: 'PostgresKeyStore', ...clock, ...SHARED, create: () => postgresKeyFixture(pool, clock.now) },
    );
  },
);

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'redis-key-store-contract',
  'RedisKeyStore on a real server',
  (url) => {
    let client: AnyRedis;
    beforeAll(async () => {
      client = await connectRedis(url);
    });
    afterAll(() => client.disconnect());
    const clock = fakeClock();
    keyStoreContract(
      { describe, it, expect },
      { name: 'RedisKeyStore', ...clock, ...SHARED, create: () => redisKeyFixture(client, clock.now) },
    );
  },
);
