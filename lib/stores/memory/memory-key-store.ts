import type { JWK } from 'jose';
import { ConfigurationError, describeValue } from '../../config/configuration-error.js';
import { clockOption, positiveInteger } from '../../config/option-checks.js';
import type { Clock, EpochSeconds, KeyStore, SigningKey } from '../../contracts.js';
import type { SigningAlgorithm } from '../../crypto/signing-key-check.js';
import { generateKeyPairFor, importPrivateJwk, type PrivateKeyPair } from '../private-jwk.js';

export type { SigningAlgorithm } from '../../crypto/signing-key-check.js';

/** Options of the key store's factories. */
export interface MemoryKeyStoreOptions {
  /**
   * The longest lifetime, in seconds, of any token its keys sign. A retired key stays published
   * this long (plus a minute of leeway) after it stops signing. Default 86400 (a day); the router
   * refuses a store whose value is below its own token lifetimes.
   */
  maxTokenTtl?: number;
  /** The clock: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
}

/**
 * Where a key is in its life: `active` signs (one key at a time); `standby` is published but
 * does not sign (a key added ahead of its promotion, or a further key given to `fromJwks`);
 * `retired` no longer signs and is published until every token it signed has expired.
 */
export type KeyStatus = 'active' | 'standby' | 'retired';

/** One key as {@link MemoryKeyStore.list} describes it. Never key material. */
export interface KeyInfo {
  kid: string;
  alg: string;
  status: KeyStatus;
  /** For a retired key: when it leaves the JWKS (epoch seconds). */
  publishedUntil?: EpochSeconds;
}

interface HeldKey extends PrivateKeyPair {
  status: KeyStatus;
  publishedUntil?: EpochSeconds;
}

/** Beyond `maxTokenTtl`, for requests in flight and verifiers whose clocks run behind. */
const RETIREMENT_LEEWAY = 60;

/**
 * Signing keys held in this process: one active key signs, and every key whose tokens may still
 * be live is published. Keys rotate at runtime without downtime:
 *
 * 1. `addGenerated()` (or `add(jwk)`): the new key is published, not yet signing;
 * 2. after `jwksMaxAge`, when every cached JWKS holds it, `promote(kid)`: it signs from now on,
 *    and the previous key is retired, still published until the tokens it signed have expired;
 * 3. the retired key then leaves the JWKS by itself (or `retire(kid)` a standby key).
 *
 * For several processes, give each the same keys with {@link MemoryKeyStore.fromJwks} and make
 * the same calls on each.
 */
export class MemoryKeyStore implements KeyStore {
  /** See {@link MemoryKeyStoreOptions.maxTokenTtl}. */
  readonly maxTokenTtl: number;
  readonly #now: Clock;
  /** In the order they were added; expired retired keys are dropped as they are met. */
  readonly #keys = new Map<string, HeldKey>();
  #active: HeldKey;

  private constructor(keys: readonly HeldKey[], options: MemoryKeyStoreOptions) {
    const maxTokenTtl = positiveInteger(options.maxTokenTtl, 'maxTokenTtl', 86_400, 'seconds', 'MemoryKeyStore');
    const now = clockOption(options.now, 'MemoryKeyStore');
    this.maxTokenTtl = maxTokenTtl;
    this.#now = now;
    for (const held of keys) this.#keys.set(held.signing.kid, held);
    // biome-ignore lint/style/noNonNullAssertion: the constructor is given at least one key (checked by its callers)
    this.#active = keys[0]!;
    this.#active.status = 'active';
  }

  /** A store with one fresh key: RS256 with 2048-bit RSA by default, and a random UUID `kid`. */
  static async generate(options: { alg?: SigningAlgorithm } & MemoryKeyStoreOptions = {}): Promise<MemoryKeyStore> {
    const { alg, ...storeOptions } = options;
    return new MemoryKeyStore([held(await generateKeyPairFor(alg))], storeOptions);
  }

  /**
   * A store over private JWKs (`{ keys: [...] }`): the first signs, all are published (the others
   * on standby). A key without `kid` gets its RFC 7638 thumbprint; without `alg`, the usual one
   * for its type.
   */
  static async fromJwks(jwks: { keys: JWK[] }, options: MemoryKeyStoreOptions = {}): Promise<MemoryKeyStore> {
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'keys',
        'fromJwks takes { keys: [...] } with at least one private JWK',
      );
    }
    const keys = await Promise.all(
      jwks.keys.map(async (jwk, index) => held(await importPrivateJwk(jwk, 'fromJwks', `keys[${index}]`))),
    );
    const kids = new Set(keys.map((key) => key.signing.kid));
    if (kids.size !== keys.length) {
      throw new ConfigurationError('ERR_KEY_INVALID', 'keys', 'fromJwks: every key needs a distinct kid');
    }
    return new MemoryKeyStore(keys, options);
  }

  signingKey(): Promise<SigningKey> {
    return Promise.resolve(this.#active.signing);
  }

  publicJwks(): Promise<{ keys: JWK[] }> {
    return Promise.resolve({ keys: this.#liveKeys().map((held) => structuredClone(held.publicJwk)) });
  }

  /**
   * Add a private JWK on standby: published from now on, signing only once promoted. Returns its
   * `kid` (its RFC 7638 thumbprint when it has none).
   */
  async add(privateJwk: JWK): Promise<string> {
    return this.#addHeld(held(await importPrivateJwk(privateJwk, 'add', 'key')));
  }

  /** Generate a key (RS256 by default) and add it on standby. Returns its `kid`, a random UUID. */
  async addGenerated(options: { alg?: SigningAlgorithm } = {}): Promise<string> {
    return this.#addHeld(held(await generateKeyPairFor(options.alg)));
  }

  /**
   * Make `kid` the key that signs. The key that signed until now is retired: still published
   * until the tokens it signed have expired. A retired key still published may be promoted back.
   */
  promote(kid: string): void {
    const next = this.#find(kid, 'promote');
    if (next === this.#active) return;
    this.#retire(this.#active);
    next.status = 'active';
    delete next.publishedUntil;
    this.#active = next;
  }

  /**
   * Retire a key that does not sign: it stays published for `maxTokenTtl` (plus a minute), in
   * case it signed before this process knew it, then leaves the JWKS. To retire the active key,
   * promote another.
   */
  retire(kid: string): void {
    const held = this.#find(kid, 'retire');
    if (held === this.#active) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'kid',
        `retire: key ${JSON.stringify(kid)} is the active key; promote another key first`,
      );
    }
    if (held.status !== 'retired') this.#retire(held);
  }

  /** Every key still held, with its status: for dashboards and rotation scripts. */
  list(): KeyInfo[] {
    return this.#liveKeys().map(({ signing, status, publishedUntil }) => ({
      kid: signing.kid,
      alg: signing.alg,
      status,
      ...(publishedUntil === undefined ? {} : { publishedUntil }),
    }));
  }

  #addHeld(held: HeldKey): string {
    const { kid } = held.signing;
    if (this.#keys.has(kid)) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'kid',
        `the store already holds a key with kid ${JSON.stringify(kid)}`,
      );
    }
    held.status = 'standby';
    this.#keys.set(kid, held);
    return kid;
  }

  #retire(held: HeldKey): void {
    held.status = 'retired';
    held.publishedUntil = Math.floor(this.#now() / 1000) + this.maxTokenTtl + RETIREMENT_LEEWAY;
  }

  #find(kid: string, action: string): HeldKey {
    const held = this.#liveKeys().find((candidate) => candidate.signing.kid === kid);
    if (held === undefined) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'kid',
        `${action}: the store holds no key with kid ${describeValue(kid)}`,
      );
    }
    return held;
  }

  /** The keys still published, dropping retired keys whose tokens have all expired. */
  #liveKeys(): HeldKey[] {
    const nowSeconds = this.#now() / 1000;
    for (const [kid, held] of this.#keys) {
      if (held.publishedUntil !== undefined && held.publishedUntil <= nowSeconds) this.#keys.delete(kid);
    }
    return [...this.#keys.values()];
  }
}

/** A key pair as this store holds it, on standby until the store decides. */
function held(pair: PrivateKeyPair): HeldKey {
  return { ...pair, status: 'standby' };
}
