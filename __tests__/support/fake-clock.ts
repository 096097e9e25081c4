/**
 * A clock the store contract suites move instead of waiting: the stores take `now` as an option
 * and decide expiry by it.
 */
export function fakeClock(): { now: () => number; advanceTime: (ms: number) => void } {
  let now = Date.now();
  return {
    now: () => now,
    advanceTime: (ms) => {
      now += ms;
    },
  };
}
