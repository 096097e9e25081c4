import type { Clock, EpochSeconds } from './interfaces.js';

/** Options shared by the in-process stores. */
export interface MemoryStoreOptions {
  /** The clock for expiry decisions: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /** How often expired entries are swept, in milliseconds. Default 60000. */
  sweepIntervalMs?: number;
}

interface Entry<V> {
  value: V;
  expiresAt: EpochSeconds;
}

/**
 * A Map whose entries vanish at their expiry: reads never see an expired entry, and a timer
 * sweeps them out so memory stays bounded by what is live. The timer is `unref()`'d so it never
 * keeps a process alive; `close()` stops it.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #now: Clock;
  readonly #timer: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.#timer.unref();
  }

  /** The live value under `key`, or `undefined`. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#isExpired(entry)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAt: EpochSeconds): void {
    this.#entries.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** How many entries are held, expired or not (for tests of the sweep). */
  get size(): number {
    return this.#entries.size;
  }

  /** Drop every expired entry. */
  sweep(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#isExpired(entry)) this.#entries.delete(key);
    }
  }

  /** Stop the sweep timer. */
  close(): void {
    clearInterval(this.#timer);
  }

  #isExpired(entry: Entry<V>): boolean {
    return entry.expiresAt * 1000 <= this.#now();
  }
}
