import type pg from 'pg';
import { PostgresCodeStore, PostgresRefreshTokenStore } from '../../../lib/index.js';
import { outageCases, STORE_TIMEOUT_MS, tokenServer } from '../../support/outage.js';
import { createPool, dropTables, freshTable, via } from '../../support/postgres-fixture.js';
import { DATABASE_URL, describeWithServer } from '../../support/services.js';
import { closedPort, TcpProxy } from '../../support/tcp-proxy.js';

const POSTGRES = { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL } as const;

describeWithServer(
  POSTGRES,
  'postgres-outage',
  'PostgreSQL unreachable: 503 within the bound, then recovery on its own',
  (url) => {
    const target = new URL(url);
    let proxy: TcpProxy;
    let pool: pg.Pool;
    const codeTable = freshTable('pkce_oc');
    const refreshTable = freshTable('pkce_or');
    const tables = [codeTable, refreshTable, `${refreshTable}_revoked_families`];
    let server: Awaited<ReturnType<typeof tokenServer>>;

    beforeAll(async () => {
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      pool = createPool(via(url, proxy.port));
      const codeStore = new PostgresCodeStore({ pool, table: codeTable, timeoutMs: STORE_TIMEOUT_MS });
      const refreshTokenStore = new PostgresRefreshTokenStore({
        pool,
        table: refreshTable,
        timeoutMs: STORE_TIMEOUT_MS,
      });
      await codeStore.migrate();
      await refreshTokenStore.migrate();
      server = await tokenServer(codeStore, refreshTokenStore);
    });

    afterAll(async () => {
      await proxy.restore();
      const direct = createPool(url);
      await dropTables(direct, tables);
      await direct.end();
      await pool.end();
      await server.close();
      await proxy.close();
    });

    outageCases({
      name: 'PostgreSQL',
      server: () => server,
      proxy: () => proxy,
      // Nothing waits in the pool for the server to come back.
      queued: () => pool.waitingCount,
      internals: {
        cut: ['ECONNREFUSED', 'terminated', codeTable],
        stall: ['timeout', codeTable],
        closed: ['ECONNREFUSED'],
      },
      async serverAtClosedPort() {
        const down = createPool(via(url, await closedPort()));
        const options = { pool: down, timeoutMs: STORE_TIMEOUT_MS };
        const lonely = await tokenServer(new PostgresCodeStore(options), new PostgresRefreshTokenStore(options));
        return {
          agent: lonely.agent,
          close: async () => {
            await down.end();
            await lonely.close();
          },
        };
      },
    });
  },
);
