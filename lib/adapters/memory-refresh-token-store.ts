import { copyRecord, ExpiringMap, resolveMemoryStoreOptions, type MemoryStoreOptions } from './expiring-map.js';
import type { Clock, EpochSeconds, RefreshTokenRecord, RefreshTokenStore, RotateResult } from './interfaces.js';
import { UNSEEN_FAMILY_REVOCATION_TTL } from './revocation-memory.js';

interface StoredToken {
  record: RefreshTokenRecord;
  spent: boolean;
  /** When the store forgets the token: `save`'s `expiresAt`. */
  expiresAt: EpochSeconds;
}

/**
 * Refresh tokens in this process's memory: they are lost on restart and not shared between
 * processes. The router warns once when it runs on this store with `NODE_ENV=production`.
 *
 * A revoked family's tokens are not looked for: the family is marked revoked, its tokens answer
 * `'unknown'` from then on, and each is swept at its own expiry. A family that was never
 * revoked has no entry at all: memory holds each token until it expires, and one entry per
 * revoked family. Every object held per token is one more for each garbage collection to copy
 * and mark, under a load that saves thousands of tokens a second (README "Performance", item 16).
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #tokens: ExpiringMap<StoredToken>;
  /** The revoked families, each until no token of it can be live any more. */
  readonly #revokedFamilies: ExpiringMap<{ expiresAt: EpochSeconds }>;
  /**
   * The latest moment any token saved here stops working, its family's end included (epoch
   * seconds). No token of any family outlives it, so a revocation remembered until then holds
   * for all of that family's tokens, without an entry per family to say when the family ends.
   */
  #latestEnd: EpochSeconds = 0;
  readonly #now: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    const config = resolveMemoryStoreOptions('MemoryRefreshTokenStore', options);
    this.#now = config.now;
    this.#tokens = new ExpiringMap(config);
    this.#revokedFamilies = new ExpiringMap(config);
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    if (this.#isRevoked(record.familyId)) return Promise.resolve();
    this.#latestEnd = Math.max(this.#latestEnd, record.familyExpiresAt, expiresAt);
    this.#tokens.set(key, { record: copyRecord(record), spent: false, expiresAt });
    return Promise.resolve();
  }

  rotate(key: string): Promise<RotateResult> {
    const stored = this.#live(key);
    if (stored === undefined) return Promise.resolve({ outcome: 'unknown' });
    const outcome = stored.spent ? 'reused' : 'rotated';
    stored.spent = true;
    return Promise.resolve({ outcome, record: copyRecord(stored.record) });
  }

  find(key: string): Promise<RefreshTokenRecord | undefined> {
    const stored = this.#live(key);
    return Promise.resolve(stored === undefined ? undefined : copyRecord(stored.record));
  }

  revokeFamily(familyId: string): Promise<void> {
    if (this.#isRevoked(familyId)) return Promise.resolve();
    // A family never seen may have its first token still on its way to `save`: remembered at
    // least that long, so a late save cannot revive it.
    const unseenEnd = Math.floor(this.#now() / 1000) + UNSEEN_FAMILY_REVOCATION_TTL;
    this.#revokedFamilies.set(familyId, { expiresAt: Math.max(this.#latestEnd, unseenEnd) });
    return Promise.resolve();
  }

  /** Stop the sweep timers. */
  close(): void {
    this.#tokens.close();
    this.#revokedFamilies.close();
  }

  #isRevoked(familyId: string): boolean {
    return this.#revokedFamilies.get(familyId) !== undefined;
  }

  /** The stored token, unless it expired or its family was revoked. */
  #live(key: string): StoredToken | undefined {
    const stored = this.#tokens.get(key);
    if (stored === undefined || this.#isRevoked(stored.record.familyId)) return undefined;
    return stored;
  }
}
