import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { familyIdFor } from '../../../lib/crypto/secrets.js';
import { RedisCodeStore, RedisRefreshTokenStore, type RedisScriptClient } from '../../../lib/index.js';
import {
  atomicExchangeContract,
  authorizationCodeStoreContract,
  refreshTokenStoreContract,
  replayStoreContract,
} from '../../../lib/testing/index.js';
import { DISTRIBUTED_REDIS } from '../../support/deployments.js';
import { STORE_TEST_GRANT } from '../../support/helpers.js';
import {
  type AnyRedis,
  connectRedis,
  deletePrefix,
  dumpPrefix,
  freshPrefix,
  keysUnder,
  recordingClient,
} from '../../support/redis-fixture.js';
import { describeWithServer, REDIS_URL } from '../../support/services.js';

const REDIS = { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL } as const;

/** The store contract (lib/testing) on the client `client()` returns, each test under a fresh prefix. */
function storeContracts(client: () => AnyRedis, on: string): void {
  /** A fixture over a fresh prefix: the store's keys, read straight from Redis, then deleted. */
  const fixture =
    <S>(make: (prefix: string) => S) =>
    () => {
      const prefix = freshPrefix();
      return {
        store: make(prefix),
        readAtRest: () => dumpPrefix(client(), prefix),
        cleanup: () => deletePrefix(client(), prefix),
      };
    };

  // Redis decides expiry by its own clock: the suite waits for real (about 2 s per expiry test).
  authorizationCodeStoreContract(
    { describe, it, expect },
    {
      name: `RedisCodeStore${on}`,
      create: fixture((prefix) => new RedisCodeStore({ client: client(), prefix })),
    },
  );
  replayStoreContract(
    { describe, it, expect },
    {
      name: `RedisCodeStore${on}`,
      create: fixture((prefix) => new RedisCodeStore({ client: client(), prefix })),
      checkAtRest: false,
    },
  );
  refreshTokenStoreContract(
    { describe, it, expect },
    {
      name: `RedisRefreshTokenStore${on}`,
      create: fixture((prefix) => new RedisRefreshTokenStore({ client: client(), prefix })),
    },
  );
  // Both stores on one client, one prefix each, as the router gets them.
  atomicExchangeContract(
    { describe, it, expect },
    { name: `RedisCodeStore with RedisRefreshTokenStore${on}`, create: storePair(client, client) },
  );
}

/** A code store and a refresh-token store on the client `through()` gives, under a fresh prefix. */
function storePair(client: () => AnyRedis, through: () => RedisScriptClient) {
  return () => {
    const prefix = freshPrefix();
    const shared = through();
    const store = {
      codeStore: new RedisCodeStore({ client: shared, prefix: `${prefix}c:` }),
      refreshTokenStore: new RedisRefreshTokenStore({ client: shared, prefix: `${prefix}r:` }),
    };
    return { store, readAtRest: () => dumpPrefix(client(), prefix), cleanup: () => deletePrefix(client(), prefix) };
  };
}

describeWithServer(REDIS, 'redis-contract', 'Redis stores on a real server', (url) => {
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis(url);
  });
  afterAll(async () => {
    await client.quit();
  });

  storeContracts(() => client, '');
  // The same contract through a client that says it is a Cluster, and refuses cross-slot scripts as one does.
  refreshTokenStoreContract(
    { describe, it, expect },
    {
      name: 'RedisRefreshTokenStore on a Cluster client',
      create: () => {
        const prefix = freshPrefix();
        return {
          store: new RedisRefreshTokenStore({ client: recordingClient(client, true), prefix }),
          readAtRest: () => dumpPrefix(client, prefix),
          cleanup: () => deletePrefix(client, prefix),
        };
      },
    },
  );

  // Through a client that refuses cross-slot scripts, as a Cluster does: every exchange keeps to one slot.
  atomicExchangeContract(
    { describe, it, expect },
    {
      name: 'RedisCodeStore with RedisRefreshTokenStore on a Cluster client',
      create: storePair(
        () => client,
        () => recordingClient(client, true),
      ),
    },
  );

  describe('Redis specifics', () => {
    const grant = STORE_TEST_GRANT;
    /** A test under a fresh prefix, whose keys are deleted whatever the outcome. */
    const inFreshPrefix = (test: (prefix: string) => Promise<void>) => async () => {
      const prefix = freshPrefix();
      try {
        await test(prefix);
      } finally {
        await deletePrefix(client, prefix);
      }
    };
    const inTenMinutes = () => Math.floor(Date.now() / 1000) + 600;
    const tokenRecord = (familyId: string, familyExpiresAt: number) => ({
      clientId: 'web',
      subject: 'u',
      scope: [],
      familyId,
      familyExpiresAt,
    });
    /** How many hash slots the keys fall in. */
    const slotsOf = (keys: string[]) => new Set(keys.map((key) => calculateSlot(key))).size;

    it(
      'sets each key to expire at the expiresAt it was saved with',
      inFreshPrefix(async (prefix) => {
        const expiresAt = inTenMinutes();
        await new RedisCodeStore({ client, prefix }).save('code-key', { ...grant, expiresAt }, expiresAt);
        await new RedisRefreshTokenStore({ client, prefix }).save(
          'token-key',
          tokenRecord('fam', expiresAt + 60),
          expiresAt,
        );
        const keys = await keysUnder(client, prefix);
        expect(keys).toHaveLength(4);
        for (const key of keys) {
          const expected = key.endsWith('refresh-family:{fam}') ? expiresAt + 60 : expiresAt;
          expect([key, await client.expiretime(key)]).toEqual([key, expected]);
        }
      }),
    );

    it(
      'keeps the keys of one family in one hash slot, so every script works on a Redis Cluster',
      inFreshPrefix(async (prefix) => {
        const store = new RedisRefreshTokenStore({ client, prefix });
        const expiresAt = inTenMinutes();
        await store.save('t1', tokenRecord('family-a', expiresAt), expiresAt);
        await store.save('t2', tokenRecord('family-a', expiresAt), expiresAt);
        await store.revokeFamily('family-a');
        const familyKeys = (await keysUnder(client, prefix)).filter((key) => key.includes('refresh-family:'));
        expect(familyKeys).toHaveLength(3);
        expect(slotsOf(familyKeys)).toBe(1);
      }),
    );

    it(
      'on one server (an ioredis Redis), a refresh token is saved by one script: record, family and index together',
      inFreshPrefix(async (prefix) => {
        const recording = recordingClient(client, false);
        const store = new RedisRefreshTokenStore({ client: recording, prefix });
        const expiresAt = inTenMinutes();
        await store.save('t1', tokenRecord('fam', expiresAt), expiresAt);
        // One script (EVALSHA, or EVAL after a NOSCRIPT) over the family, the token and its index.
        const written = [`${prefix}refresh-family:{fam}`, `${prefix}refresh-family:{fam}:t1`, `${prefix}refresh:t1`];
        expect(recording.calls.length).toBeGreaterThan(0);
        for (const { keys } of recording.calls) expect(keys).toEqual(written);
        expect((await keysUnder(client, prefix)).sort()).toEqual([...written].sort());
        expect((await store.rotate('t1')).outcome).toBe('rotated');
      }),
    );

    it(
      'on one server, a save into a revoked family writes nothing: no record, no index',
      inFreshPrefix(async (prefix) => {
        const store = new RedisRefreshTokenStore({ client: recordingClient(client, false), prefix });
        const expiresAt = inTenMinutes();
        await store.revokeFamily('fam');
        await store.save('t1', tokenRecord('fam', expiresAt), expiresAt);
        expect(await keysUnder(client, prefix)).toEqual([`${prefix}refresh-family:{fam}`]);
        expect((await store.rotate('t1')).outcome).toBe('unknown');
      }),
    );

    it(
      'behind a proxy that says it is one server but refuses cross-slot scripts, saves fall back to single-slot scripts',
      inFreshPrefix(async (prefix) => {
        const recording = recordingClient(client, false, true);
        const store = new RedisRefreshTokenStore({ client: recording, prefix });
        const expiresAt = inTenMinutes();
        await store.save('t1', tokenRecord('fam', expiresAt), expiresAt);
        const afterFirst = recording.calls.length;
        await store.save('t2', tokenRecord('fam', expiresAt), expiresAt);
        expect((await store.rotate('t1')).outcome).toBe('rotated');
        expect((await store.rotate('t2')).outcome).toBe('rotated');
        // The second save went straight to single-slot scripts: nothing was refused.
        for (const { keys } of recording.calls.slice(afterFirst)) expect(slotsOf(keys)).toBe(1);
      }),
    );

    for (const [kind, isCluster] of [
      ['a Cluster client', true],
      ['a client that does not say it is not a Cluster', undefined],
    ] as const) {
      it(
        `with ${kind}, every script keeps to one hash slot`,
        inFreshPrefix(async (prefix) => {
          const recording = recordingClient(client, isCluster);
          const store = new RedisRefreshTokenStore({ client: recording, prefix });
          const expiresAt = inTenMinutes();
          await store.save('t1', tokenRecord('fam', expiresAt), expiresAt);
          expect((await store.rotate('t1')).outcome).toBe('rotated');
          await store.revokeFamily('fam');
          expect(await store.find('t1')).toBeUndefined();
          expect(recording.calls.length).toBeGreaterThan(0);
          for (const { keys } of recording.calls) expect(slotsOf(keys)).toBe(1);
        }),
      );
    }

    it(
      'stores nothing outside its prefix',
      inFreshPrefix(async (prefix) => {
        const expiresAt = inTenMinutes();
        await new RedisCodeStore({ client, prefix }).save('k', { ...grant, expiresAt }, expiresAt);
        // The code's hash, under the hash tag of the family it starts (one slot with that family).
        expect(await keysUnder(client, prefix)).toEqual([`${prefix}code:{${familyIdFor('k')}}:k`]);
      }),
    );
  });
});

// The same contract on the distributed deployments `.ci/run` starts: a real Cluster (3 masters,
// 3 replicas) and a Sentinel's master.
for (const deployment of DISTRIBUTED_REDIS) {
  describeWithServer(
    deployment.server,
    `${deployment.marker}-contract`,
    `Redis stores on a real ${deployment.server.name}`,
    (where) => {
      let client: AnyRedis;
      beforeAll(async () => {
        client = await deployment.connect(where);
      });
      // disconnect(), not quit(): on a Sentinel client, quit() leaves the failover detector's
      // connections to the sentinels open (ioredis 6).
      afterAll(() => client.disconnect());
      storeContracts(() => client, ` on a ${deployment.server.name}`);
    },
  );
}
