import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisScriptClient } from '../../lib/index.js';
import { SINGLE_REDIS_SETTINGS } from './deployment-clients.js';
import { uniqueName } from './services.js';

/**
 * The client settings docs/stores.md recommends for one server (deployment-clients.js has them all):
 * fail at once while disconnected, give up on a command after a second, keep reconnecting, and
 * never send again, after a reconnect, a command whose caller was already told it failed: a
 * redeem replayed then would spend a code whose token request got 503.
 */
export const RECOMMENDED_REDIS_OPTIONS = SINGLE_REDIS_SETTINGS satisfies RedisOptions;

/** A client for tests, connected before it is returned. */
export async function connectRedis(
  url: string,
  options: Partial<typeof RECOMMENDED_REDIS_OPTIONS> = {},
): Promise<Redis> {
  const client = new Redis(url, { ...RECOMMENDED_REDIS_OPTIONS, lazyConnect: true, ...options });
  await client.connect();
  return client;
}

/** A fresh prefix for one test; nobody else on the shared server uses it. */
export function freshPrefix(): string {
  return `${uniqueName('pkce-test')}:`;
}

/** A client of one server, of a Sentinel's master, or of a Cluster. */
export type AnyRedis = Redis | Cluster;

/** Every key under `prefix`, found with SCAN (never KEYS, the server is shared); on a Cluster, on every master. */
export async function keysUnder(client: AnyRedis, prefix: string): Promise<string[]> {
  if (client instanceof Cluster) {
    const perMaster = await Promise.all(client.nodes('master').map((node) => keysUnder(node, prefix)));
    return perMaster.flat();
  }
  const found: string[] = [];
  let cursor = '0';
  // Braces in a MATCH pattern are literal; only *, ?, [ and \ are special.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Every key under `prefix` with its value, as text: what the store keeps at rest. */
export async function dumpPrefix(client: AnyRedis, prefix: string): Promise<string> {
  const lines: string[] = [];
  for (const key of await keysUnder(client, prefix)) {
    const type = await client.type(key);
    const value = type === 'hash' ? await client.hgetall(key) : type === 'string' ? await client.get(key) : `<${type}>`;
    lines.push(`${key} ${JSON.stringify(value)}`);
  }
  return lines.join('\n');
}

/** Delete every key under `prefix` (on a Cluster one by one: a DEL of keys in several slots is refused). */
export async function deletePrefix(client: AnyRedis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (client instanceof Cluster) {
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((key) => client.del(key)));
    return;
  }
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
}

/** Each script a store sent through {@link recordingClient}: its keys. */
export type ScriptCall = { keys: string[] };

/**
 * The real client behind a client that records each script's keys and says what `isCluster`
 * says (`undefined`: a client that does not say). Unless it says it is not a Cluster (or is told
 * `refusesCrossSlot`, as a sharding proxy would), it refuses a script whose keys span hash slots
 * with CROSSSLOT, as a Redis Cluster does. Every command it lets through runs on the real server.
 */
export function recordingClient(
  client: Redis,
  isCluster: boolean | undefined,
  refusesCrossSlot = isCluster !== false,
): RedisScriptClient & { calls: ScriptCall[] } {
  const calls: ScriptCall[] = [];
  const send = (run: () => Promise<unknown>, numkeys: number, keysAndArgs: string[]): Promise<unknown> => {
    const keys = keysAndArgs.slice(0, numkeys);
    // A call without keys is the deadline fence asking the server's clock, not a script of a store.
    if (numkeys > 0) calls.push({ keys });
    if (refusesCrossSlot && new Set(keys.map((key) => calculateSlot(key))).size > 1) {
      return Promise.reject(new Error("CROSSSLOT Keys in request don't hash to the same slot"));
    }
    return run();
  };
  return {
    ...(isCluster === undefined ? {} : { isCluster }),
    calls,
    evalsha: (sha1, numkeys, ...rest) => send(() => client.evalsha(sha1, numkeys, ...rest), numkeys, rest),
    eval: (script, numkeys, ...rest) => send(() => client.eval(script, numkeys, ...rest), numkeys, rest),
  };
}
