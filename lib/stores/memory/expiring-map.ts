// biome-ignore-all lint/style/noNonNullAssertion: the heap indices are within the bounds of the array they read
import { checkOptionsObject, clockOption, positiveInteger } from '../../config/option-checks.js';
import type { Clock, EpochSeconds } from '../../contracts.js';

/** Options shared by the in-process stores. */
export interface MemoryStoreOptions {
  /** The clock for expiry decisions: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /** How often expired entries are swept, in milliseconds. Default 60000. */
  sweepIntervalMs?: number;
}

/** The options of an in-process store, checked, with the defaults filled in. */
export interface MemoryStoreConfig {
  now: Clock;
  sweepIntervalMs: number;
}

/** Check an in-process store's options at construction, as the shared stores' are. */
export function resolveMemoryStoreOptions(owner: string, options: unknown = {}): MemoryStoreConfig {
  const given = checkOptionsObject(owner, options, ['now', 'sweepIntervalMs']);
  return {
    now: clockOption(given.now, owner),
    sweepIntervalMs: positiveInteger(given.sweepIntervalMs, 'sweepIntervalMs', 60_000, 'milliseconds', owner),
  };
}

/**
 * A copy of a stored record that later changes to the caller's object cannot reach. Strings
 * cannot change, so they are shared rather than duplicated as structuredClone would: that took a
 * held code from 625 to 409 bytes of heap (`npm run bench -- --memory`), and costs a quarter of
 * the time. Arrays of strings (scope, amr) are copied; other objects (extra claims) are cloned.
 */
export function copyRecord<T extends object>(record: T): T {
  const copy = { ...record } as Record<string, unknown>;
  for (const [name, value] of Object.entries(copy)) {
    if (typeof value !== 'object' || value === null) continue;
    copy[name] =
      Array.isArray(value) && value.every((item) => typeof item === 'string') ? [...value] : structuredClone(value);
  }
  return copy as T;
}

/** What an `ExpiringMap` holds: a value that knows when it expires. */
export interface Expiring {
  /** Epoch seconds; from then on the value is gone. */
  readonly expiresAt: EpochSeconds;
}

/**
 * A Map whose entries vanish at their expiry: reads never see an expired entry, and a timer
 * sweeps them out so memory stays bounded by what is live. The timer is `unref()`'d so it never
 * keeps a process alive; `close()` stops it.
 *
 * Keys are also filed by the second they expire at, so a sweep visits only what has expired,
 * not every entry: with 660,000 codes held (1,000 a second), a sweep that walked them all held
 * the event loop for about 240 ms (`npm run bench -- --memory`).
 *
 * Values carry their own expiry rather than being wrapped in an entry object: a store holds
 * one value per live token, and each object held is one more for every garbage collection to
 * copy and mark (docs/performance.md).
 */
export class ExpiringMap<V extends Expiring> {
  readonly #entries = new Map<string, V>();
  /** The keys set to expire at each second. A key deleted or set again since stays listed. */
  readonly #keysBySecond = new Map<EpochSeconds, string[]>();
  /** The seconds of `#keysBySecond`, soonest first. */
  readonly #seconds = new MinHeap();
  readonly #now: Clock;
  readonly #timer: NodeJS.Timeout;

  constructor(options: MemoryStoreConfig) {
    this.#now = options.now;
    this.#timer = setInterval(() => this.sweep(), options.sweepIntervalMs);
    this.#timer.unref();
  }

  /** The live value under `key`, or `undefined`. */
  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    if (value.expiresAt * 1000 <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return value;
  }

  /** Keep `value` under `key` until its `expiresAt`. */
  set(key: string, value: V): void {
    const { expiresAt } = value;
    const previous = this.#entries.get(key);
    this.#entries.set(key, value);
    if (previous?.expiresAt === expiresAt) return;
    let keys = this.#keysBySecond.get(expiresAt);
    if (keys === undefined) {
      keys = [];
      this.#keysBySecond.set(expiresAt, keys);
      this.#seconds.push(expiresAt);
    }
    keys.push(key);
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
    const now = this.#now();
    for (
      let second = this.#seconds.peek();
      second !== undefined && second * 1000 <= now;
      second = this.#seconds.peek()
    ) {
      this.#seconds.pop();
      for (const key of this.#keysBySecond.get(second) ?? []) {
        const value = this.#entries.get(key);
        // Set again with a later expiry, the key is filed under that second too.
        if (value !== undefined && value.expiresAt * 1000 <= now) this.#entries.delete(key);
      }
      this.#keysBySecond.delete(second);
    }
  }

  /** Stop the sweep timer. */
  close(): void {
    clearInterval(this.#timer);
  }
}

/** A binary min-heap of numbers. */
class MinHeap {
  readonly #items: number[] = [];

  peek(): number | undefined {
    return this.#items[0];
  }

  push(item: number): void {
    const items = this.#items;
    let index = items.push(item) - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent]! <= item) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = item;
  }

  pop(): number | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = last;
    return top;
  }
}
