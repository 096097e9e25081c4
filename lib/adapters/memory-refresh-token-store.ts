import { ExpiringMap, type MemoryStoreOptions } from './expiring-map.js';
import type { EpochSeconds, RefreshTokenRecord, RefreshTokenStore, RotateResult } from './interfaces.js';
import { UNSEEN_FAMILY_REVOCATION_TTL } from './revocation-memory.js';

interface StoredToken {
  record: RefreshTokenRecord;
  spent: boolean;
}

/**
 * Refresh tokens in this process's memory: they are lost on restart and not shared between
 * processes. The router warns once when it runs on this store with `NODE_ENV=production`.
 *
 * A revoked family's tokens are not looked for: the family is marked revoked, its tokens answer
 * `'unknown'` from then on, and each is swept at its own expiry. So memory holds each token
 * until it expires and one entry per family, however often the family rotates.
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #tokens: ExpiringMap<StoredToken>;
  /** Each family's absolute end, for how long to remember its revocation. */
  readonly #familyEnds: ExpiringMap<EpochSeconds>;
  /** Revoked families, remembered until the family would have ended anyway. */
  readonly #revokedFamilies: ExpiringMap<true>;
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#tokens = new ExpiringMap(options);
    this.#familyEnds = new ExpiringMap(options);
    this.#revokedFamilies = new ExpiringMap(options);
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    if (this.#isRevoked(record.familyId)) return Promise.resolve();
    this.#tokens.set(key, { record: structuredClone(record), spent: false }, expiresAt);
    this.#familyEnds.set(record.familyId, record.familyExpiresAt, record.familyExpiresAt);
    return Promise.resolve();
  }

  rotate(key: string): Promise<RotateResult> {
    const stored = this.#live(key);
    if (stored === undefined) return Promise.resolve({ outcome: 'unknown' });
    const outcome = stored.spent ? 'reused' : 'rotated';
    stored.spent = true;
    return Promise.resolve({ outcome, record: stored.record });
  }

  find(key: string): Promise<RefreshTokenRecord | undefined> {
    const stored = this.#live(key);
    return Promise.resolve(stored === undefined ? undefined : structuredClone(stored.record));
  }

  revokeFamily(familyId: string): Promise<void> {
    // Remembered as long as the family could live, so a late save cannot revive it.
    const expiresAt =
      this.#familyEnds.get(familyId) ?? Math.floor(this.#now() / 1000) + UNSEEN_FAMILY_REVOCATION_TTL;
    this.#revokedFamilies.set(familyId, true, expiresAt);
    return Promise.resolve();
  }

  /** Stop the sweep timers. */
  close(): void {
    this.#tokens.close();
    this.#familyEnds.close();
    this.#revokedFamilies.close();
  }

  /** The stored token, unless it expired or its family was revoked. */
  #live(key: string): StoredToken | undefined {
    const stored = this.#tokens.get(key);
    return stored === undefined || this.#isRevoked(stored.record.familyId) ? undefined : stored;
  }

  #isRevoked(familyId: string): boolean {
    return this.#revokedFamilies.get(familyId) !== undefined;
  }
}
