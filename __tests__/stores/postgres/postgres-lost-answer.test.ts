import type pg from 'pg';
import { PostgresCodeStore, PostgresRefreshTokenStore } from '../../../lib/index.js';
import { refreshForm } from '../../support/helpers.js';
import { STORE_TIMEOUT_MS, tokenServer } from '../../support/outage.js';
import { createPool, dropTables, freshTable, via } from '../../support/postgres-fixture.js';
import { DATABASE_URL, describeWithServer } from '../../support/services.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

/*
 * docs/contract.md "When a store fails": a 503 never costs the user what they presented. The
 * PostgreSQL stores run the statement that spends a code or a refresh token in a transaction of
 * their own and send COMMIT only once its rows are back (runSpendingStatement). Here the answer
 * to that statement is lost on its way (the proxy drops both sockets, as a PgBouncer restarted
 * or a network cut would), or arrives after the request was answered 503: the transaction is
 * then never committed, and the same code or refresh token works on the retry. What no store can
 * undo, an answer lost after the COMMIT itself reached the server, is the contract's fourth row.
 */

const POSTGRES = { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL } as const;

describeWithServer(POSTGRES, 'postgres-lost-answer', 'PostgreSQL: the answer to a spending statement lost', (url) => {
  const target = new URL(url);

  describe.each([true, false])('preparedStatements: %s', (preparedStatements) => {
    let proxy: TcpProxy;
    let pool: pg.Pool;
    let codeTable: string;
    let refreshTable: string;
    let server: Awaited<ReturnType<typeof tokenServer>>;

    beforeEach(async () => {
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      // A pool of its own per test: each statement is prepared (its text sent) on first use.
      pool = createPool(via(url, proxy.port));
      codeTable = freshTable('pkce_lac');
      refreshTable = freshTable('pkce_lar');
      const options = { pool, timeoutMs: STORE_TIMEOUT_MS, preparedStatements };
      const codeStore = new PostgresCodeStore({ ...options, table: codeTable });
      const refreshTokenStore = new PostgresRefreshTokenStore({ ...options, table: refreshTable });
      await codeStore.migrate();
      await refreshTokenStore.migrate();
      server = await tokenServer(codeStore, refreshTokenStore);
    });

    afterEach(async () => {
      await server.close();
      await pool.end();
      await proxy.close();
      const direct = createPool(url);
      await dropTables(direct, [codeTable, refreshTable, `${refreshTable}_revoked_families`]);
      await direct.end();
    });

    const exchange = (form: Record<string, string>) => server.agent.post('/oauth2/token').type('form').send(form);

    it('the answer to the statement redeeming the code is lost: 503, and the same code then gets tokens', async () => {
      const [form] = await server.issue(1);
      // The code was saved already: the next statement naming its table is the one that redeems it.
      proxy.loseAnswerAfter(codeTable);
      const lost = await exchange(form!);
      expect(proxy.trapSprung).toBe(true);
      expect([lost.status, lost.body.error]).toEqual([503, 'temporarily_unavailable']);

      const retried = await exchange(form!);
      expect(retried.status).toBe(200);
      expect(typeof retried.body.refresh_token).toBe('string');
    });

    it('the answer to the statement rotating a refresh token is lost: 503, and the same token then rotates', async () => {
      const [form] = await server.issue(1);
      const { refresh_token: refreshToken } = (await exchange(form!)).body as { refresh_token: string };
      proxy.loseAnswerAfter(refreshTable);
      const lost = await exchange(refreshForm(refreshToken));
      expect(proxy.trapSprung).toBe(true);
      expect([lost.status, lost.body.error]).toEqual([503, 'temporarily_unavailable']);

      const retried = await exchange(refreshForm(refreshToken));
      expect(retried.status).toBe(200);
      // Not taken for reuse: the family lives on, and its new token rotates in turn.
      expect((await exchange(refreshForm(retried.body.refresh_token as string))).status).toBe(200);
    });

    it('the statement redeeming the code answers after its request got 503: it is rolled back, and the code then gets tokens', async () => {
      const [form] = await server.issue(1);
      proxy.delayAnswerAfter(STORE_TIMEOUT_MS + 300, codeTable);
      const late = await exchange(form!);
      expect([late.status, late.body.error]).toEqual([503, 'temporarily_unavailable']);
      // The retry waits on the row the late transaction holds, until that one decides.
      const retried = await exchange(form!);
      expect(proxy.trapSprung).toBe(true);
      expect(retried.status).toBe(200);
    });

    it('the answer to the COMMIT itself is lost: 503 and the code is spent (docs/contract.md "When a store fails", fourth row)', async () => {
      const [form] = await server.issue(1);
      proxy.loseAnswerAfter(codeTable, 'COMMIT');
      const lost = await exchange(form!);
      expect(proxy.trapSprung).toBe(true);
      expect([lost.status, lost.body.error]).toEqual([503, 'temporarily_unavailable']);

      // The default (ciam) profile's answer to a code already used: docs/contract.md "Errors".
      const retried = await exchange(form!);
      expect([retried.status, retried.body.error]).toEqual([401, 'invalid_client']);
    });
  });
});
