import { bounded } from './bounded-call.js';
import type { EpochSeconds, RefreshTokenRecord, RefreshTokenStore, RotateResult } from './interfaces.js';
import { readFlaggedJson, RedisScript, resolveRedisOptions, type RedisStoreConfig, type RedisStoreOptions } from './redis-script.js';
import { UNSEEN_FAMILY_REVOCATION_TTL } from './revocation-memory.js';

/*
 * Layout. A family's keys share the hash tag `{familyId}`, so one script can read and write all
 * of them on a Redis Cluster:
 *   {prefix}refresh-family:{F}          hash: `revoked`, and `expiresAt` (the family's end)
 *   {prefix}refresh-family:{F}:{token}  hash: `record` (JSON), and `spent` once rotated
 * `rotate(key)` is given only the token's hash, so one more key finds the family:
 *   {prefix}refresh:{token}             the family id; written once, never changed
 * Every key expires on its own: a token at its `expiresAt`, a family at its end.
 */

/**
 * Into a revoked family nothing is saved; otherwise the family lives at least as long as this
 * token's family end. Given a third key (a client of one server, not a Cluster), the script
 * writes the token's index there too, so a save is one command; on a Cluster the index is in
 * another hash slot and SAVE_INDEX writes it.
 */
const SAVE = new RedisScript(`
if redis.call('HGET', KEYS[1], 'revoked') then return 0 end
local familyEnd = tonumber(ARGV[3])
if familyEnd > tonumber(redis.call('HGET', KEYS[1], 'expiresAt') or '0') then
  redis.call('HSET', KEYS[1], 'expiresAt', ARGV[3])
  redis.call('EXPIREAT', KEYS[1], ARGV[3])
end
redis.call('HSET', KEYS[2], 'record', ARGV[1])
redis.call('EXPIREAT', KEYS[2], ARGV[2])
if KEYS[3] then
  redis.call('SET', KEYS[3], ARGV[4])
  redis.call('EXPIREAT', KEYS[3], ARGV[2])
end
return 1
`);

const SAVE_INDEX = new RedisScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
`);

const FIND_FAMILY = new RedisScript(`return redis.call('GET', KEYS[1])`);

/** The family's revocation and the token's spending are decided together, in one script. */
const ROTATE = new RedisScript(`
if redis.call('HGET', KEYS[1], 'revoked') then return false end
local record = redis.call('HGET', KEYS[2], 'record')
if not record then return false end
return { redis.call('HSETNX', KEYS[2], 'spent', '1'), record }
`);

/** Read-only: the record, unless the family is revoked. */
const FIND = new RedisScript(`
if redis.call('HGET', KEYS[1], 'revoked') then return false end
return redis.call('HGET', KEYS[2], 'record')
`);

/** Kept until the family's end; for a family never seen, for ARGV[1] seconds. */
const REVOKE = new RedisScript(`
redis.call('HSET', KEYS[1], 'revoked', '1')
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
`);

/**
 * Refresh tokens in Redis, shared by every instance that uses the same server and prefix.
 * Rotation and family revocation are each one Lua script over the keys of one family (one hash
 * slot, so a Redis Cluster works). A revoked family's tokens are never rotated again; their
 * records expire on their own. Only hashes of the tokens reach Redis.
 */
export class RedisRefreshTokenStore implements RefreshTokenStore {
  readonly #config: RedisStoreConfig;
  /** Whether a save is one script over three hash slots: on one server, until it says CROSSSLOT. */
  #oneScriptSave: boolean;

  constructor(options: RedisStoreOptions) {
    this.#config = resolveRedisOptions('RedisRefreshTokenStore', options);
    this.#oneScriptSave = this.#config.singleServer;
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    return bounded('RedisRefreshTokenStore.save', this.#config.timeoutMs, async () => {
      const { client } = this.#config;
      const familyAndToken = [this.#familyKey(record.familyId), this.#tokenKey(record.familyId, key)];
      const args = [JSON.stringify(record), String(expiresAt), String(record.familyExpiresAt), record.familyId];
      if (this.#oneScriptSave) {
        try {
          await SAVE.run(client, [...familyAndToken, this.#indexKey(key)], args);
          return;
        } catch (error) {
          // A proxy that shards keys behind one address (so not an ioredis Cluster) refuses a
          // script over several hash slots, before running it: from now on, save as on a Cluster.
          if (!(error instanceof Error && error.message.startsWith('CROSSSLOT'))) throw error;
          this.#oneScriptSave = false;
        }
      }
      // On a Cluster the two scripts are sent together (one round trip): they touch different
      // hash slots, and neither order can expose a half-saved token. An index whose record is
      // missing (not yet written, or refused for a revoked family) makes rotate() answer
      // 'unknown'; a record without its index cannot be found at all. Both expire with the token.
      await Promise.all([
        SAVE.run(client, familyAndToken, args),
        SAVE_INDEX.run(client, [this.#indexKey(key)], [record.familyId, String(expiresAt)]),
      ]);
    });
  }

  rotate(key: string): Promise<RotateResult> {
    return bounded('RedisRefreshTokenStore.rotate', this.#config.timeoutMs, async () => {
      const familyId = await this.#familyOf(key);
      if (familyId === undefined) return { outcome: 'unknown' };
      const reply = readFlaggedJson(await ROTATE.run(this.#config.client, [this.#familyKey(familyId), this.#tokenKey(familyId, key)]));
      if (reply === undefined) return { outcome: 'unknown' };
      const record = JSON.parse(reply.json) as RefreshTokenRecord;
      return { outcome: reply.first ? 'rotated' : 'reused', record };
    });
  }

  find(key: string): Promise<RefreshTokenRecord | undefined> {
    return bounded('RedisRefreshTokenStore.find', this.#config.timeoutMs, async () => {
      const familyId = await this.#familyOf(key);
      if (familyId === undefined) return undefined;
      const json = await FIND.run(this.#config.client, [this.#familyKey(familyId), this.#tokenKey(familyId, key)]);
      return typeof json === 'string' ? (JSON.parse(json) as RefreshTokenRecord) : undefined;
    });
  }

  revokeFamily(familyId: string): Promise<void> {
    return bounded('RedisRefreshTokenStore.revokeFamily', this.#config.timeoutMs, async () => {
      await REVOKE.run(this.#config.client, [this.#familyKey(familyId)], [String(UNSEEN_FAMILY_REVOCATION_TTL)]);
    });
  }

  /** The family of the token stored under `key`, from its index; `undefined` if none. */
  async #familyOf(key: string): Promise<string | undefined> {
    const familyId = await FIND_FAMILY.run(this.#config.client, [this.#indexKey(key)]);
    return typeof familyId === 'string' ? familyId : undefined;
  }

  #indexKey(key: string): string {
    return `${this.#config.prefix}refresh:${key}`;
  }

  #familyKey(familyId: string): string {
    return `${this.#config.prefix}refresh-family:{${familyId}}`;
  }

  #tokenKey(familyId: string, key: string): string {
    return `${this.#familyKey(familyId)}:${key}`;
  }
}
