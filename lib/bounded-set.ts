/**
 * A set of strings that holds at most `capacity` of them: adding one more forgets the oldest.
 * It keeps its own copy of each string, so its memory is bounded by what it holds: in V8 a
 * string cut out of a longer one (a form value sliced from a request body) can keep the whole
 * longer string alive, and with it whatever else that body carried.
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
    this.#values.add(detachedCopy(value));
  }

  get size(): number {
    return this.#values.size;
  }
}

/**
 * The same text in a string of its own, referring to no other string. A JSON round trip copies
 * every UTF-16 unit, lone surrogates included (JSON.stringify escapes them). Costly, but only a
 * value seen for the first time is copied.
 */
function detachedCopy(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}
