import net from 'node:net';
import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { bounded, StoreTimeoutError } from '../../../lib/stores/bounded-call.js';
import { RedisDeadlineError, RedisScript, type RedisScriptClient } from '../../../lib/stores/redis/redis-script.js';
import { connectRedis, deletePrefix, freshPrefix } from '../../support/redis-fixture.js';
import { describeWithServer, REDIS_URL } from '../../support/services.js';

const REDIS = { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL } as const;

/**
 * A TCP proxy that can hold back what the client sends and deliver it later, in order: a
 * command stuck in a client's queue or in a failover, which reaches the server after its caller
 * was answered (issue 13 §2). Replies are never held.
 */
class HoldingProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #held: { upstream: net.Socket; chunk: Buffer }[] | undefined;
  /** Resolves once something was held back: the command is on its way, and stuck. */
  #heldOne: (() => void) | undefined;
  port = 0;

  private constructor(target: { host: string; port: number }) {
    this.#server = net.createServer((socket) => {
      const upstream = net.connect(target.port, target.host);
      for (const end of [socket, upstream]) {
        this.#sockets.add(end);
        end.on('error', () => undefined);
        end.on('close', () => {
          socket.destroy();
          upstream.destroy();
        });
      }
      socket.on('data', (chunk: Buffer) => {
        if (this.#held === undefined) upstream.write(chunk);
        else {
          this.#held.push({ upstream, chunk });
          this.#heldOne?.();
        }
      });
      upstream.pipe(socket);
    });
  }

  static async start(target: { host: string; port: number }): Promise<HoldingProxy> {
    const proxy = new HoldingProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', () => resolve()));
    proxy.port = (proxy.#server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** From now on, what the client sends waits here; the promise resolves once something does. */
  hold(): Promise<void> {
    this.#held = [];
    return new Promise((resolve) => (this.#heldOne = resolve));
  }

  /** Deliver everything held back, in order, and forward again. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#heldOne = undefined;
    for (const { upstream, chunk } of held) upstream.write(chunk);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A redeem, as the code store's: sets `redeemed` once, and answers the grant. */
const REDEEM = new RedisScript(`
local grant = redis.call('HGET', KEYS[1], 'grant')
if not grant then return false end
return { redis.call('HSETNX', KEYS[1], 'redeemed', '1'), grant }
`);

const SET = new RedisScript(`redis.call('SET', KEYS[1], ARGV[1]) return 1`);

/** A client that records the scripts it is asked to send, then sends them to the real server. */
function recording(client: Redis): { client: RedisScriptClient; sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    client: {
      evalsha: (sha1, numkeys, ...rest) => {
        sent.push('EVALSHA');
        return client.evalsha(sha1, numkeys, ...rest);
      },
      eval: (script, numkeys, ...rest) => {
        sent.push(script.includes('pkce_body') ? 'EVAL' : `EVAL ${script}`);
        return client.eval(script, numkeys, ...rest);
      },
    },
  };
}

describe('bounded() gives its operation the deadline it enforces', () => {
  it('the second argument is the call start plus timeoutMs, in epoch milliseconds', async () => {
    const before = Date.now();
    const deadline = await bounded('test', 500, async (_onDeadline, at) => at);
    expect(deadline).toBeGreaterThanOrEqual(before + 500);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 500);
  });
});

describeWithServer(
  REDIS,
  'redis-fence',
  'Redis deadline fence: a script that arrives after its caller gave up does nothing',
  (url) => {
    const target = new URL(url);
    const prefix = freshPrefix();
    let direct: Redis;
    let proxy: HoldingProxy;
    let proxied: Redis;

    beforeAll(async () => {
      direct = await connectRedis(url);
      proxy = await HoldingProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
      proxied = await connectRedis(`redis://127.0.0.1:${proxy.port}`);
    });

    afterAll(async () => {
      proxy.release();
      await deletePrefix(direct, prefix);
      proxied.disconnect();
      direct.disconnect();
      await proxy.close();
    });

    afterEach(() => {
      jest.restoreAllMocks();
      proxy.release();
    });

    it('a redeem held back past its deadline, then delivered, leaves the code unredeemed', async () => {
      const key = `${prefix}code:held`;
      await direct.hset(key, 'grant', '{}');
      await REDEEM.run(proxied, [`${prefix}code:warm`], [], Date.now() + 1_000); // the clock offset is known
      const held = proxy.hold();
      let late: Promise<unknown> | undefined;
      // What a store does: the operation gets bounded()'s deadline; bounded() rejects at it (503).
      const answer = bounded('RedisCodeStore.redeem', 100, (_onDeadline, deadline) => {
        late = REDEEM.run(proxied, [key], [], deadline);
        return late;
      });
      late?.catch(() => undefined);
      await held;
      await expect(answer).rejects.toBeInstanceOf(StoreTimeoutError);
      proxy.release();
      // The server got the script, and refused it: the reply says so.
      await expect(late).rejects.toThrow('reached the server after its deadline');
      expect(await direct.hget(key, 'redeemed')).toBeNull();
    });

    it('without a deadline, the same held-back script runs when delivered (what the fence prevents)', async () => {
      const key = `${prefix}code:unfenced`;
      await direct.hset(key, 'grant', '{}');
      const held = proxy.hold();
      const late = REDEEM.run(proxied, [key], []);
      await held;
      const answer = bounded('RedisCodeStore.redeem', 100, () => late);
      await expect(answer).rejects.toBeInstanceOf(StoreTimeoutError);
      proxy.release();
      await expect(late).resolves.toEqual([1, '{}']);
      expect(await direct.hget(key, 'redeemed')).toBe('1');
    });

    it('a script whose deadline passed before it was sent is not sent', async () => {
      const { client, sent } = recording(direct);
      await SET.run(client, [`${prefix}warm`], ['x'], Date.now() + 1_000);
      sent.length = 0;
      await expect(SET.run(client, [`${prefix}unsent`], ['x'], Date.now() - 1)).rejects.toThrow('was not sent');
      expect(sent).toEqual([]);
      expect(await direct.exists(`${prefix}unsent`)).toBe(0);
    });

    it('the first fenced call of a client asks the server its time first, once; later calls do not', async () => {
      const { client, sent } = recording(direct);
      await SET.run(client, [`${prefix}first`], ['1'], Date.now() + 1_000);
      await SET.run(client, [`${prefix}second`], ['2'], Date.now() + 1_000);
      expect(sent.filter((s) => s.includes('TIME'))).toEqual([`EVAL return redis.call('TIME')`]);
      expect(sent[0]).toContain('TIME');
      expect(await direct.mget(`${prefix}first`, `${prefix}second`)).toEqual(['1', '2']);
    });

    it('a process clock stepped back makes the fence refuse one call; that refusal corrects it, and the next call runs', async () => {
      const { client } = recording(direct);
      await SET.run(client, [`${prefix}before-step`], ['x'], Date.now() + 1_000);
      const realNow = Date.now.bind(Date);
      // The process's clock is stepped 60 s back (NTP): its deadlines are now in the server's past.
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 60_000);
      await expect(SET.run(client, [`${prefix}refused`], ['x'], Date.now() + 1_000)).rejects.toBeInstanceOf(
        RedisDeadlineError,
      );
      expect(await direct.exists(`${prefix}refused`)).toBe(0);
      await expect(SET.run(client, [`${prefix}after-step`], ['x'], Date.now() + 1_000)).resolves.toBe(1);
      expect(await direct.get(`${prefix}after-step`)).toBe('x');
    });

    it('a process clock stepped forward is corrected by the next reply, so a late script after it is still refused', async () => {
      const realNow = Date.now.bind(Date);
      await SET.run(proxied, [`${prefix}warm`], ['x'], realNow() + 1_000);
      // 60 s forward: the old estimate would put every deadline 60 s late on the server.
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 60_000);
      await SET.run(proxied, [`${prefix}in-time`], ['x'], Date.now() + 1_000);
      const held = proxy.hold();
      let late: Promise<unknown> | undefined;
      const answer = bounded('RedisCodeStore.save', 100, (_onDeadline, deadline) => {
        late = SET.run(proxied, [`${prefix}late`], ['x'], deadline);
        return late;
      });
      late?.catch(() => undefined);
      await held;
      await expect(answer).rejects.toBeInstanceOf(StoreTimeoutError);
      proxy.release();
      await expect(late).rejects.toBeInstanceOf(RedisDeadlineError);
      expect(await direct.exists(`${prefix}late`)).toBe(0);
    });

    describe('the fenced script answers exactly what the script itself answers', () => {
      const bodies = [
        ['nil', `return nil`],
        ['no return', `redis.call('GET', KEYS[1])`],
        ['false', `return false`],
        ['true', `return true`],
        ['an integer', `return 42`],
        ['a string', `return 'text'`],
        ['an array', `return { 1, 'two', { 3 } }`],
        ['an array that ends at a nil', `return { 1, nil, 3 }`],
        ['an array with false inside', `return { 1, false, 3 }`],
        ['a status reply', `return redis.status_reply('OK')`],
        ['its own arguments, and only them', `return ARGV`],
      ] as const;

      it.each(bodies)('%s', async (_name, body) => {
        const key = `${prefix}reply`;
        const expected = await direct.eval(body, 1, key, 'a', 'b');
        await expect(new RedisScript(body).run(direct, [key], ['a', 'b'], Date.now() + 1_000)).resolves.toEqual(
          expected,
        );
      });
    });
  },
);
