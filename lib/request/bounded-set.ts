import { detachedCopy } from '../crypto/detached-string.js';

/**
 * A set of strings that holds at most `capacity` of them: adding one more forgets the oldest.
 * It keeps its own copy of each string (see detachedCopy), so its memory is bounded by what it
 * holds. Only a value not yet held is copied.
 */
export class BoundedSet {
  readonly #values = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  has(value: string): boolean {
    return this.#values.has(value);
  }

  add(value: string): void {
    if (this.#values.has(value)) return;
    if (this.#values.size >= this.#capacity) {
      // A Set iterates in insertion order: its first value is the oldest.
      const [oldest] = this.#values;
      // biome-ignore lint/style/noNonNullAssertion: the set is full, so it has a first value
      this.#values.delete(oldest!);
    }
    this.#values.add(detachedCopy(value));
  }

  get size(): number {
    return this.#values.size;
  }
}
