import { Redis } from 'ioredis';
import type pg from 'pg';
import { GRACE_REISSUES } from '../../lib/grants/refresh-token.js';
import {
  PostgresCodeStore,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  RedisRefreshTokenStore,
} from '../../lib/index.js';
import { type GraceServer, graceServer, rotations } from '../support/grace-server.js';
import { STORE_TIMEOUT_MS } from '../support/outage.js';
import { createPool, dropTables, freshTable, via } from '../support/postgres-fixture.js';
import { deletePrefix, freshPrefix, RECOMMENDED_REDIS_OPTIONS } from '../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, once, REDIS_URL } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/*
 * docs/contract.md "When a store fails": a 503 never costs the user what they presented, and a
 * grace reissue (docs/refresh.md "The grace window") is no exception. The store's server is
 * reached through a TcpProxy that cuts it, or loses the answer to the statement; the request that
 * would have been reissued a sibling gets 503, and the same token is then reissued as if the
 * failed request had never been made: the window's count was not spent by it.
 */

/** A family whose first token was rotated once: that token, now inside its window. */
async function spentInsideWindow(h: GraceServer): Promise<string> {
  const token = await h.signIn();
  expect((await h.refresh(token)).status).toBe(200);
  return token;
}

const REDIS = { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL } as const;
describeWithServer(
  REDIS,
  'grace-store-failure-redis',
  'the grace window on Redis: a store failure during a reissue',
  (url) => {
    const target = new URL(url);
    let proxy: TcpProxy;
    let client: Redis;
    let prefix: string;
    let h: GraceServer;

    beforeEach(async () => {
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
      client = new Redis({ ...RECOMMENDED_REDIS_OPTIONS, host: '127.0.0.1', port: proxy.port, lazyConnect: true });
      client.on('error', () => undefined);
      await client.connect();
      prefix = freshPrefix();
      const options = { client, prefix, timeoutMs: STORE_TIMEOUT_MS };
      const stores = { codeStore: new RedisCodeStore(options), refreshTokenStore: new RedisRefreshTokenStore(options) };
      h = await graceServer({ ...stores, cleanup: () => undefined }, 10);
    });

    afterEach(async () => {
      await proxy.restore();
      if (client.status !== 'ready') await once(client, 'ready', 10_000);
      await deletePrefix(client, prefix);
      client.disconnect();
      await h.close();
      await proxy.close();
    });

    it('Redis cut as the reissue is asked for: 503 temporarily_unavailable, and once it is back the same token is reissued, twice', async () => {
      const token = await spentInsideWindow(h);
      await proxy.cut();
      const failed = await h.refresh(token);
      expect([failed.status, failed.body.error]).toEqual([503, 'temporarily_unavailable']);
      await proxy.restore();
      await once(client, 'ready', 10_000);
      // Every reissue of the window is still there: the failed request spent none of them.
      for (let reissue = 1; reissue <= GRACE_REISSUES; reissue++) {
        const res = await h.refresh(token);
        expect(res.status).toBe(200);
        expect((await h.refresh(res.body.refresh_token)).status).toBe(200);
      }
      expect(rotations(h.events).filter((reissued) => reissued === true)).toHaveLength(GRACE_REISSUES);
    });

    it('Redis hanging as the reissue is asked for: 503 within the timeout, and the same token then is reissued', async () => {
      const token = await spentInsideWindow(h);
      proxy.stall();
      const failed = await h.refresh(token);
      expect([failed.status, failed.body.error]).toEqual([503, 'temporarily_unavailable']);
      // The restore drops the stalled connection (the script on it never reached Redis); the client reconnects.
      const reconnected = once(client, 'ready', 10_000);
      await proxy.restore();
      await reconnected;
      const retried = await h.refresh(token);
      expect(retried.status).toBe(200);
      expect(rotations(h.events).at(-1)).toBe(true);
    });
  },
);

const POSTGRES = { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL } as const;
describeWithServer(
  POSTGRES,
  'grace-store-failure-postgres',
  'the grace window on PostgreSQL: a store failure during a reissue',
  (url) => {
    const target = new URL(url);
    let proxy: TcpProxy;
    let pool: pg.Pool;
    let tables: string[];
    let refreshTable: string;
    let h: GraceServer;

    beforeEach(async () => {
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      pool = createPool(via(url, proxy.port));
      const codeTable = freshTable('pkce_gfc');
      refreshTable = freshTable('pkce_gfr');
      tables = [codeTable, refreshTable, `${refreshTable}_revoked_families`];
      // Statements sent as text every time, so the proxy can tell the reissue by its table's name:
      // prepared, the reissue would go by the name the family's first rotation prepared it under.
      const options = { pool, timeoutMs: STORE_TIMEOUT_MS, preparedStatements: false };
      const codeStore = new PostgresCodeStore({ ...options, table: codeTable });
      const refreshTokenStore = new PostgresRefreshTokenStore({ ...options, table: refreshTable });
      await codeStore.migrate();
      await refreshTokenStore.migrate();
      h = await graceServer({ codeStore, refreshTokenStore, cleanup: () => undefined }, 10);
    });

    afterEach(async () => {
      await h.close();
      await pool.end();
      await proxy.close();
      const direct = createPool(url);
      await dropTables(direct, tables);
      await direct.end();
    });

    it('the answer to the statement reissuing a sibling is lost: 503, rolled back, and the same token is then reissued, twice', async () => {
      const token = await spentInsideWindow(h);
      // The next statement naming the table is the one that reissues: its answer never arrives.
      proxy.loseAnswerAfter(refreshTable);
      const lost = await h.refresh(token);
      expect(proxy.trapSprung).toBe(true);
      expect([lost.status, lost.body.error]).toEqual([503, 'temporarily_unavailable']);
      // Rolled back with its transaction: the count, and the sibling, were never kept.
      for (let reissue = 1; reissue <= GRACE_REISSUES; reissue++) {
        const res = await h.refresh(token);
        expect(res.status).toBe(200);
        expect((await h.refresh(res.body.refresh_token)).status).toBe(200);
      }
      expect(rotations(h.events).filter((reissued) => reissued === true)).toHaveLength(GRACE_REISSUES);
    });

    it('PostgreSQL cut as the reissue is asked for: 503, and once it is back the same token is reissued', async () => {
      const token = await spentInsideWindow(h);
      await proxy.cut();
      const failed = await h.refresh(token);
      expect([failed.status, failed.body.error]).toEqual([503, 'temporarily_unavailable']);
      await proxy.restore();
      const retried = await h.refresh(token);
      expect(retried.status).toBe(200);
      expect(rotations(h.events).at(-1)).toBe(true);
    });
  },
);
