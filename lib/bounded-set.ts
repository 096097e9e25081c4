/**
 * A set of strings that holds at most `capacity` of them: adding one more forgets the oldest.
 * Whatever callers add, its memory stays bounded.
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
      this.#values.delete(oldest!);
    }
    this.#values.add(value);
  }

  get size(): number {
    return this.#values.size;
  }
}
