import { Cluster, Redis } from 'ioredis';
import { RedisCodeStore } from '../../../lib/index.js';
import { StoreTimeoutError } from '../../../lib/stores/bounded-call.js';
import { CLUSTER_SETTINGS, SENTINEL_SETTINGS } from '../../support/deployment-clients.js';
import { closedPort } from '../../support/tcp-proxy.js';

/** Long enough that an answer within it cannot be the store's own timeout. */
const TIMEOUT_MS = 2_000;

/** How long a redeem took to be refused, and with what. */
async function refusal(client: Cluster | Redis): Promise<{ ms: number; error: unknown }> {
  const store = new RedisCodeStore({ client, timeoutMs: TIMEOUT_MS });
  const started = Date.now();
  const error = await store.redeem('k').then(
    () => new Error('redeemed'),
    (rejection: unknown) => rejection,
  );
  return { ms: Date.now() - started, error };
}

/*
 * docs/stores.md: with the settings it gives, a client that cannot reach
 * its servers answers at once (the router answers 503 in milliseconds), rather than holding the
 * command, and the token request, until the store's timeoutMs.
 */
describe('Redis Cluster and Sentinel settings: an unreachable deployment fails at once', () => {
  it('a Cluster client with the recommended settings, no node reachable, refuses a redeem at once', async () => {
    const client = new Cluster([{ host: '127.0.0.1', port: await closedPort() }], CLUSTER_SETTINGS);
    client.on('error', () => undefined);
    try {
      const { ms, error } = await refusal(client);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(StoreTimeoutError);
      expect(ms).toBeLessThan(TIMEOUT_MS / 4);
    } finally {
      client.disconnect();
    }
  });

  it("a Cluster client with ioredis's default offline queue holds the same redeem until the store's timeout (what the setting prevents)", async () => {
    const client = new Cluster([{ host: '127.0.0.1', port: await closedPort() }], {
      ...CLUSTER_SETTINGS,
      enableOfflineQueue: true,
    });
    client.on('error', () => undefined);
    try {
      const { error } = await refusal(client);
      expect(error).toBeInstanceOf(StoreTimeoutError);
    } finally {
      client.disconnect();
    }
  });

  it('a Sentinel client with the recommended settings, no sentinel reachable, refuses a redeem at once', async () => {
    const client = new Redis({
      ...SENTINEL_SETTINGS,
      sentinels: [{ host: '127.0.0.1', port: await closedPort() }],
      name: 'mymaster',
    });
    client.on('error', () => undefined);
    try {
      const { ms, error } = await refusal(client);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(StoreTimeoutError);
      expect(ms).toBeLessThan(TIMEOUT_MS / 4);
    } finally {
      client.disconnect();
    }
  });
});
