import type pg from 'pg';
import { PostgresCodeStore, PostgresRefreshTokenStore } from '../../lib/index.js';
import { describeTimes, expectCleanOutage, redeemAll, STORE_TIMEOUT_MS, tokenServer, untilRedeemed } from './outage.js';
import { createPool, dropTables, freshTable } from './postgres-fixture.js';
import { DATABASE_URL, describeWithServer } from './services.js';
import { closedPort, TcpProxy } from './tcp-proxy.js';

const POSTGRES = { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL } as const;
const CONCURRENT = 20;

/** The same database, reached through another host and port. */
function via(url: string, port: number): string {
  const rerouted = new URL(url);
  rerouted.hostname = '127.0.0.1';
  rerouted.port = String(port);
  return rerouted.toString();
}

describeWithServer(POSTGRES, 'postgres-outage', 'PostgreSQL unreachable: 503 within the bound, then recovery on its own', (url) => {
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
    const refreshTokenStore = new PostgresRefreshTokenStore({ pool, table: refreshTable, timeoutMs: STORE_TIMEOUT_MS });
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

  it('the server stopped mid-run: 503 temporarily_unavailable at once, no queue, then the same codes redeem once it is back', async () => {
    const [warmUp, ...forms] = await server.issue(CONCURRENT + 1);
    expect((await server.agent.post('/oauth2/token').type('form').send(warmUp!)).status).toBe(200);

    await proxy.cut();
    const answers = await redeemAll(server.agent, forms);
    expectCleanOutage(answers, forms, ['ECONNREFUSED', 'terminated', String(proxy.port), codeTable]);
    // Nothing waits in the pool for the server to come back: no queue grows through an outage.
    expect(pool.waitingCount).toBe(0);
    console.info(`PostgreSQL stopped mid-run: ${describeTimes(answers)}`);

    await proxy.restore();
    const recovered = await untilRedeemed(server.agent, forms[0]!, 15_000);
    expect(recovered.status).toBe(200);
    console.info(`PostgreSQL back: first 200 after ${recovered.ms.toFixed(0)} ms (${recovered.attempts} attempts)`);
    const retried = await redeemAll(server.agent, forms.slice(1));
    expect(retried.map((answer) => answer.status)).toEqual(forms.slice(1).map(() => 200));
  }, 30_000);

  it('the server hung (taking connections, never answering): 503 within the bound, then recovery', async () => {
    const forms = await server.issue(CONCURRENT);
    proxy.stall();
    const answers = await redeemAll(server.agent, forms);
    expectCleanOutage(answers, forms, ['timeout', String(proxy.port), codeTable]);
    console.info(`PostgreSQL hung: ${describeTimes(answers)}`);

    await proxy.restore();
    const recovered = await untilRedeemed(server.agent, forms[0]!, 15_000);
    expect(recovered.status).toBe(200);
    console.info(`PostgreSQL back from a hang: first 200 after ${recovered.ms.toFixed(0)} ms (${recovered.attempts} attempts)`);
    expect(pool.waitingCount).toBe(0);
  }, 30_000);

  it('a closed port from the start: the router still starts, and answers 503 within the bound', async () => {
    const down = createPool(via(url, await closedPort()));
    const options = { pool: down, timeoutMs: STORE_TIMEOUT_MS };
    const lonely = await tokenServer(new PostgresCodeStore(options), new PostgresRefreshTokenStore(options));
    try {
      const forms = await server.issue(CONCURRENT);
      const answers = await redeemAll(lonely.agent, forms);
      expectCleanOutage(answers, forms, ['ECONNREFUSED']);
      console.info(`PostgreSQL port closed: ${describeTimes(answers)}`);
    } finally {
      await down.end();
      await lonely.close();
    }
  }, 30_000);
});
