import { checkOptionsObject } from '../../config/option-checks.js';
import { bounded } from '../bounded-call.js';
import type { WrappedKey } from '../key-encryption.js';
import type { KeyTimes } from '../key-schedule.js';
import {
  type KeyBackend,
  SHARED_KEY_STORE_OPTIONS,
  SharedKeyStore,
  type SharedKeyStoreOptions,
  type StoredKey,
} from '../shared-key-store.js';
import { RedisScript, type RedisStoreConfig, type RedisStoreOptions, resolveRedisOptions } from './redis-script.js';

/** Options of {@link RedisKeyStore.open}. */
export interface RedisKeyStoreOptions extends SharedKeyStoreOptions, RedisStoreOptions {}

/*
 * One hash, `{prefix}signing-keys`, holds every key, so each script touches one key (any hash
 * slot of a Cluster). A key is three fields: `key:{kid}` (JSON: alg, period, createdAt),
 * `times:{kid}` ("signsFrom retiredAt", "-" for none) and `secret:{kid}` ("kekId ciphertext");
 * `period:{n}` names the kid of period n's key. HSETNX on it is what lets one instance make a
 * period's key.
 */

const READ = new RedisScript(`return redis.call('HGETALL', KEYS[1])`);

/** ARGV: kid, meta JSON, times, secret, period ('' for a key added by hand). */
const INSERT = new RedisScript(`
if redis.call('HEXISTS', KEYS[1], 'key:' .. ARGV[1]) == 1 then return 0 end
if ARGV[5] ~= '' and redis.call('HSETNX', KEYS[1], 'period:' .. ARGV[5], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'key:' .. ARGV[1], ARGV[2], 'times:' .. ARGV[1], ARGV[3], 'secret:' .. ARGV[1], ARGV[4])
return 1
`);

/** ARGV: kid, times. */
const SET_TIMES = new RedisScript(`
if redis.call('HEXISTS', KEYS[1], 'key:' .. ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'times:' .. ARGV[1], ARGV[2])
return 1
`);

/** ARGV: kid, the old KEK id, the new secret. Only while the key is still under the old KEK. */
const REWRAP = new RedisScript(`
local secret = redis.call('HGET', KEYS[1], 'secret:' .. ARGV[1])
if not secret or string.sub(secret, 1, #ARGV[2] + 1) ~= ARGV[2] .. ' ' then return 0 end
redis.call('HSET', KEYS[1], 'secret:' .. ARGV[1], ARGV[3])
return 1
`);

/** ARGV: kid, period ('' for none), kid, period, … */
const DELETE = new RedisScript(`
for i = 1, #ARGV, 2 do
  local kid = ARGV[i]
  redis.call('HDEL', KEYS[1], 'key:' .. kid, 'times:' .. kid, 'secret:' .. kid)
  if ARGV[i + 1] ~= '' and redis.call('HGET', KEYS[1], 'period:' .. ARGV[i + 1]) == kid then
    redis.call('HDEL', KEYS[1], 'period:' .. ARGV[i + 1])
  end
end
return 1
`);

const OWNER = 'RedisKeyStore';
const timeText = (value: number | null) => (value === null ? '-' : String(value));
const timeValue = (text: string | undefined) => (text === undefined || text === '-' ? null : Number(text));

/** The keys' hash, for one prefix. */
class RedisKeyHash implements KeyBackend {
  readonly #config: RedisStoreConfig;
  readonly #key: string;
  #periods = new Map<string, number | null>();

  constructor(config: RedisStoreConfig) {
    this.#config = config;
    this.#key = `${config.prefix}signing-keys`;
  }

  readAll(): Promise<StoredKey[]> {
    return this.#run('read', async () => {
      const reply = (await READ.run(this.#config.client, [this.#key])) as string[] | null;
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < (reply?.length ?? 0); i += 2) fields.set(String(reply?.[i]), String(reply?.[i + 1]));
      const keys: StoredKey[] = [];
      for (const [field, value] of fields) {
        if (!field.startsWith('key:')) continue;
        const kid = field.slice(4);
        const meta = JSON.parse(value) as { alg: string; period: number | null; createdAt: number };
        const [signsFrom, retiredAt] = (fields.get(`times:${kid}`) ?? '- -').split(' ');
        const secret = fields.get(`secret:${kid}`) ?? ' ';
        const space = secret.indexOf(' ');
        keys.push({
          kid,
          alg: meta.alg,
          period: meta.period,
          createdAt: meta.createdAt,
          signsFrom: timeValue(signsFrom),
          retiredAt: timeValue(retiredAt),
          kekId: secret.slice(0, space),
          ciphertext: secret.slice(space + 1),
        });
      }
      this.#periods = new Map(keys.map((key) => [key.kid, key.period]));
      return keys.sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  insert(key: StoredKey): Promise<boolean> {
    return this.#run('insert', async (deadline) => {
      const meta = JSON.stringify({ alg: key.alg, period: key.period, createdAt: key.createdAt });
      const args = [
        key.kid,
        meta,
        `${timeText(key.signsFrom)} ${timeText(key.retiredAt)}`,
        `${key.kekId} ${key.ciphertext}`,
        key.period === null ? '' : String(key.period),
      ];
      return Number(await INSERT.run(this.#config.client, [this.#key], args, deadline)) === 1;
    });
  }

  setTimes(kid: string, times: Pick<KeyTimes, 'signsFrom' | 'retiredAt'>): Promise<boolean> {
    return this.#run('update', async (deadline) => {
      const args = [kid, `${timeText(times.signsFrom)} ${timeText(times.retiredAt)}`];
      return Number(await SET_TIMES.run(this.#config.client, [this.#key], args, deadline)) === 1;
    });
  }

  rewrap(kid: string, fromKekId: string, wrapped: WrappedKey): Promise<boolean> {
    return this.#run('rewrap', async (deadline) => {
      const args = [kid, fromKekId, `${wrapped.kekId} ${wrapped.ciphertext}`];
      return Number(await REWRAP.run(this.#config.client, [this.#key], args, deadline)) === 1;
    });
  }

  delete(kids: readonly string[]): Promise<void> {
    return this.#run('delete', async (deadline) => {
      const args = kids.flatMap((kid) => {
        const period = this.#periods.get(kid);
        return [kid, period === null || period === undefined ? '' : String(period)];
      });
      await DELETE.run(this.#config.client, [this.#key], args, deadline);
    });
  }

  #run<T>(operation: string, call: (deadline: number) => Promise<T>): Promise<T> {
    return bounded(`${OWNER}.${operation}`, this.#config.timeoutMs, (_onDeadline, deadline) => call(deadline));
  }
}

/**
 * Signing keys in Redis, shared by every instance on the same server (or Cluster, or Sentinel's
 * master): private JWKs encrypted under the host's key-encryption key, rotated on a schedule
 * (docs/keys.md "Shared key stores"). One key a rotation period, by HSETNX on the period's field.
 *
 * ```ts
 * const keyStore = await RedisKeyStore.open({ client: redis, keyEncryptionKey: process.env.KEY_ENCRYPTION_KEY! });
 * ```
 */
export class RedisKeyStore extends SharedKeyStore {
  private constructor(backend: KeyBackend, options: RedisKeyStoreOptions) {
    super(OWNER, backend, options);
  }

  /**
   * Check the options, read and decrypt every stored key (making the first one if there is
   * none), and resolve to the store. Rejects as {@link PostgresKeyStore.open} does.
   */
  static async open(options: RedisKeyStoreOptions): Promise<RedisKeyStore> {
    const given = checkOptionsObject(OWNER, options, ['client', 'prefix', 'timeoutMs', ...SHARED_KEY_STORE_OPTIONS]);
    const { client, prefix, timeoutMs } = given;
    const config = resolveRedisOptions(OWNER, { client, prefix, timeoutMs });
    const store = new RedisKeyStore(new RedisKeyHash(config), options);
    await store.start();
    return store;
  }
}
