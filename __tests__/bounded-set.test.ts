import { BoundedSet } from '../lib/bounded-set.js';

describe('BoundedSet', () => {
  it('holds what was added, up to its capacity', () => {
    const set = new BoundedSet(3);
    for (const value of ['a', 'b', 'c']) set.add(value);
    expect(['a', 'b', 'c', 'd'].map((value) => set.has(value))).toEqual([true, true, true, false]);
    expect(set.size).toBe(3);
  });

  it('adding one more than its capacity forgets the oldest value only', () => {
    const set = new BoundedSet(3);
    for (const value of ['a', 'b', 'c', 'd']) set.add(value);
    expect(['a', 'b', 'c', 'd'].map((value) => set.has(value))).toEqual([false, true, true, true]);
    expect(set.size).toBe(3);
  });

  it('adding a value it holds changes nothing', () => {
    const set = new BoundedSet(2);
    set.add('a');
    set.add('b');
    set.add('a');
    expect([set.has('a'), set.has('b'), set.size]).toEqual([true, true, 2]);
  });

  it('never holds more than its capacity, whatever is added', () => {
    const set = new BoundedSet(100);
    for (let i = 0; i < 10_000; i++) set.add(`value-${i}`);
    expect(set.size).toBe(100);
    expect(set.has('value-9999')).toBe(true);
    expect(set.has('value-9899')).toBe(false);
  });
});
