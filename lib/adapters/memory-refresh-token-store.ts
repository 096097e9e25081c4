import { ExpiringMap, type MemoryStoreOptions } from './expiring-map.js';
import type { EpochSeconds, RefreshTokenRecord, RefreshTokenStore, RotateResult } from './interfaces.js';

/**
 * How long a revocation is remembered for a family this store never saw (its first token may
 * still be on its way to `save`), in seconds.
 */
const UNSEEN_FAMILY_REVOCATION_TTL = 86_400;

interface Family {
  keys: Set<string>;
  expiresAt: EpochSeconds;
}

interface StoredToken {
  record: RefreshTokenRecord;
  spent: boolean;
}

/**
 * Refresh tokens in this process's memory: they are lost on restart and not shared between
 * processes. The router warns once when it runs on this store with `NODE_ENV=production`.
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #tokens: ExpiringMap<StoredToken>;
  /** Revoked families, remembered until the family would have ended anyway. */
  readonly #revokedFamilies: ExpiringMap<true>;
  /** The keys of each family's tokens, so revocation can remove them. */
  readonly #families: ExpiringMap<Family>;
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#tokens = new ExpiringMap(options);
    this.#revokedFamilies = new ExpiringMap(options);
    this.#families = new ExpiringMap(options);
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    if (this.#revokedFamilies.get(record.familyId) !== undefined) return Promise.resolve();
    this.#tokens.set(key, { record: structuredClone(record), spent: false }, expiresAt);
    const family = this.#families.get(record.familyId) ?? {
      keys: new Set<string>(),
      expiresAt: record.familyExpiresAt,
    };
    family.keys.add(key);
    this.#families.set(record.familyId, family, family.expiresAt);
    return Promise.resolve();
  }

  rotate(key: string): Promise<RotateResult> {
    const stored = this.#tokens.get(key);
    if (stored === undefined) return Promise.resolve({ outcome: 'unknown' });
    const outcome = stored.spent ? 'reused' : 'rotated';
    stored.spent = true;
    return Promise.resolve({ outcome, record: stored.record });
  }

  find(key: string): Promise<RefreshTokenRecord | undefined> {
    const stored = this.#tokens.get(key);
    return Promise.resolve(stored === undefined ? undefined : structuredClone(stored.record));
  }

  revokeFamily(familyId: string): Promise<void> {
    const family = this.#families.get(familyId);
    for (const key of family?.keys ?? []) this.#tokens.delete(key);
    this.#families.delete(familyId);
    // Remembered as long as the family could live, so a late save cannot revive it.
    const expiresAt =
      family?.expiresAt ?? Math.floor(this.#now() / 1000) + UNSEEN_FAMILY_REVOCATION_TTL;
    this.#revokedFamilies.set(familyId, true, expiresAt);
    return Promise.resolve();
  }

  /** Stop the sweep timers. */
  close(): void {
    this.#tokens.close();
    this.#revokedFamilies.close();
    this.#families.close();
  }
}
