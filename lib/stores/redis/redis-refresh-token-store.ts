import type {
  EpochSeconds,
  GraceRotateResult,
  GraceWindow,
  RefreshTokenRecord,
  RefreshTokenStore,
  RotateResult,
} from '../../contracts.js';
import { bounded } from '../bounded-call.js';
import { storedRefreshTokenRecord, UNSEEN_FAMILY_REVOCATION_TTL } from '../refresh-records.js';
import {
  RedisScript,
  type RedisScriptClient,
  type RedisStoreConfig,
  type RedisStoreOptions,
  resolveRedisOptions,
} from './redis-script.js';

/*
 * Layout. A family's keys share the hash tag `{familyId}`, so one script can read and write all
 * of them on a Redis Cluster:
 *   {prefix}refresh-family:{F}          hash: `revoked`, and `expiresAt` (the family's end)
 *   {prefix}refresh-family:{F}:{token}  hash: `record` (JSON), and `spent` once rotated
 * A token's hash may also hold `expiresAt`, its own expiry, which then overrides the record's
 * (a successor saved by ROTATE_AND_SAVE keeps its predecessor's record as it was). A token spent
 * by ROTATE_WITHIN_GRACE holds in `spent` its rotation's time (epoch milliseconds, the router's
 * clock: the start of its grace window) and in `reissues` how many siblings it was given; one
 * spent by ROTATE or ROTATE_AND_SAVE holds `spent` = 1 and no `reissues`: no window.
 * A refresh token names its family (`newRefreshToken`), so the router passes the family as a
 * hint and the token is found in the family's slot directly. Without a hint (a token of 0.1.0,
 * or a caller of `rotate(key)` alone), one more key finds the family:
 *   {prefix}refresh:{token}             the family id; written once by `save`, never changed
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

/**
 * The family's revocation and the token's spending are decided together, in one script. The
 * answer is `{ first, record, expiresAt or false }`.
 */
const ROTATE = new RedisScript(`
if redis.call('HGET', KEYS[1], 'revoked') then return false end
local token = redis.call('HMGET', KEYS[2], 'record', 'expiresAt')
if not token[1] then return false end
return { redis.call('HSETNX', KEYS[2], 'spent', '1'), token[1], token[2] }
`);

/**
 * ROTATE and, for the one caller that rotates, the save of the successor (KEYS[3]) with the same
 * record, kept until ARGV[1] or the family's end, whichever is first: both in one script over one
 * family's slot. The expiry is checked before the first write, so the script never stops halfway.
 */
const ROTATE_AND_SAVE = new RedisScript(`
local expiresAt = tonumber(ARGV[1])
if not expiresAt then return redis.error_reply('ERR pkce-token-router: bad expiry') end
if redis.call('HGET', KEYS[1], 'revoked') then return false end
local token = redis.call('HMGET', KEYS[2], 'record', 'expiresAt')
if not token[1] then return false end
local first = redis.call('HSETNX', KEYS[2], 'spent', '1')
if first == 1 then
  local familyEnd = tonumber(redis.call('HGET', KEYS[1], 'expiresAt') or ARGV[1]) or expiresAt
  if familyEnd < expiresAt then expiresAt = familyEnd end
  redis.call('HSET', KEYS[3], 'record', token[1], 'expiresAt', string.format('%d', expiresAt))
  redis.call('EXPIREAT', KEYS[3], string.format('%d', expiresAt))
end
return { first, token[1], token[2] }
`);

/**
 * ROTATE_AND_SAVE with the grace window (RefreshTokenStore.rotateWithinGrace): the token not yet
 * spent is rotated, its window's start (ARGV[2], epoch ms) kept in `spent`; a token spent by this
 * script less than ARGV[3] seconds before ARGV[2], reissued fewer than ARGV[4] times, is
 * reissued. Either way KEYS[3] is saved as ROTATE_AND_SAVE saves a successor. The answer is
 * `{ 1 rotated | 2 reissued | 0 reused, record, expiresAt or false, reissues }`. Every argument is
 * checked before the first write, so the script never stops halfway.
 */
const ROTATE_WITHIN_GRACE = new RedisScript(`
local expiresAt = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local maxReissues = tonumber(ARGV[4])
if not (expiresAt and now and interval and maxReissues) then
  return redis.error_reply('ERR pkce-token-router: bad grace arguments')
end
if redis.call('HGET', KEYS[1], 'revoked') then return false end
local token = redis.call('HMGET', KEYS[2], 'record', 'expiresAt', 'spent', 'reissues')
if not token[1] then return false end
local outcome = 1
local reissues = 0
if token[3] then
  reissues = tonumber(token[4])
  local start = tonumber(token[3])
  if not reissues or not start or now >= start + interval * 1000 or reissues >= maxReissues then
    return { 0, token[1], token[2], reissues or 0 }
  end
  outcome = 2
  reissues = reissues + 1
  redis.call('HSET', KEYS[2], 'reissues', tostring(reissues))
else
  redis.call('HSET', KEYS[2], 'spent', ARGV[2], 'reissues', '0')
end
local familyEnd = tonumber(redis.call('HGET', KEYS[1], 'expiresAt') or ARGV[1]) or expiresAt
if familyEnd < expiresAt then expiresAt = familyEnd end
redis.call('HSET', KEYS[3], 'record', token[1], 'expiresAt', string.format('%d', expiresAt))
redis.call('EXPIREAT', KEYS[3], string.format('%d', expiresAt))
return { outcome, token[1], token[2], reissues }
`);

/** Read-only: the record and the token's own expiry, unless the family is revoked. */
const FIND = new RedisScript(`
if redis.call('HGET', KEYS[1], 'revoked') then return false end
local token = redis.call('HMGET', KEYS[2], 'record', 'expiresAt', 'spent')
if not token[1] then return false end
if token[3] then return { 0, token[1], token[2] } end
return { 1, token[1], token[2] }
`);

/** Kept until the family's end; for a family never seen, for ARGV[1] seconds. */
const REVOKE = new RedisScript(`
redis.call('HSET', KEYS[1], 'revoked', '1')
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
`);

/** Read-only: 1 when the family is revoked, else 0. */
const IS_REVOKED = new RedisScript(`
if redis.call('HGET', KEYS[1], 'revoked') then return 1 end
return 0
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
    layouts.set(this, {
      client: this.#config.client,
      familyKey: (familyId) => this.#familyKey(familyId),
      tokenKey: (familyId, key) => this.#tokenKey(familyId, key),
    });
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    return bounded('RedisRefreshTokenStore.save', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const { client } = this.#config;
      const familyAndToken = [this.#familyKey(record.familyId), this.#tokenKey(record.familyId, key)];
      const args = [JSON.stringify(record), String(expiresAt), String(record.familyExpiresAt), record.familyId];
      if (this.#oneScriptSave) {
        try {
          await SAVE.run(client, [...familyAndToken, this.#indexKey(key)], args, deadline);
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
        SAVE.run(client, familyAndToken, args, deadline),
        SAVE_INDEX.run(client, [this.#indexKey(key)], [record.familyId, String(expiresAt)], deadline),
      ]);
    });
  }

  rotate(key: string, familyHint?: string): Promise<RotateResult> {
    return bounded('RedisRefreshTokenStore.rotate', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const familyId = familyHint ?? (await this.#familyOf(key, deadline));
      if (familyId === undefined) return { outcome: 'unknown' };
      return rotateResultOf(
        await ROTATE.run(this.#config.client, [this.#familyKey(familyId), this.#tokenKey(familyId, key)], [], deadline),
      );
    });
  }

  rotateAndSave(
    key: string,
    successor: { key: string; expiresAt: EpochSeconds },
    familyHint?: string,
  ): Promise<RotateResult> {
    return bounded('RedisRefreshTokenStore.rotateAndSave', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const familyId = familyHint ?? (await this.#familyOf(key, deadline));
      if (familyId === undefined) return { outcome: 'unknown' };
      const keys = [this.#familyKey(familyId), this.#tokenKey(familyId, key), this.#tokenKey(familyId, successor.key)];
      const result = rotateResultOf(
        await ROTATE_AND_SAVE.run(this.#config.client, keys, [String(successor.expiresAt)], deadline),
      );
      // Found through the index (no hint): the successor gets one too, for callers without a hint.
      if (familyHint === undefined && result.outcome === 'rotated') {
        await SAVE_INDEX.run(
          this.#config.client,
          [this.#indexKey(successor.key)],
          [familyId, String(successor.expiresAt)],
          deadline,
        );
      }
      return result;
    });
  }

  rotateWithinGrace(
    key: string,
    successor: { key: string; expiresAt: EpochSeconds },
    grace: GraceWindow,
    familyHint?: string,
  ): Promise<GraceRotateResult> {
    return bounded(
      'RedisRefreshTokenStore.rotateWithinGrace',
      this.#config.timeoutMs,
      async (_onDeadline, deadline) => {
        const familyId = familyHint ?? (await this.#familyOf(key, deadline));
        if (familyId === undefined) return { outcome: 'unknown' };
        const keys = [
          this.#familyKey(familyId),
          this.#tokenKey(familyId, key),
          this.#tokenKey(familyId, successor.key),
        ];
        const args = [
          String(successor.expiresAt),
          String(grace.now),
          String(grace.interval),
          String(grace.maxReissues),
        ];
        const result = graceResultOf(await ROTATE_WITHIN_GRACE.run(this.#config.client, keys, args, deadline));
        // Found through the index (no hint): the new token gets one too, for callers without a hint.
        if (familyHint === undefined && result.outcome !== 'unknown' && result.outcome !== 'reused') {
          await SAVE_INDEX.run(
            this.#config.client,
            [this.#indexKey(successor.key)],
            [familyId, String(successor.expiresAt)],
            deadline,
          );
        }
        return result;
      },
    );
  }

  find(key: string, familyHint?: string): Promise<RefreshTokenRecord | undefined> {
    return bounded('RedisRefreshTokenStore.find', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const familyId = familyHint ?? (await this.#familyOf(key, deadline));
      if (familyId === undefined) return undefined;
      const reply = readTokenReply(
        await FIND.run(this.#config.client, [this.#familyKey(familyId), this.#tokenKey(familyId, key)], [], deadline),
      );
      return reply?.record;
    });
  }

  inspect(key: string, familyHint?: string): Promise<{ record: RefreshTokenRecord; spent: boolean } | undefined> {
    return bounded('RedisRefreshTokenStore.inspect', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const familyId = familyHint ?? (await this.#familyOf(key, deadline));
      if (familyId === undefined) return undefined;
      const reply = readTokenReply(
        await FIND.run(this.#config.client, [this.#familyKey(familyId), this.#tokenKey(familyId, key)], [], deadline),
      );
      // FIND's first element is 1 for a token not yet spent, as ROTATE's is for the one that spends it.
      return reply === undefined ? undefined : { record: reply.record, spent: !reply.first };
    });
  }

  revokeFamily(familyId: string): Promise<void> {
    return bounded('RedisRefreshTokenStore.revokeFamily', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      await REVOKE.run(
        this.#config.client,
        [this.#familyKey(familyId)],
        [String(UNSEEN_FAMILY_REVOCATION_TTL)],
        deadline,
      );
    });
  }

  isFamilyRevoked(familyId: string): Promise<boolean> {
    return bounded('RedisRefreshTokenStore.isFamilyRevoked', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      return (await IS_REVOKED.run(this.#config.client, [this.#familyKey(familyId)], [], deadline)) === 1;
    });
  }

  /** The family of the token stored under `key`, from its index; `undefined` if none. */
  async #familyOf(key: string, deadline: number): Promise<string | undefined> {
    const familyId = await FIND_FAMILY.run(this.#config.client, [this.#indexKey(key)], [], deadline);
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

/** Where a `RedisRefreshTokenStore` keeps a family: for `RedisCodeStore`'s atomic exchange. */
export interface RedisFamilyLayout {
  client: RedisScriptClient;
  familyKey(familyId: string): string;
  tokenKey(familyId: string, key: string): string;
}

const layouts = new WeakMap<RefreshTokenStore, RedisFamilyLayout>();

/** The layout of `store` when it is a `RedisRefreshTokenStore`. */
export function redisFamilyLayout(store: RefreshTokenStore): RedisFamilyLayout | undefined {
  return layouts.get(store);
}

/** A ROTATE, ROTATE_AND_SAVE or FIND answer: whether this call spent it, and the record. */
function readTokenReply(reply: unknown): { first: boolean; record: RefreshTokenRecord } | undefined {
  if (reply === null || reply === undefined) return undefined;
  if (!Array.isArray(reply) || reply.length < 2 || typeof reply[1] !== 'string') {
    throw new Error('pkce-token-router: unexpected reply from a Redis script');
  }
  const record = storedRefreshTokenRecord(JSON.parse(reply[1]) as RefreshTokenRecord);
  const ownExpiry = reply[2];
  if (typeof ownExpiry === 'string') record.expiresAt = Number(ownExpiry);
  return { first: Number(reply[0]) === 1, record };
}

function rotateResultOf(reply: unknown): RotateResult {
  const token = readTokenReply(reply);
  if (token === undefined) return { outcome: 'unknown' };
  return { outcome: token.first ? 'rotated' : 'reused', record: token.record };
}

/** A ROTATE_WITHIN_GRACE answer: `{ 1 | 2 | 0, record, expiresAt or nil, reissues }`. */
function graceResultOf(reply: unknown): GraceRotateResult {
  const token = readTokenReply(reply);
  if (token === undefined) return { outcome: 'unknown' };
  const code = Number((reply as unknown[])[0]);
  if (code === 1) return { outcome: 'rotated', record: token.record };
  if (code === 2) return { outcome: 'reissued', record: token.record, reissues: Number((reply as unknown[])[3]) };
  return { outcome: 'reused', record: token.record };
}
