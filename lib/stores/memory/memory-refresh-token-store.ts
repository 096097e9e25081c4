import type {
  Clock,
  EpochSeconds,
  GraceRotateResult,
  GraceWindow,
  RefreshTokenRecord,
  RefreshTokenStore,
  RotateResult,
} from '../../contracts.js';
import { successorRecord, UNSEEN_FAMILY_REVOCATION_TTL } from '../refresh-records.js';
import {
  copyRecord,
  type Expiring,
  ExpiringMap,
  type MemoryStoreOptions,
  resolveMemoryStoreOptions,
} from './expiring-map.js';

interface StoredToken {
  record: RefreshTokenRecord;
  spent: boolean;
  /**
   * Set by `rotateWithinGrace` when it spends the token: when its grace window opened (epoch
   * milliseconds, the router's clock). A token spent by `rotate` or `rotateAndSave` has none.
   */
  graceStart?: number;
  /** How many siblings `rotateWithinGrace` reissued for the token within its window. */
  reissues?: number;
  /** When the store forgets the token: `save`'s `expiresAt`. */
  readonly expiresAt: EpochSeconds;
}

/**
 * Refresh tokens in this process's memory: they are lost on restart and not shared between
 * processes. The router warns once when it runs on this store with `NODE_ENV=production`.
 *
 * A revoked family's tokens are not looked for: the family is marked revoked, its tokens answer
 * `'unknown'` from then on, and each is swept at its own expiry. A family that was never
 * revoked has no entry at all: memory holds each token until it expires, and one entry per
 * revoked family, until no token saved before the revocation can be live. Every object held
 * per token is one more for each garbage collection to copy and mark, under a load that saves
 * thousands of tokens a second (docs/performance.md).
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #tokens: ExpiringMap<StoredToken>;
  /** The revoked families, each until no token of it can be live any more. */
  readonly #revokedFamilies: ExpiringMap<Expiring>;
  /**
   * The latest moment any token saved here stops working, or any family ends (epoch seconds).
   * No token saved so far outlives it, and the router stamps every later token of a family to
   * end by the family's end, so a revocation remembered until then holds for all of that
   * family's tokens, without an entry per family to say when the family ends. It only rises:
   * with families of different lengths, a revocation is remembered as long as the longest.
   */
  #latestEnd: EpochSeconds = 0;
  readonly #now: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    const config = resolveMemoryStoreOptions('MemoryRefreshTokenStore', options);
    this.#now = config.now;
    this.#tokens = new ExpiringMap(config);
    this.#revokedFamilies = new ExpiringMap(config);
    memorySavers.set(this, (key, record, expiresAt) => this.#save(key, record, expiresAt));
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    this.#save(key, record, expiresAt);
    return Promise.resolve();
  }

  #save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): void {
    if (this.#isRevoked(record.familyId)) return;
    // Compared one by one, so that a NaN is passed over rather than kept for good (Math.max
    // would give NaN, and every later revocation would never expire).
    if (expiresAt > this.#latestEnd) this.#latestEnd = expiresAt;
    if (record.familyExpiresAt > this.#latestEnd) this.#latestEnd = record.familyExpiresAt;
    this.#tokens.set(key, { record: copyRecord(record), spent: false, expiresAt });
  }

  rotate(key: string): Promise<RotateResult> {
    const stored = this.#live(key);
    if (stored === undefined) return Promise.resolve({ outcome: 'unknown' });
    const outcome = stored.spent ? 'reused' : 'rotated';
    stored.spent = true;
    return Promise.resolve({ outcome, record: copyRecord(stored.record) });
  }

  rotateAndSave(key: string, successor: { key: string; expiresAt: EpochSeconds }): Promise<RotateResult> {
    const stored = this.#live(key);
    if (stored === undefined) return Promise.resolve({ outcome: 'unknown' });
    if (stored.spent) return Promise.resolve({ outcome: 'reused', record: copyRecord(stored.record) });
    stored.spent = true;
    // In the same turn of the event loop as the rotation: nothing can come between the two.
    this.#saveSuccessor(stored.record, successor);
    return Promise.resolve({ outcome: 'rotated', record: copyRecord(stored.record) });
  }

  rotateWithinGrace(
    key: string,
    successor: { key: string; expiresAt: EpochSeconds },
    grace: GraceWindow,
  ): Promise<GraceRotateResult> {
    const stored = this.#live(key);
    if (stored === undefined) return Promise.resolve({ outcome: 'unknown' });
    const record = copyRecord(stored.record);
    if (!stored.spent) {
      stored.spent = true;
      stored.graceStart = grace.now;
      stored.reissues = 0;
      this.#saveSuccessor(stored.record, successor);
      return Promise.resolve({ outcome: 'rotated', record });
    }
    // The window's end is already outside it; a token spent without a window never has one.
    const inWindow = stored.graceStart !== undefined && grace.now < stored.graceStart + grace.interval * 1000;
    const reissues = stored.reissues ?? 0;
    if (!inWindow || reissues >= grace.maxReissues) return Promise.resolve({ outcome: 'reused', record });
    stored.reissues = reissues + 1;
    this.#saveSuccessor(stored.record, successor);
    return Promise.resolve({ outcome: 'reissued', record, reissues: reissues + 1 });
  }

  /** Save the successor (or sibling) of `record`, at once: in the turn of the rotation that spent it. */
  #saveSuccessor(record: RefreshTokenRecord, successor: { key: string; expiresAt: EpochSeconds }): void {
    const next = successorRecord(record, successor.expiresAt);
    this.#tokens.set(successor.key, {
      record: copyRecord(next),
      spent: false,
      expiresAt: next.expiresAt ?? successor.expiresAt,
    });
  }

  find(key: string): Promise<RefreshTokenRecord | undefined> {
    const stored = this.#live(key);
    return Promise.resolve(stored === undefined ? undefined : copyRecord(stored.record));
  }

  inspect(key: string): Promise<{ record: RefreshTokenRecord; spent: boolean } | undefined> {
    const stored = this.#live(key);
    return Promise.resolve(
      stored === undefined ? undefined : { record: copyRecord(stored.record), spent: stored.spent },
    );
  }

  revokeFamily(familyId: string): Promise<void> {
    if (this.#isRevoked(familyId)) return Promise.resolve();
    // Remembered until no token saved so far can be live, and at least a day: a family never
    // seen may have its first token still on its way to `save`, which must not revive it.
    const unseenEnd = Math.floor(this.#now() / 1000) + UNSEEN_FAMILY_REVOCATION_TTL;
    this.#revokedFamilies.set(familyId, { expiresAt: Math.max(this.#latestEnd, unseenEnd) });
    return Promise.resolve();
  }

  isFamilyRevoked(familyId: string): Promise<boolean> {
    return Promise.resolve(this.#isRevoked(familyId));
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

/** A `MemoryRefreshTokenStore`'s save, done at once: for `MemoryCodeStore`'s atomic exchange. */
export type MemorySave = (key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds) => void;

const memorySavers = new WeakMap<RefreshTokenStore, MemorySave>();

/** The save of `store` when it is a `MemoryRefreshTokenStore`. */
export function memorySaveOf(store: RefreshTokenStore): MemorySave | undefined {
  return memorySavers.get(store);
}
