import { copyRecord, ExpiringMap, resolveMemoryStoreOptions, type MemoryStoreOptions } from './expiring-map.js';
import type { Clock, EpochSeconds, RefreshTokenRecord, RefreshTokenStore, RotateResult } from './interfaces.js';
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
  /** Each family, until its absolute end: whether it was revoked. */
  readonly #families: ExpiringMap<{ revoked: boolean }>;
  readonly #now: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    const config = resolveMemoryStoreOptions('MemoryRefreshTokenStore', options);
    this.#now = config.now;
    this.#tokens = new ExpiringMap(config);
    this.#families = new ExpiringMap(config);
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    const family = this.#families.get(record.familyId);
    if (family?.revoked === true) return Promise.resolve();
    // Every token of a family carries the family's end, so the first save's expiry holds.
    if (family === undefined) this.#families.set(record.familyId, { revoked: false }, record.familyExpiresAt);
    this.#tokens.set(key, { record: copyRecord(record), spent: false }, expiresAt);
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
    const family = this.#families.get(familyId);
    // Remembered as long as the family could live, so a late save cannot revive it.
    if (family !== undefined) family.revoked = true;
    else this.#families.set(familyId, { revoked: true }, Math.floor(this.#now() / 1000) + UNSEEN_FAMILY_REVOCATION_TTL);
    return Promise.resolve();
  }

  /** Stop the sweep timers. */
  close(): void {
    this.#tokens.close();
    this.#families.close();
  }

  /** The stored token, unless it expired or its family was revoked. */
  #live(key: string): StoredToken | undefined {
    const stored = this.#tokens.get(key);
    if (stored === undefined || this.#families.get(stored.record.familyId)?.revoked === true) return undefined;
    return stored;
  }
}
