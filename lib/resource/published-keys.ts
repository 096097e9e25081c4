import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { AnyKeyStore } from '../contracts.js';

/*
 * The public keys an access token is verified against: the key store's own `publicJwks()`, read
 * in process (no JWKS fetch), kept, and read again when a token names a `kid` the kept set lacks,
 * so a key added and promoted at runtime (docs/keys.md "Rotating keys") verifies without a restart.
 */

/** A set of keys read at one moment. */
export interface KeySet {
  resolve: JWTVerifyGetKey;
  /** `performance.now()` when it was read. */
  readAt: number;
}

/** Kept keys are read again after this long even without a miss, so a removed key leaves. */
const MAX_AGE_MS = 300_000;
/**
 * After a miss has made one read, further misses wait this long before the next: a stream of
 * tokens with made-up `kid`s costs one key-store read every 5 s, not one a request.
 */
export const MISS_REREAD_INTERVAL_MS = 5_000;

/** The key store failed, or gave something that is not a JWK set. */
export class KeyStoreUnavailable extends Error {}

/** One key store's kept keys; shared by every verifier of that store. */
export class PublishedKeys {
  readonly #keyStore: AnyKeyStore;
  #current: KeySet | undefined;
  /** The read in flight: concurrent callers share it. */
  #reading: Promise<KeySet> | undefined;
  #lastMissRead = Number.NEGATIVE_INFINITY;

  constructor(keyStore: AnyKeyStore) {
    this.#keyStore = keyStore;
  }

  /** The kept set while it is fresh, without waiting: the path of nearly every request. */
  fresh(): KeySet | undefined {
    const kept = this.#current;
    return kept !== undefined && performance.now() - kept.readAt < MAX_AGE_MS ? kept : undefined;
  }

  /** The kept set, read first if there is none yet or it is older than {@link MAX_AGE_MS}. */
  async current(): Promise<KeySet> {
    const kept = this.#current;
    if (kept !== undefined && performance.now() - kept.readAt < MAX_AGE_MS) return kept;
    try {
      return await this.#read();
    } catch (error) {
      // A key store that fails once its keys are kept: the kept keys go on verifying.
      if (kept !== undefined) return kept;
      throw error;
    }
  }

  /**
   * After `used` lacked a token's key: a set read since then, or a fresh read unless a miss made
   * one less than {@link MISS_REREAD_INTERVAL_MS} ago (then `undefined`: the key is unknown).
   */
  async afterMiss(used: KeySet): Promise<KeySet | undefined> {
    if (this.#current !== undefined && this.#current.readAt > used.readAt) return this.#current;
    if (this.#reading !== undefined) return this.#reading;
    if (performance.now() - this.#lastMissRead < MISS_REREAD_INTERVAL_MS) return undefined;
    this.#lastMissRead = performance.now();
    return this.#read();
  }

  #read(): Promise<KeySet> {
    this.#reading ??= this.#load().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #load(): Promise<KeySet> {
    const readAt = performance.now();
    let jwks: unknown;
    try {
      jwks = await this.#keyStore.publicJwks();
    } catch {
      throw new KeyStoreUnavailable('the key store failed');
    }
    const keys = (jwks as { keys?: unknown } | null | undefined)?.keys;
    if (!Array.isArray(keys)) throw new KeyStoreUnavailable('the key store gave no { keys } JWK set');
    let resolve: JWTVerifyGetKey;
    try {
      resolve = createLocalJWKSet({ keys: keys as JWK[] });
    } catch {
      throw new KeyStoreUnavailable('the key store gave no valid JWK set');
    }
    const set = { resolve, readAt };
    this.#current = set;
    return set;
  }
}

const byKeyStore = new WeakMap<AnyKeyStore, PublishedKeys>();

/** The kept keys of `keyStore`: one cache a key store, however many verifiers use it. */
export function publishedKeysOf(keyStore: AnyKeyStore): PublishedKeys {
  let keys = byKeyStore.get(keyStore);
  if (keys === undefined) {
    keys = new PublishedKeys(keyStore);
    byKeyStore.set(keyStore, keys);
  }
  return keys;
}
