import type {
  AtomicCodeExchange,
  AuthorizationCodeGrant,
  AuthorizationCodeStore,
  EpochSeconds,
  RedeemResult,
  RefreshTokenStore,
  ReplayStore,
} from '../../contracts.js';
import { firstRefreshTokenRecord } from '../refresh-records.js';
import { copyRecord, ExpiringMap, type MemoryStoreOptions, resolveMemoryStoreOptions } from './expiring-map.js';
import { memorySaveOf } from './memory-refresh-token-store.js';

interface StoredCode {
  grant: AuthorizationCodeGrant;
  redeemed: boolean;
  /** When the store forgets the code: `save`'s `expiresAt`. */
  readonly expiresAt: EpochSeconds;
}

/**
 * Authorization codes in this process's memory. Redeem is atomic because it runs to completion
 * on the one event loop. Not for more than one process: each would have its own codes.
 */
export class MemoryCodeStore implements AuthorizationCodeStore, ReplayStore {
  readonly #codes: ExpiringMap<StoredCode>;
  /** Keys seen once (assertion jtis), until their expiry: docs/stores.md "Seen once". */
  readonly #seen: ExpiringMap<{ readonly expiresAt: EpochSeconds }>;

  constructor(options: MemoryStoreOptions = {}) {
    const config = resolveMemoryStoreOptions('MemoryCodeStore', options);
    this.#codes = new ExpiringMap(config);
    this.#seen = new ExpiringMap(config);
  }

  /** Remember `key` until `expiresAt`; `true` the first time. Atomic: it runs in one turn of the event loop. */
  markSeen(key: string, expiresAt: EpochSeconds): Promise<boolean> {
    if (this.#seen.get(key) !== undefined) return Promise.resolve(false);
    this.#seen.set(key, { expiresAt });
    return Promise.resolve(true);
  }

  save(key: string, grant: AuthorizationCodeGrant, expiresAt: EpochSeconds): Promise<void> {
    this.#codes.set(key, { grant: copyRecord(grant), redeemed: false, expiresAt });
    return Promise.resolve();
  }

  redeem(key: string): Promise<RedeemResult> {
    return Promise.resolve(this.#redeem(key));
  }

  /** The grant under `key` and whether it was redeemed; read-only. */
  find(key: string): Promise<{ grant: AuthorizationCodeGrant; redeemed: boolean } | undefined> {
    const stored = this.#codes.get(key);
    return Promise.resolve(stored === undefined ? undefined : { grant: stored.grant, redeemed: stored.redeemed });
  }

  #redeem(key: string): RedeemResult {
    const stored = this.#codes.get(key);
    if (stored === undefined) return { outcome: 'unknown' };
    // Kept (marked) until its expiry, so a replay is told apart from an unknown code.
    const outcome = stored.redeemed ? 'replayed' : 'redeemed';
    stored.redeemed = true;
    return { outcome, grant: stored.grant };
  }

  /**
   * With a `MemoryRefreshTokenStore`: the redeem and the first token's save run in one turn of
   * the event loop, so nothing can come between them, and neither can fail halfway.
   */
  atomicExchange(refreshTokenStore: RefreshTokenStore): AtomicCodeExchange | undefined {
    const save = memorySaveOf(refreshTokenStore);
    if (save === undefined) return undefined;
    return (codeKey, first) => {
      const result = this.#redeem(codeKey);
      if (result.outcome === 'redeemed') save(first.key, firstRefreshTokenRecord(result.grant, first), first.expiresAt);
      return Promise.resolve(result);
    };
  }

  /** How many codes are held, including expired ones not yet swept. */
  get size(): number {
    return this.#codes.size;
  }

  /** Drop expired codes now (also done by a timer). */
  sweep(): void {
    this.#codes.sweep();
    this.#seen.sweep();
  }

  /** Stop the sweep timer. */
  close(): void {
    this.#codes.close();
    this.#seen.close();
  }
}
