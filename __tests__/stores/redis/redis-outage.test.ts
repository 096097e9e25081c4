import { Redis } from 'ioredis';
import { RedisCodeStore, RedisRefreshTokenStore } from '../../../lib/index.js';
import { outageCases, STORE_TIMEOUT_MS, tokenServer } from '../../support/outage.js';
import { deletePrefix, freshPrefix, RECOMMENDED_REDIS_OPTIONS } from '../../support/redis-fixture.js';
import { describeWithServer, once, REDIS_URL } from '../../support/services.js';
import { closedPort, TcpProxy } from '../../support/tcp-proxy.js';

const REDIS = { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL } as const;

describeWithServer(
  REDIS,
  'redis-outage',
  'Redis unreachable: 503 within the bound, then recovery on its own',
  (url) => {
    const target = new URL(url);
    let proxy: TcpProxy;
    let client: Redis;
    const prefix = freshPrefix();
    let server: Awaited<ReturnType<typeof tokenServer>>;

    beforeAll(async () => {
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
      client = new Redis({ ...RECOMMENDED_REDIS_OPTIONS, host: '127.0.0.1', port: proxy.port, lazyConnect: true });
      client.on('error', () => undefined);
      await client.connect();
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

    outageCases({
      name: 'Redis',
      server: () => server,
      proxy: () => proxy,
      // Nothing waits in the client for the server to come back.
      queued: () => client.commandQueue.length,
      internals: {
        cut: ['ECONNREFUSED', 'Stream', prefix],
        stall: ['timed out', prefix],
        closed: ['ECONNREFUSED', 'Stream'],
      },
      async serverAtClosedPort() {
        const down = new Redis({ ...RECOMMENDED_REDIS_OPTIONS, host: '127.0.0.1', port: await closedPort() });
        down.on('error', () => undefined);
        const options = { client: down, timeoutMs: STORE_TIMEOUT_MS };
        const lonely = await tokenServer(new RedisCodeStore(options), new RedisRefreshTokenStore(options));
        return {
          agent: lonely.agent,
          close: async () => {
            down.disconnect();
            await lonely.close();
          },
        };
      },
    });
  },
);
