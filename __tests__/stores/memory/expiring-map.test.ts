import { jest } from '@jest/globals';
import { ExpiringMap } from '../../../lib/stores/memory/expiring-map.js';

/** A value that expires at `expiresAt`, named so a test can tell which value it got. */
interface Value {
  name: string;
  expiresAt: number;
}

describe("ExpiringMap (the memory stores' expiry)", () => {
  let now = 0;
  const map = () => new ExpiringMap<Value>({ now: () => now, sweepIntervalMs: 60_000 });
  beforeEach(() => {
    now = 0;
  });

  it('hides an entry from the moment it expires, and the sweep drops it', () => {
    const entries = map();
    entries.set('a', { name: 'A', expiresAt: 10 });
    now = 9_999;
    expect(entries.get('a')?.name).toBe('A');
    now = 10_000;
    expect(entries.get('a')).toBeUndefined();
    entries.set('b', { name: 'B', expiresAt: 10 });
    entries.sweep();
    expect(entries.size).toBe(0);
    entries.close();
  });

  it('sweeps entries set in any order of expiry, and only the expired ones', () => {
    const entries = map();
    const expiries = [50, 10, 40, 20, 30, 10, 60, 5, 45, 25];
    for (const [index, expiresAt] of expiries.entries()) entries.set(`k${index}`, { name: `v${index}`, expiresAt });
    for (const [second, left] of [
      [5, 9],
      [10, 7],
      [29, 5],
      [45, 2],
      [50, 1],
      [60, 0],
    ] as const) {
      now = second * 1_000;
      entries.sweep();
      expect({ second, size: entries.size }).toEqual({ second, size: left });
    }
    entries.close();
  });

  it('keeps an entry set again with a later expiry past the sweep of its first one', () => {
    const entries = map();
    entries.set('a', { name: 'first', expiresAt: 10 });
    entries.set('a', { name: 'second', expiresAt: 100 });
    now = 50_000;
    entries.sweep();
    expect(entries.get('a')?.name).toBe('second');
    now = 100_000;
    entries.sweep();
    expect(entries.size).toBe(0);
    entries.close();
  });

  it('drops an entry set again with an earlier expiry at that earlier time', () => {
    const entries = map();
    entries.set('a', { name: 'first', expiresAt: 100 });
    entries.set('a', { name: 'second', expiresAt: 10 });
    now = 10_000;
    entries.sweep();
    expect(entries.size).toBe(0);
    entries.close();
  });

  it('lets a deleted key be set again, and sweeps it at its new expiry', () => {
    const entries = map();
    entries.set('a', { name: 'first', expiresAt: 10 });
    entries.delete('a');
    entries.set('a', { name: 'second', expiresAt: 20 });
    now = 10_000;
    entries.sweep();
    expect(entries.get('a')?.name).toBe('second');
    now = 20_000;
    entries.sweep();
    expect(entries.size).toBe(0);
    entries.close();
  });

  it('sweeps on its timer', () => {
    jest.useFakeTimers();
    try {
      const entries = new ExpiringMap<Value>({ now: () => now, sweepIntervalMs: 60_000 });
      entries.set('a', { name: 'A', expiresAt: 1 });
      now = 1_000;
      jest.advanceTimersByTime(59_999);
      expect(entries.size).toBe(1);
      jest.advanceTimersByTime(1);
      expect(entries.size).toBe(0);
      entries.close();
    } finally {
      jest.useRealTimers();
    }
  });
});
