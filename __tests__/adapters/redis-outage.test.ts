import { Redis } from 'ioredis';
import { RedisCodeStore, RedisRefreshTokenStore } from '../../lib/index.js';
import { describeTimes, expectCleanOutage, redeemAll, STORE_TIMEOUT_MS, tokenServer, untilRedeemed } from './outage.js';
import { deletePrefix, freshPrefix, RECOMMENDED_REDIS_OPTIONS } from './redis-fixture.js';
import { describeWithServer, once, REDIS_URL } from './services.js';
import { closedPort, TcpProxy } from './tcp-proxy.js';

const REDIS = { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL } as const;
const CONCURRENT = 20;

describeWithServer(REDIS, 'redis-outage', 'Redis unreachable: 503 within the bound, then recovery on its own', (url) => {
  const target = new URL(url);
  let proxy: TcpProxy;
  let client: Redis;
  let prefix: string;
  let server: Awaited<ReturnType<typeof tokenServer>>;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    client = new Redis({ ...RECOMMENDED_REDIS_OPTIONS, host: '127.0.0.1', port: proxy.port, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    prefix = freshPrefix();
    const options = { client, prefix, timeoutMs: STORE_TIMEOUT_MS };
    server = await tokenServer(new RedisCodeStore(options), new RedisRefreshTokenStore(options));
  });

  afterAll(async () => {
    await proxy.restore();
    if (client.status !== 'ready') await once(client, 'ready', 10_000);
    await deletePrefix(client, prefix);
    client.disconnect();
    await server.close();
    await proxy.close();
  });

  it('the server stopped mid-run: 503 temporarily_unavailable at once, no queue, then the same codes redeem once it is back', async () => {
    const [warmUp, ...forms] = await server.issue(CONCURRENT + 1);
    expect((await server.agent.post('/oauth2/token').type('form').send(warmUp!)).status).toBe(200);

    await proxy.cut();
    const answers = await redeemAll(server.agent, forms);
    expectCleanOutage(answers, forms, ['ECONNREFUSED', 'Stream', String(proxy.port), prefix]);
    // Nothing waits in the client for the server to come back: no queue grows through an outage.
    expect(client.commandQueue.length).toBe(0);
    console.info(`Redis stopped mid-run: ${describeTimes(answers)}`);

    await proxy.restore();
    const recovered = await untilRedeemed(server.agent, forms[0]!, 15_000);
    expect(recovered.status).toBe(200);
    console.info(`Redis back: first 200 after ${recovered.ms.toFixed(0)} ms (${recovered.attempts} attempts)`);
    // The outage spent no code: every request that got 503 can be retried.
    const retried = await redeemAll(server.agent, forms.slice(1));
    expect(retried.map((answer) => answer.status)).toEqual(forms.slice(1).map(() => 200));
  }, 30_000);

  it('the server hung (taking connections, never answering): 503 within the bound, then recovery', async () => {
    const forms = await server.issue(CONCURRENT);
    proxy.stall();
    const answers = await redeemAll(server.agent, forms);
    expectCleanOutage(answers, forms, ['timed out', String(proxy.port), prefix]);
    console.info(`Redis hung: ${describeTimes(answers)}`);

    await proxy.restore();
    const recovered = await untilRedeemed(server.agent, forms[0]!, 15_000);
    expect(recovered.status).toBe(200);
    console.info(`Redis back from a hang: first 200 after ${recovered.ms.toFixed(0)} ms (${recovered.attempts} attempts)`);
    expect(client.commandQueue.length).toBe(0);
  }, 30_000);

  it('a closed port from the start: the router still starts, and answers 503 within the bound', async () => {
    const down = new Redis({ ...RECOMMENDED_REDIS_OPTIONS, host: '127.0.0.1', port: await closedPort() });
    down.on('error', () => undefined);
    const options = { client: down, timeoutMs: STORE_TIMEOUT_MS };
    const lonely = await tokenServer(new RedisCodeStore(options), new RedisRefreshTokenStore(options));
    try {
      // Codes can be issued only where the store is up: these are valid elsewhere, unknown here.
      const forms = await server.issue(CONCURRENT);
      const answers = await redeemAll(lonely.agent, forms);
      expectCleanOutage(answers, forms, ['ECONNREFUSED', 'Stream']);
      console.info(`Redis port closed: ${describeTimes(answers)}`);
    } finally {
      down.disconnect();
      await lonely.close();
    }
  }, 30_000);
});
