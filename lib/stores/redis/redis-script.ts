import { createHash } from 'node:crypto';
import { ConfigurationError, describeValue } from '../../config/configuration-error.js';
import { checkOptionsObject } from '../../config/option-checks.js';
import { resolveTimeout, StoreTimeoutError } from '../bounded-call.js';

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

/**
 * A script that reaches the server after its caller's deadline: the server refused to run it,
 * so it changed nothing. The router answers it like a timeout (503 `temporarily_unavailable`).
 */
export class RedisDeadlineError extends StoreTimeoutError {
  constructor(sent: boolean) {
    super('a Redis script', 0);
    this.message = sent
      ? 'pkce-token-router: a Redis script reached the server after its deadline; the server did not run it'
      : 'pkce-token-router: a Redis script was not sent: its deadline had passed';
  }
}

/*
 * The deadline fence (docs/contract.md "When a store fails"). Every script is wrapped so that its first
 * step reads the server's clock and, past the deadline given as the last ARGV (server-clock
 * milliseconds; '' for none), returns { 0, seconds, microseconds } without touching a key. In
 * time, the script's own body runs and the reply is { 1, seconds, microseconds, reply }: the
 * reply last, since a Lua table ends at its first nil (a body that returns nil gives three
 * elements, one that returns false a nil fourth). The deadline is taken off ARGV before the body
 * runs, so the body sees exactly the arguments it was given. On Redis 3.2-4, a script that reads
 * TIME may write only under effects replication, hence replicate_commands (Redis 5+ always does
 * it); so a replica applies what the script did, and never judges the deadline again.
 */
const FENCE_HEAD = `if redis.replicate_commands then redis.replicate_commands() end
local pkce_fence = table.remove(ARGV)
local pkce_time = redis.call('TIME')
if pkce_fence ~= '' and tonumber(pkce_time[1]) * 1000 + tonumber(pkce_time[2]) / 1000 > tonumber(pkce_fence) then
  return { 0, pkce_time[1], pkce_time[2] }
end
local function pkce_body()
`;
const FENCE_TAIL = `
end
local pkce_reply = pkce_body()
return { 1, pkce_time[1], pkce_time[2], pkce_reply }
`;
const TIME_PROBE = `return redis.call('TIME')`;

/**
 * How far a client object's server clock is ahead of this process's `Date.now()`, in
 * milliseconds, known to lie in [low, high] at local time `at`. A reply carrying server time s,
 * to a call sent at local t0 and answered at t1, says the offset is in [s - t1 - 1, s - t0]
 * (the 1 ms for `Date.now()`'s truncation). Bounds age by {@link DRIFT} (clocks slew by at most
 * 500 ppm under NTP), are narrowed by every consistent sample, and are replaced by a sample
 * they contradict: a clock that was stepped, or an estimate that was wrong.
 */
interface ClockOffset {
  low: number;
  high: number;
  at: number;
}

const DRIFT = 0.0005;
const clockOffsets = new WeakMap<object, ClockOffset>();
const probes = new WeakMap<object, Promise<void>>();

function learnOffset(
  client: object,
  serverSeconds: unknown,
  serverMicros: unknown,
  sentAt: number,
  answeredAt: number,
): void {
  const server = Number(serverSeconds) * 1000 + Number(serverMicros) / 1000;
  if (!Number.isFinite(server)) throw new Error('pkce-token-router: unexpected reply from a Redis script');
  const sample = { low: server - answeredAt - 1, high: server - sentAt, at: answeredAt };
  const known = clockOffsets.get(client);
  if (known !== undefined) {
    const drift = Math.max(0, answeredAt - known.at) * DRIFT;
    const low = known.low - drift;
    const high = known.high + drift;
    if (sample.low <= high && sample.high >= low) {
      clockOffsets.set(client, { low: Math.max(low, sample.low), high: Math.min(high, sample.high), at: answeredAt });
      return;
    }
  }
  clockOffsets.set(client, sample);
}

/** The latest server-clock instant that is surely not past `deadline` on this process's clock. */
function serverDeadline(offset: ClockOffset, deadline: number): number {
  return Math.floor(deadline + offset.low - Math.max(0, Date.now() - offset.at) * DRIFT);
}

/**
 * The first fenced call of a client object, knowing nothing of its server's clock, asks for it
 * first (one more round trip, once): a guessed offset (say, clocks agree) would let a late
 * command run for as long as the server's clock is behind, which is the one thing the fence is
 * for. Concurrent first calls share the one question.
 */
function probeClock(client: RedisScriptClient): Promise<void> {
  let probe = probes.get(client);
  if (probe === undefined) {
    const sentAt = Date.now();
    probe = client
      .eval(TIME_PROBE, 0)
      .then((reply) => {
        if (!Array.isArray(reply)) throw new Error('pkce-token-router: unexpected reply from Redis TIME');
        learnOffset(client, reply[0], reply[1], sentAt, Date.now());
      })
      .finally(() => probes.delete(client));
    probes.set(client, probe);
  }
  return probe;
}

/**
 * A Lua script, sent by its SHA-1 and loaded on the first `NOSCRIPT`, like ioredis's
 * `defineCommand`, and fenced: given a deadline, the server runs it only if it gets there in time.
 */
export class RedisScript {
  readonly #source: string;
  readonly #sha1: string;

  constructor(source: string) {
    this.#source = FENCE_HEAD + source + FENCE_TAIL;
    this.#sha1 = createHash('sha1').update(this.#source, 'utf8').digest('hex');
  }

  /**
   * Run the script and resolve to its reply. Given `deadline` (epoch milliseconds on this
   * process's clock: the second argument `bounded` gives its operation), a script not yet sent
   * by then is not sent, and one that reaches the server later is not run; either rejects with
   * a {@link RedisDeadlineError}. Without it the script always runs, as before.
   */
  async run(
    client: RedisScriptClient,
    keys: readonly string[],
    args: readonly string[] = [],
    deadline?: number,
  ): Promise<unknown> {
    let fence = '';
    if (deadline !== undefined) {
      if (!clockOffsets.has(client)) await probeClock(client);
      const offset = clockOffsets.get(client);
      if (offset === undefined || Date.now() >= deadline) throw new RedisDeadlineError(false);
      fence = String(serverDeadline(offset, deadline));
    }
    const sentAt = Date.now();
    const reply = await this.#send(client, keys, [...args, fence]);
    if (!Array.isArray(reply) || reply.length < 3)
      throw new Error('pkce-token-router: unexpected reply from a Redis script');
    // A refusal carries the server's time too: an estimate that was wrong is corrected by it,
    // so a skewed clock costs one refused call, not every call after it.
    learnOffset(client, reply[1], reply[2], sentAt, Date.now());
    if (Number(reply[0]) !== 1) throw new RedisDeadlineError(true);
    return reply.length > 3 ? reply[3] : null;
  }

  async #send(client: RedisScriptClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
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
  // The client itself, given where its options object goes, would otherwise read as an options
  // object full of unknown names.
  const direct = options as Partial<Record<keyof RedisScriptClient, unknown>> | null | undefined;
  if (typeof direct?.eval === 'function' && typeof direct.evalsha === 'function') {
    throw new ConfigurationError(
      'ERR_OPTIONS_NOT_OBJECT',
      'options',
      `${adapter} takes an options object holding the client: new ${adapter}({ client: redis }), not new ${adapter}(redis)`,
    );
  }
  const given = checkOptionsObject(adapter, options, ['client', 'prefix', 'timeoutMs']);
  const { client, prefix } = given;
  if (client === undefined || client === null) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'client',
      `${adapter} needs { client }: a connected ioredis client, such as new Redis(process.env.REDIS_URL)`,
    );
  }
  const candidate = client as Partial<Record<keyof RedisScriptClient, unknown>>;
  if (typeof candidate.eval !== 'function' || typeof candidate.evalsha !== 'function') {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'client',
      `${adapter}: client must have eval() and evalsha(), as an ioredis client does; received ${describeValue(client)}`,
    );
  }
  if (prefix !== undefined && typeof prefix !== 'string') {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'prefix',
      `${adapter}: prefix must be a string; received ${describeValue(prefix)}`,
    );
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
