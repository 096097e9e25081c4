import { createHash } from 'node:crypto';
import { ConfigurationError, describeValue } from '../configuration-error.js';
import { checkOptionsObject } from '../option-checks.js';
import { resolveTimeout } from './bounded-call.js';

/**
 * The two Redis commands the Redis adapters send. An ioredis `Redis` or `Cluster` fits as it is;
 * so does any client with these two methods. Every key of one call shares a hash slot.
 */
export interface RedisScriptClient {
  /** `EVALSHA sha1 numkeys key… arg…`: rejects with a `NOSCRIPT` error when the server lacks the script. */
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** `EVAL script numkeys key… arg…`: runs the script, and the server keeps it for `EVALSHA`. */
  eval(script: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

/** Options of the Redis stores. */
export interface RedisStoreOptions {
  /** A connected client the host already has (ioredis `Redis` or `Cluster`). The store never closes it. */
  client: RedisScriptClient;
  /** Put before every key this store writes. Default `'pkce-token-router:'`. */
  prefix?: string;
  /** Longest wait for one store operation, in milliseconds; then it rejects (the router answers 503). Default 2000. */
  timeoutMs?: number;
}

const DEFAULT_REDIS_PREFIX = 'pkce-token-router:';

/** A Lua script, sent by its SHA-1 and loaded on the first `NOSCRIPT`, like ioredis's `defineCommand`. */
export class RedisScript {
  readonly #source: string;
  readonly #sha1: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha1 = createHash('sha1').update(source, 'utf8').digest('hex');
  }

  async run(client: RedisScriptClient, keys: readonly string[], args: readonly string[] = []): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha1, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted or failed-over server has forgotten its scripts: send this one in full.
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return client.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

/** The checked options of a Redis store. */
export interface RedisStoreConfig {
  client: RedisScriptClient;
  prefix: string;
  timeoutMs: number;
  /**
   * Whether every key lives on one server, so one script may touch keys of different hash slots:
   * true for an ioredis `Redis` (`isCluster: false`), false for a `Cluster` and for any client
   * that does not say.
   */
  singleServer: boolean;
}

/** Check the options of a Redis store at construction: a client without the commands is a clear error. */
export function resolveRedisOptions(adapter: string, options: unknown): RedisStoreConfig {
  const given = checkOptionsObject(adapter, options, ['client', 'prefix', 'timeoutMs']);
  const { client, prefix } = given;
  if (client === undefined || client === null) {
    throw new ConfigurationError('ERR_OPTION_MISSING', 'client', `${adapter} needs { client }: a connected ioredis client, such as new Redis(process.env.REDIS_URL)`);
  }
  const candidate = client as Partial<Record<keyof RedisScriptClient, unknown>>;
  if (typeof candidate.eval !== 'function' || typeof candidate.evalsha !== 'function') {
    throw new ConfigurationError('ERR_OPTION_INVALID', 'client', `${adapter}: client must have eval() and evalsha(), as an ioredis client does; received ${describeValue(client)}`);
  }
  if (prefix !== undefined && typeof prefix !== 'string') {
    throw new ConfigurationError('ERR_OPTION_INVALID', 'prefix', `${adapter}: prefix must be a string; received ${describeValue(prefix)}`);
  }
  return {
    client: client as RedisScriptClient,
    prefix: prefix ?? DEFAULT_REDIS_PREFIX,
    timeoutMs: resolveTimeout(given.timeoutMs, adapter),
    singleServer: (client as { isCluster?: unknown }).isCluster === false,
  };
}

/** A script's `{ flag, json }` answer, or `undefined` for Redis nil. */
export function readFlaggedJson(reply: unknown): { first: boolean; json: string } | undefined {
  if (reply === null || reply === undefined) return undefined;
  if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[1] !== 'string') {
    throw new Error('pkce-token-router: unexpected reply from a Redis script');
  }
  return { first: Number(reply[0]) === 1, json: reply[1] };
}
