import type { Redis } from 'ioredis';
import type pg from 'pg';
import { hashSecret, REFRESH_TOKEN_BYTES, randomSecret } from '../../lib/crypto/secrets.js';
import { GRACE_REISSUES } from '../../lib/grants/refresh-token.js';
import {
  MemoryCodeStore,
  MemoryRefreshTokenStore,
  PostgresCodeStore,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  RedisRefreshTokenStore,
} from '../../lib/index.js';
import { type GraceServer, type GraceStores, graceServer, rotations } from '../support/grace-server.js';
import { createPool, dropTables, freshTable } from '../support/postgres-fixture.js';
import { connectRedis, deletePrefix, freshPrefix } from '../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../support/services.js';

/*
 * docs/refresh.md "The grace window": with refreshTokenReuseInterval, a refresh token presented
 * again soon after its rotation (two tabs, a retry after a lost answer) gets a new sibling in its
 * family instead of revoking it; later, or more often, it is reuse (RFC 9700 §4.14.2) as before.
 * Through a real Express app listening on a port, on each store.
 */

/** The HTTP rules of the grace window, on the stores `make` gives (fresh for each test). */
function graceRules(make: () => Promise<GraceStores> | GraceStores): void {
  let stores: GraceStores;
  let servers: GraceServer[];
  const start = async (interval: number): Promise<GraceServer> => {
    const server = await graceServer(stores, interval);
    servers.push(server);
    return server;
  };
  beforeEach(async () => {
    stores = await make();
    servers = [];
  });
  afterEach(async () => {
    for (const server of servers) await server.close();
    await stores.cleanup();
  });

  it('two tabs refreshing with one token at once both get 200 (interval 10), each with a working token of the family', async () => {
    const h = await start(10);
    const token = await h.signIn();
    const [a, b] = await Promise.all([h.refresh(token), h.refresh(token)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refresh_token).not.toBe(b.body.refresh_token);
    expect(rotations(h.events).sort()).toEqual([true, undefined]);
    // Each tab goes on with its own token; neither was taken for reuse.
    for (const tab of [a, b]) expect((await h.refresh(tab.body.refresh_token)).status).toBe(200);
  });

  it('a token presented again 9 s after its rotation (a retry after a lost answer) gets 200, and a refresh_rotated event with graceReissue', async () => {
    const h = await start(10);
    const token = await h.signIn();
    const first = await h.refresh(token);
    h.clock.offsetMs = 9_000;
    const retry = await h.refresh(token);
    expect(retry.status).toBe(200);
    expect(rotations(h.events)).toEqual([undefined, true]);
    expect((await h.refresh(first.body.refresh_token)).status).toBe(200);
  });

  it('a token presented again 10 s after its rotation, the window past, is reuse: 400 invalid_grant, and the family is revoked', async () => {
    const h = await start(10);
    const token = await h.signIn();
    const first = await h.refresh(token);
    expect(first.status).toBe(200);
    h.clock.offsetMs = 10_000;
    const late = await h.refresh(token);
    expect([late.status, late.body.error]).toEqual([400, 'invalid_grant']);
    expect(h.events.some((event) => event.type === 'refresh_reuse_detected')).toBe(true);
    const successor = await h.refresh(first.body.refresh_token);
    expect([successor.status, successor.body.error]).toEqual([400, 'invalid_grant']);
  });

  it(`past ${GRACE_REISSUES} reissues within the window, the next presentation is reuse, and revokes the family`, async () => {
    const h = await start(10);
    const token = await h.signIn();
    const answers = [];
    for (let use = 0; use <= GRACE_REISSUES; use++) answers.push(await h.refresh(token));
    expect(answers.map((res) => res.status)).toEqual(Array(GRACE_REISSUES + 1).fill(200));
    const onceTooMany = await h.refresh(token);
    expect([onceTooMany.status, onceTooMany.body.error]).toEqual([400, 'invalid_grant']);
    for (const res of answers) expect((await h.refresh(res.body.refresh_token)).status).toBe(400);
  });

  it('interval 0 (the default) is strict rotation: of two at once, one gets 200, the other 400, and the family is revoked', async () => {
    const h = await start(0);
    const token = await h.signIn();
    const answers = await Promise.all([h.refresh(token), h.refresh(token)]);
    expect(answers.map((res) => res.status).sort()).toEqual([200, 400]);
    const winner = answers.find((res) => res.status === 200)!;
    expect((await h.refresh(winner.body.refresh_token)).status).toBe(400);
    expect(rotations(h.events)).toEqual([undefined]);
  });

  it('a refresh token of an earlier version (naming no family) gets no window: presented again at once, it is reuse', async () => {
    const h = await start(10);
    const token = await h.signIn();
    // The family of a real sign-in, under a token of the old format: 128 random characters.
    const found = await stores.refreshTokenStore.find?.(hashSecret(token), token.slice(0, 43));
    const old = randomSecret(REFRESH_TOKEN_BYTES);
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    await stores.refreshTokenStore.save(hashSecret(old), { ...found!, expiresAt }, expiresAt);
    expect((await h.refresh(old)).status).toBe(200);
    const again = await h.refresh(old);
    expect([again.status, again.body.error]).toEqual([400, 'invalid_grant']);
  });
}

describe('the grace window (refreshTokenReuseInterval) on the memory stores', () => {
  graceRules(() => {
    const codeStore = new MemoryCodeStore();
    const refreshTokenStore = new MemoryRefreshTokenStore();
    return {
      codeStore,
      refreshTokenStore,
      cleanup: () => {
        codeStore.close();
        refreshTokenStore.close();
      },
    };
  });
});

const REDIS = { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL } as const;
describeWithServer(REDIS, 'redis-grace', 'the grace window (refreshTokenReuseInterval) on Redis', (url) => {
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis(url);
  });
  afterAll(async () => {
    await client.quit();
  });
  graceRules(() => {
    const prefix = freshPrefix();
    return {
      codeStore: new RedisCodeStore({ client, prefix }),
      refreshTokenStore: new RedisRefreshTokenStore({ client, prefix }),
      cleanup: () => deletePrefix(client, prefix),
    };
  });
});

const POSTGRES = { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL } as const;
describeWithServer(POSTGRES, 'postgres-grace', 'the grace window (refreshTokenReuseInterval) on PostgreSQL', (url) => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = createPool(url);
  });
  afterAll(async () => {
    await pool.end();
  });
  graceRules(async () => {
    const [codeTable, refreshTable] = [freshTable('pkce_gc'), freshTable('pkce_gr')];
    const codeStore = new PostgresCodeStore({ pool, table: codeTable });
    const refreshTokenStore = new PostgresRefreshTokenStore({ pool, table: refreshTable });
    await Promise.all([codeStore.migrate(), refreshTokenStore.migrate()]);
    return {
      codeStore,
      refreshTokenStore,
      cleanup: () => dropTables(pool, [codeTable, refreshTable, `${refreshTable}_revoked_families`]),
    };
  });
});
