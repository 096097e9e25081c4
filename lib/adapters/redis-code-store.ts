import { bounded } from './bounded-call.js';
import type { AuthorizationCodeGrant, AuthorizationCodeStore, EpochSeconds, RedeemResult } from './interfaces.js';
import { readFlaggedJson, RedisScript, resolveRedisOptions, type RedisStoreConfig, type RedisStoreOptions } from './redis-script.js';

/**
 * One hash per code: `grant` (JSON) and, once redeemed, `redeemed`. Redis expires the key at the
 * code's `expiresAt`, so a redeemed code answers `'replayed'` until then and `'unknown'` after.
 */
const SAVE = new RedisScript(`
redis.call('HSET', KEYS[1], 'grant', ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
`);

/** HSETNX decides, inside one script, which caller redeems: it sets the flag once, for one caller. */
const REDEEM = new RedisScript(`
local grant = redis.call('HGET', KEYS[1], 'grant')
if not grant then return false end
return { redis.call('HSETNX', KEYS[1], 'redeemed', '1'), grant }
`);

/**
 * Authorization codes in Redis, shared by every instance that uses the same server and prefix.
 * Each operation is one Lua script on one key, so it is atomic, and works on a Redis Cluster.
 * Keys are `{prefix}code:{hash of the code}`; the code itself never reaches Redis.
 */
export class RedisCodeStore implements AuthorizationCodeStore {
  readonly #config: RedisStoreConfig;

  constructor(options: RedisStoreOptions) {
    this.#config = resolveRedisOptions('RedisCodeStore', options);
  }

  save(key: string, grant: AuthorizationCodeGrant, expiresAt: EpochSeconds): Promise<void> {
    return bounded('RedisCodeStore.save', this.#config.timeoutMs, async () => {
      await SAVE.run(this.#config.client, [this.#key(key)], [JSON.stringify(grant), String(expiresAt)]);
    });
  }

  redeem(key: string): Promise<RedeemResult> {
    return bounded('RedisCodeStore.redeem', this.#config.timeoutMs, async () => {
      const reply = readFlaggedJson(await REDEEM.run(this.#config.client, [this.#key(key)]));
      if (reply === undefined) return { outcome: 'unknown' };
      const grant = JSON.parse(reply.json) as AuthorizationCodeGrant;
      return { outcome: reply.first ? 'redeemed' : 'replayed', grant };
    });
  }

  #key(key: string): string {
    return `${this.#config.prefix}code:${key}`;
  }
}
