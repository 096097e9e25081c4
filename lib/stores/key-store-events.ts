/*
 * The events of the shared key stores, in the style of the router's (lib/events.ts): who and
 * what, never key material. A key store is built before the router, so it takes its own
 * `onEvent`; pass it the same listener as the router's.
 */

/** A scheduled key was made and published (this instance won its period). */
export interface SigningKeyCreatedEvent {
  type: 'signing_key_created';
  /** When it happened: epoch milliseconds, by the store's `now`. */
  time: number;
  /** `PostgresKeyStore` or `RedisKeyStore`. */
  store: string;
  kid: string;
  alg: string;
  /** The rotation period it signs in. */
  period: number;
  /** When it starts signing: epoch milliseconds. */
  signsFrom: number;
}

/**
 * The store could not be read; the instance goes on signing with the keys it read last, until
 * `staleUntil`. Raised when an outage begins, then at most once a `cacheTtl` while it lasts.
 */
export interface KeyStoreStaleEvent {
  type: 'key_store_stale';
  time: number;
  store: string;
  /** The key signing now, from the cache. */
  kid?: string;
  /** When the keys were last read: epoch milliseconds. */
  readAt: number;
  /** Past this (epoch milliseconds), signingKey() rejects and the token endpoint answers 503. */
  staleUntil: number;
  /** What failed: the error's name and code, never its message (which may quote a server's text). */
  error: string;
}

/** The store could be read again after an outage. */
export interface KeyStoreRecoveredEvent {
  type: 'key_store_recovered';
  time: number;
  store: string;
  /** How long the keys went unread: milliseconds. */
  staleForMs: number;
}

/** Every event a shared key store raises, told apart by `type`. */
export type KeyStoreEvent = SigningKeyCreatedEvent | KeyStoreStaleEvent | KeyStoreRecoveredEvent;

/** The key stores' `onEvent` option. Whatever it throws or rejects with is swallowed. */
export type KeyStoreEventListener = (event: KeyStoreEvent) => void | Promise<void>;
