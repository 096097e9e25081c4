import type {
  AtomicCodeExchange,
  AuthorizationCodeGrant,
  AuthorizationCodeStore,
  EpochSeconds,
  FirstRefreshToken,
  RedeemResult,
  RefreshTokenStore,
  ReplayStore,
} from '../../contracts.js';
import { familyIdFor } from '../../crypto/secrets.js';
import { bounded } from '../bounded-call.js';
import { firstRefreshTokenRecord } from '../refresh-records.js';
import { type RedisFamilyLayout, redisFamilyLayout } from './redis-refresh-token-store.js';
import {
  RedisScript,
  type RedisStoreConfig,
  type RedisStoreOptions,
  readFlaggedJson,
  resolveRedisOptions,
} from './redis-script.js';

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

/** Read-only: the grant and whether the code was redeemed (1) or not (0). */
const FIND = new RedisScript(`
local grant = redis.call('HGET', KEYS[1], 'grant')
if not grant then return false end
return { redis.call('HEXISTS', KEYS[1], 'redeemed'), grant }
`);

/**
 * The code exchange of {@link AtomicCodeExchange}: the redeem of REDEEM and, for the one caller
 * that redeems, the save of the family's first token, in one script over the keys of one hash
 * slot (the family's). Everything that could fail is checked before the first write, so the
 * script never stops halfway: Redis does not roll a script back.
 *
 * KEYS: the code, the family, the first token. ARGV: the family's end, the token's expiry, and
 * the end of the token's record: `,"familyId":…,"familyExpiresAt":…,"expiresAt":…}`. The record
 * is the grant's JSON with those members appended (JSON.parse keeps the last of a repeated
 * member, so the grant's own `expiresAt` is overridden); the store reads back only the members of
 * a record (`storedRefreshTokenRecord`).
 */
const EXCHANGE = new RedisScript(`
local familyEnd = tonumber(ARGV[1])
local tokenEnd = tonumber(ARGV[2])
if not familyEnd or not tokenEnd then return redis.error_reply('ERR pkce-token-router: bad expiry') end
local grant = redis.call('HGET', KEYS[1], 'grant')
if not grant then return false end
local first = redis.call('HSETNX', KEYS[1], 'redeemed', '1')
if first == 1 and not redis.call('HGET', KEYS[2], 'revoked') then
  if familyEnd > tonumber(redis.call('HGET', KEYS[2], 'expiresAt') or '0') then
    redis.call('HSET', KEYS[2], 'expiresAt', ARGV[1])
    redis.call('EXPIREAT', KEYS[2], ARGV[1])
  end
  redis.call('HSET', KEYS[3], 'record', string.sub(grant, 1, -2) .. ARGV[3])
  redis.call('EXPIREAT', KEYS[3], ARGV[2])
end
return { first, grant }
`);

/**
 * docs/stores.md "Seen once": SET NX decides, for one caller, that the key is new; it then
 * expires at ARGV[1]. One key, so any hash slot of a Cluster. The expiry is checked before the
 * write, so a bad argument writes nothing.
 */
const MARK_SEEN = new RedisScript(`
local expiresAt = tonumber(ARGV[1])
if not expiresAt then return redis.error_reply('ERR pkce-token-router: bad expiry') end
if not redis.call('SET', KEYS[1], '1', 'NX') then return 0 end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return 1
`);

/**
 * Authorization codes in Redis, shared by every instance that uses the same server and prefix.
 * Each operation is one Lua script, so it is atomic, and works on a Redis Cluster: a code lives
 * at `{prefix}code:{F}:{hash of the code}`, where `{F}` is the hash tag of the refresh-token
 * family the code starts, so the code and its family share a hash slot and one script can
 * redeem the one and start the other. The code itself never reaches Redis.
 *
 * Codes saved by version 0.1.0, at `{prefix}code:{hash}`, are still redeemed (without the atomic
 * exchange) until they expire.
 */
export class RedisCodeStore implements AuthorizationCodeStore, ReplayStore {
  readonly #config: RedisStoreConfig;

  constructor(options: RedisStoreOptions) {
    this.#config = resolveRedisOptions('RedisCodeStore', options);
  }

  save(key: string, grant: AuthorizationCodeGrant, expiresAt: EpochSeconds): Promise<void> {
    return bounded('RedisCodeStore.save', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      await SAVE.run(this.#config.client, [this.#key(key)], [JSON.stringify(grant), String(expiresAt)], deadline);
    });
  }

  redeem(key: string): Promise<RedeemResult> {
    return bounded('RedisCodeStore.redeem', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const result = await this.#redeemAt(this.#key(key), deadline);
      return result.outcome === 'unknown' ? this.#redeemAt(this.#legacyKey(key), deadline) : result;
    });
  }

  /** The grant under `key` and whether it was redeemed; read-only. */
  find(key: string): Promise<{ grant: AuthorizationCodeGrant; redeemed: boolean } | undefined> {
    return bounded('RedisCodeStore.find', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const found =
        (await this.#findAt(this.#key(key), deadline)) ?? (await this.#findAt(this.#legacyKey(key), deadline));
      return found;
    });
  }

  async #findAt(
    redisKey: string,
    deadline: number,
  ): Promise<{ grant: AuthorizationCodeGrant; redeemed: boolean } | undefined> {
    const reply = readFlaggedJson(await FIND.run(this.#config.client, [redisKey], [], deadline));
    return reply === undefined
      ? undefined
      : { grant: JSON.parse(reply.json) as AuthorizationCodeGrant, redeemed: reply.first };
  }

  /** Remember `key` until `expiresAt` (epoch seconds), at `{prefix}seen:{key}`; `true` the first time. */
  markSeen(key: string, expiresAt: EpochSeconds): Promise<boolean> {
    return bounded('RedisCodeStore.markSeen', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const reply = await MARK_SEEN.run(
        this.#config.client,
        [`${this.#config.prefix}seen:${key}`],
        [String(expiresAt)],
        deadline,
      );
      return Number(reply) === 1;
    });
  }

  /** With a `RedisRefreshTokenStore` on the same client: the EXCHANGE script. */
  atomicExchange(refreshTokenStore: RefreshTokenStore): AtomicCodeExchange | undefined {
    const family = redisFamilyLayout(refreshTokenStore);
    if (family === undefined || family.client !== this.#config.client) return undefined;
    return (codeKey, first) =>
      bounded('RedisCodeStore.atomicExchange', this.#config.timeoutMs, async (_onDeadline, deadline) => {
        const result = await this.#exchange(family, codeKey, first, deadline);
        if (result.outcome !== 'unknown') return result;
        // A code saved by 0.1.0: redeemed alone, then its first token saved.
        const legacy = await this.#redeemAt(this.#legacyKey(codeKey), deadline);
        if (legacy.outcome === 'redeemed')
          await refreshTokenStore.save(first.key, firstRefreshTokenRecord(legacy.grant, first), first.expiresAt);
        return legacy;
      });
  }

  async #exchange(
    family: RedisFamilyLayout,
    codeKey: string,
    first: FirstRefreshToken,
    deadline: number,
  ): Promise<RedeemResult> {
    // The record is the grant's JSON with this tail: a later member wins in JSON.parse, so the
    // tail's dpopJkt (null: none) stands over the grant's, which is the code's binding, not the
    // family's (firstRefreshTokenRecord; storedRefreshTokenRecord reads null as none).
    const tail = JSON.stringify({
      familyId: first.familyId,
      familyExpiresAt: first.familyExpiresAt,
      expiresAt: first.expiresAt,
      dpopJkt: first.dpopJkt ?? null,
    });
    const reply = await EXCHANGE.run(
      this.#config.client,
      [this.#key(codeKey), family.familyKey(first.familyId), family.tokenKey(first.familyId, first.key)],
      [String(first.familyExpiresAt), String(first.expiresAt), `,${tail.slice(1)}`],
      deadline,
    );
    return redeemResultOf(readFlaggedJson(reply));
  }

  async #redeemAt(redisKey: string, deadline: number): Promise<RedeemResult> {
    return redeemResultOf(readFlaggedJson(await REDEEM.run(this.#config.client, [redisKey], [], deadline)));
  }

  #key(key: string): string {
    return `${this.#config.prefix}code:{${familyIdFor(key)}}:${key}`;
  }

  #legacyKey(key: string): string {
    return `${this.#config.prefix}code:${key}`;
  }
}

function redeemResultOf(reply: { first: boolean; json: string } | undefined): RedeemResult {
  if (reply === undefined) return { outcome: 'unknown' };
  const grant = JSON.parse(reply.json) as AuthorizationCodeGrant;
  return { outcome: reply.first ? 'redeemed' : 'replayed', grant };
}
