import { ConfigurationError } from '../config/configuration-error.js';
import { checkOptionsObject, positiveInteger } from '../config/option-checks.js';

/*
 * The life of a key in a shared key store (docs/keys.md "Scheduled rotation"). Time is cut into
 * periods of `every` seconds from the epoch; period n's key signs from n × every. It is made
 * `publishAhead` before that, by whichever instance first sees the moment come, so every JWKS
 * cache that honours jwksMaxAge holds it before any token it signs exists. The key that signed
 * before it is then retired and stays published `retireAfter` more, until every token it signed
 * has expired; then it is deleted.
 *
 * A key's state is not written: it follows from the times kept in the clear beside it (when it
 * signs from, when it was retired by hand), read against the clock. So a scheduled change of
 * state needs no write and no coordination, and every instance that reads the same rows at the
 * same time decides the same.
 */

/** The `rotation` option, in seconds. */
export interface RotationOptions {
  /** How long a key signs before the next one takes over. Default 2592000 (30 days); at least 3600. */
  every?: number;
  /**
   * How long before it signs a new key is published. Default 86400 (a day); less than `every`.
   * The router requires at least `jwksMaxAge` + the store's `cacheTtl`.
   */
  publishAhead?: number;
  /**
   * How long a key stays published after it stops signing. Default 172800 (two days). The
   * router requires at least the longest token lifetime + `cacheTtl` + `maxStale`.
   */
  retireAfter?: number;
}

/** The checked rotation, in milliseconds. */
export interface RotationSchedule {
  everyMs: number;
  publishAheadMs: number;
  retireAfterMs: number;
}

export function resolveRotation(value: unknown, owner: string): RotationSchedule {
  const given = checkOptionsObject(`${owner} rotation`, value ?? {}, ['every', 'publishAhead', 'retireAfter']);
  const every = positiveInteger(given.every, 'rotation.every', 2_592_000, 'seconds', owner);
  const publishAhead = positiveInteger(given.publishAhead, 'rotation.publishAhead', 86_400, 'seconds', owner);
  const retireAfter = positiveInteger(given.retireAfter, 'rotation.retireAfter', 172_800, 'seconds', owner);
  if (every < 3_600) {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'rotation.every',
      `${owner}: rotation.every must be at least 3600 seconds (an hour); received ${every}`,
    );
  }
  if (publishAhead >= every) {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'rotation.publishAhead',
      `${owner}: rotation.publishAhead (${publishAhead} s) must be less than rotation.every (${every} s), so one key at a time waits to sign`,
    );
  }
  return { everyMs: every * 1000, publishAheadMs: publishAhead * 1000, retireAfterMs: retireAfter * 1000 };
}

/** One key as stored: everything but the ciphertext is in the clear. Times in epoch milliseconds. */
export interface KeyTimes {
  kid: string;
  /** The period whose key this is (one key a period); `null` for a key added by hand. */
  period: number | null;
  createdAt: number;
  /** When it signs from; `null` for a key on standby until promoted. */
  signsFrom: number | null;
  /** When it was retired by hand; `null` otherwise. */
  retiredAt: number | null;
}

/** Where a key is in its life: published and waiting, signing, or published for its tokens only. */
export type SharedKeyState = 'next' | 'current' | 'retired';

/** A key's state at a moment, and when it leaves the JWKS (for a retired key). */
export interface KeyPlace {
  state: SharedKeyState;
  /** Epoch milliseconds; for a retired key only. */
  publishedUntil?: number;
}

/**
 * Every key's place at `now`. The current key is the latest to have started signing among those
 * not retired by hand; one that started before it is retired from the moment its successor
 * started. A key retired by hand, or superseded, is published `retireAfterMs` longer.
 */
export function placeKeys(keys: readonly KeyTimes[], now: number, retireAfterMs: number): Map<string, KeyPlace> {
  // One total order (start, then creation, then kid), so every instance picks the same key.
  const started = keys
    .filter((key) => key.retiredAt === null && key.signsFrom !== null && key.signsFrom <= now)
    .sort(
      (a, b) =>
        (a.signsFrom as number) - (b.signsFrom as number) ||
        a.createdAt - b.createdAt ||
        (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0),
    );
  const places = new Map<string, KeyPlace>();
  started.forEach((key, index) => {
    const successor = started[index + 1];
    // Superseded: it signed until the next key started.
    if (successor === undefined) places.set(key.kid, { state: 'current' });
    else places.set(key.kid, { state: 'retired', publishedUntil: (successor.signsFrom as number) + retireAfterMs });
  });
  for (const key of keys) {
    if (places.has(key.kid)) continue;
    if (key.retiredAt !== null)
      places.set(key.kid, { state: 'retired', publishedUntil: key.retiredAt + retireAfterMs });
    else places.set(key.kid, { state: 'next' });
  }
  return places;
}

/** The period whose key must exist by `now`: the one that starts within `publishAheadMs`. */
export function periodDue(now: number, schedule: RotationSchedule): number {
  return Math.floor((now + schedule.publishAheadMs) / schedule.everyMs);
}

/**
 * When a key made now for `period` signs from: the period's start, or `publishAheadMs` from now
 * if that is later (a key made late, after the instances were all down, is still published
 * ahead; the key before it signs until then).
 */
export function signsFromFor(period: number, now: number, schedule: RotationSchedule): number {
  return Math.max(period * schedule.everyMs, now + schedule.publishAheadMs);
}
