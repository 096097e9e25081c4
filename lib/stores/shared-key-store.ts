import type { JWK } from 'jose';
import { ConfigurationError, describeValue } from '../config/configuration-error.js';
import { clockOption, positiveInteger } from '../config/option-checks.js';
import type { Clock, KeyStore, SigningKey } from '../contracts.js';
import type { SigningAlgorithm } from '../crypto/signing-key-check.js';
import { type KeyEncryptionKeyOption, KeyEncryptionKeys, type WrappedKey } from './key-encryption.js';
import {
  type KeyPlace,
  type KeyTimes,
  periodDue,
  placeKeys,
  type RotationOptions,
  type RotationSchedule,
  resolveRotation,
  type SharedKeyState,
  signsFromFor,
} from './key-schedule.js';
import type { KeyStoreEvent, KeyStoreEventListener } from './key-store-events.js';
import { generatePrivateJwk, importPrivateJwk, type PrivateKeyPair, signingAlgorithm } from './private-jwk.js';

/*
 * What PostgresKeyStore and RedisKeyStore share (docs/keys.md "Shared key stores"): the keys'
 * encryption, their schedule, and the in-process cache that keeps the store's round trips off
 * the token requests. A backend only reads and writes rows.
 */

/** One key as a backend stores it: the times, kid and alg in the clear, the private JWK encrypted. */
export interface StoredKey extends KeyTimes, WrappedKey {
  alg: string;
}

/** What a backend does; each call bounded by its `timeoutMs`. */
export interface KeyBackend {
  /** Every key stored. */
  readAll(): Promise<StoredKey[]>;
  /**
   * Store a new key. A key with a `period` is stored only if no key holds that period yet, atomically
   * in the store: of instances racing for one period, one wins. Resolves `false` when the period
   * or the kid was taken.
   */
  insert(key: StoredKey): Promise<boolean>;
  /** Set a key's `signsFrom` and `retiredAt`; `false` when no such key. */
  setTimes(kid: string, times: Pick<KeyTimes, 'signsFrom' | 'retiredAt'>): Promise<boolean>;
  /** Replace a key's ciphertext, only while it is still under `fromKekId`. */
  rewrap(kid: string, fromKekId: string, wrapped: WrappedKey): Promise<boolean>;
  /** Delete keys whose tokens have all expired. */
  delete(kids: readonly string[]): Promise<void>;
}

/** The options every shared key store takes, besides its backend's. */
export interface SharedKeyStoreOptions {
  /** The key-encryption key(s): see {@link KeyEncryptionKeyOption}. Required. */
  keyEncryptionKey: KeyEncryptionKeyOption;
  /** When keys rotate: see {@link RotationOptions}. Defaults: every 30 days, published a day ahead, kept two days. */
  rotation?: RotationOptions;
  /** The algorithm of the keys the store makes. Default `RS256`. */
  alg?: SigningAlgorithm;
  /**
   * How long, in seconds, the keys read from the store are used before they are read again.
   * Default 30. A key promoted or added by hand on one instance reaches the others within it.
   */
  cacheTtl?: number;
  /**
   * How long, in seconds past `cacheTtl`, an instance that cannot read the store goes on signing
   * with the keys it read last. Default 300; then `signingKey()` rejects (503 at the token endpoint).
   */
  maxStale?: number;
  /** The clock: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /** Told of keys made and of outages of the store. */
  onEvent?: KeyStoreEventListener;
}

/** One key as `list()` describes it. Never key material. */
export interface SharedKeyInfo {
  kid: string;
  alg: string;
  state: SharedKeyState;
  /** The rotation period of a scheduled key. */
  period?: number;
  /** When it signs from (epoch seconds); absent for a key added by hand and not promoted. */
  signsFrom?: number;
  /** For a retired key: when it leaves the JWKS (epoch seconds). */
  publishedUntil?: number;
}

/** The names of {@link SharedKeyStoreOptions}, for the backends' unknown-option checks. */
export const SHARED_KEY_STORE_OPTIONS = [
  'keyEncryptionKey',
  'rotation',
  'alg',
  'cacheTtl',
  'maxStale',
  'now',
  'onEvent',
] as const;

/** The keys as read at one moment, decrypted. */
interface Snapshot {
  rows: readonly StoredKey[];
  pairs: ReadonlyMap<string, PrivateKeyPair>;
  /** When they were read, by the store's clock. */
  readAt: number;
}

/** After a failed read, the next try waits this long: an outage is not hammered by every request. */
const RETRY_AFTER_MS = 1_000;

/** signingKey() past the bound: the store has been unreadable too long, or holds no key that signs. */
export class KeyUnavailableError extends Error {
  readonly code = 'ERR_KEY_UNAVAILABLE';

  constructor(message: string, options?: ErrorOptions) {
    super(`pkce-token-router: ${message}`, options);
    this.name = 'KeyUnavailableError';
  }
}

/**
 * A key store whose keys live in a store every instance shares, encrypted, rotated on a schedule
 * every instance reads the same way. Rotation is lazy: the instance that reads the keys when a
 * change is due makes it (a key made, an expired key deleted), so there is no timer to stop.
 */
export abstract class SharedKeyStore implements KeyStore {
  /** See {@link SharedKeyStoreOptions.cacheTtl}, in seconds. */
  readonly cacheTtl: number;
  /** See {@link SharedKeyStoreOptions.maxStale}, in seconds. */
  readonly maxStale: number;
  /** The checked rotation, in seconds. */
  readonly rotation: Readonly<Required<RotationOptions>>;
  readonly #name: string;
  readonly #backend: KeyBackend;
  readonly #keks: KeyEncryptionKeys;
  readonly #schedule: RotationSchedule;
  readonly #alg: SigningAlgorithm;
  readonly #now: Clock;
  readonly #onEvent: KeyStoreEventListener | undefined;
  #snapshot: Snapshot | undefined;
  #refreshing: Promise<Snapshot> | undefined;
  #failedAt: number | undefined;
  #failure: unknown;
  #staleSince: number | undefined;
  #staleEventAt: number | undefined;

  protected constructor(name: string, backend: KeyBackend, options: SharedKeyStoreOptions) {
    this.#name = name;
    this.#backend = backend;
    this.#keks = KeyEncryptionKeys.from(options.keyEncryptionKey, name);
    this.#schedule = resolveRotation(options.rotation, name);
    this.#alg = signingAlgorithm(options.alg, name);
    this.cacheTtl = positiveInteger(options.cacheTtl, 'cacheTtl', 30, 'seconds', name);
    this.maxStale = positiveInteger(options.maxStale, 'maxStale', 300, 'seconds', name);
    this.#now = clockOption(options.now, name);
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
      throw new ConfigurationError(
        'ERR_OPTION_INVALID',
        'onEvent',
        `${name}: onEvent must be a function receiving each event; received ${describeValue(options.onEvent)}`,
      );
    }
    this.#onEvent = options.onEvent;
    this.rotation = {
      every: this.#schedule.everyMs / 1000,
      publishAhead: this.#schedule.publishAheadMs / 1000,
      retireAfter: this.#schedule.retireAfterMs / 1000,
    };
    if (this.rotation.publishAhead < this.cacheTtl) {
      throw new ConfigurationError(
        'ERR_OPTION_INVALID',
        'rotation.publishAhead',
        `${name}: rotation.publishAhead (${this.rotation.publishAhead} s) must be at least cacheTtl (${this.cacheTtl} s), so every instance reads a new key before it signs`,
      );
    }
  }

  /**
   * The first read, at startup: every stored key decrypted and checked, a first key made in an
   * empty store. A wrong key-encryption key, a tampered row or a weak key is a ConfigurationError
   * here (ERR_KEY_ENCRYPTION_KEY, ERR_KEY_INVALID), and so is a store that cannot be reached
   * (ERR_KEY_STORE_UNAVAILABLE), never a 503 on every request later.
   */
  protected async start(prepare?: () => Promise<void>): Promise<void> {
    try {
      await prepare?.();
      await this.#refresh();
    } catch (error) {
      if (error instanceof ConfigurationError) throw error;
      throw new ConfigurationError(
        'ERR_KEY_STORE_UNAVAILABLE',
        'keyStore',
        `${this.#name}: the key store could not be read at startup (${errorLabel(error)}); is the server up, and the table or prefix right?`,
        { cause: error },
      );
    }
  }

  async signingKey(): Promise<SigningKey> {
    const snapshot = await this.#usable();
    const current = this.#current(snapshot);
    if (current === undefined) {
      throw new KeyUnavailableError(`${this.#name} holds no key that signs now; promote one`);
    }
    return current.signing;
  }

  async publicJwks(): Promise<{ keys: JWK[] }> {
    const snapshot = await this.#usable();
    const places = this.#places(snapshot);
    const keys: JWK[] = [];
    for (const row of snapshot.rows) {
      const pair = snapshot.pairs.get(row.kid);
      if (pair !== undefined && isPublished(places.get(row.kid), this.#now()))
        keys.push(structuredClone(pair.publicJwk));
    }
    return { keys };
  }

  /** Every key still published, with its state: for dashboards and rotation scripts. */
  async list(): Promise<SharedKeyInfo[]> {
    const snapshot = await this.#refresh();
    const places = this.#places(snapshot);
    return snapshot.rows.flatMap((row) => {
      const place = places.get(row.kid);
      if (place === undefined || !isPublished(place, this.#now())) return [];
      return [
        {
          kid: row.kid,
          alg: row.alg,
          state: place.state,
          ...(row.period === null ? {} : { period: row.period }),
          ...(row.signsFrom === null ? {} : { signsFrom: Math.floor(row.signsFrom / 1000) }),
          ...(place.publishedUntil === undefined ? {} : { publishedUntil: Math.floor(place.publishedUntil / 1000) }),
        },
      ];
    });
  }

  /**
   * Add a private JWK, published from now on (state `next`), signing only once promoted. Returns
   * its `kid` (its RFC 7638 thumbprint when it has none).
   */
  async add(privateJwk: JWK): Promise<string> {
    const pair = await importPrivateJwk(privateJwk, 'add', 'key');
    const { kid, alg } = pair.signing;
    await this.#store({ ...privateJwk, kid, alg }, { period: null, signsFrom: null });
    return kid;
  }

  /** Generate a key (the store's `alg` unless told otherwise) and add it as {@link add} does. */
  async addGenerated(options: { alg?: SigningAlgorithm } = {}): Promise<string> {
    const jwk = await generatePrivateJwk(signingAlgorithm(options.alg ?? this.#alg, this.#name));
    await this.#store(jwk, { period: null, signsFrom: null });
    return jwk.kid as string;
  }

  /**
   * Make `kid` the key that signs, from now. The key that signed until now is retired: published
   * `retireAfter` longer. Other instances follow within `cacheTtl`; wait `jwksMaxAge` after adding
   * a key before promoting it, or rely on the schedule, which does.
   */
  async promote(kid: string): Promise<void> {
    const snapshot = await this.#refresh();
    const row = this.#find(snapshot, kid, 'promote');
    const current = snapshot.rows.find((other) => other.kid === this.#current(snapshot)?.signing.kid);
    if (current === row) return;
    const now = this.#now();
    await this.#backend.setTimes(kid, { signsFrom: now, retiredAt: null });
    // Retired explicitly, not only superseded: within one millisecond the order of starts alone could not tell.
    if (current !== undefined)
      await this.#backend.setTimes(current.kid, { signsFrom: current.signsFrom, retiredAt: now });
    await this.#refreshAfterWrite();
  }

  /**
   * Retire a key that does not sign: it stays published `retireAfter` (in case it signed before
   * this instance knew it), then is deleted. To retire the current key, promote another.
   */
  async retire(kid: string): Promise<void> {
    const snapshot = await this.#refresh();
    const row = this.#find(snapshot, kid, 'retire');
    if (this.#current(snapshot)?.signing.kid === kid) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'kid',
        `retire: key ${JSON.stringify(kid)} is the current key; promote another key first`,
      );
    }
    if (row.retiredAt === null) {
      await this.#backend.setTimes(kid, { signsFrom: row.signsFrom, retiredAt: this.#now() });
    }
    await this.#refreshAfterWrite();
  }

  /**
   * Re-encrypt under the first key-encryption key every key stored under another one; resolves
   * to how many. Run it after putting a new KEK first; once it returns, the old KEK can go.
   */
  async rewrapKeys(): Promise<number> {
    const rows = await this.#backend.readAll();
    let rewrapped = 0;
    for (const row of rows) {
      if (row.kekId === this.#keks.currentId) continue;
      const plaintext = this.#keks.unwrap(row, row.kid, row.alg, this.#name);
      if (await this.#backend.rewrap(row.kid, row.kekId, this.#keks.wrap(plaintext, row.kid, row.alg))) rewrapped++;
    }
    await this.#refreshAfterWrite();
    return rewrapped;
  }

  /** The keys to use now: the cache, read again when older than cacheTtl, or stale within maxStale. */
  async #usable(): Promise<Snapshot> {
    const now = this.#now();
    const snapshot = this.#snapshot;
    const cacheTtlMs = this.cacheTtl * 1000;
    if (snapshot !== undefined && now - snapshot.readAt < cacheTtlMs) {
      // Read ahead in the background past half the bound: under steady traffic no request waits.
      if (now - snapshot.readAt >= cacheTtlMs / 2 && this.#mayTry(now)) this.#refresh().catch(() => undefined);
      return snapshot;
    }
    if (this.#mayTry(now)) {
      try {
        return await this.#refresh();
      } catch {
        // Answered below: the stale keys, or the failure.
      }
    }
    const staleUntil = (snapshot?.readAt ?? 0) + cacheTtlMs + this.maxStale * 1000;
    if (snapshot !== undefined && now < staleUntil) {
      this.#reportStale(snapshot, staleUntil);
      return snapshot;
    }
    throw new KeyUnavailableError(
      `${this.#name} could not be read${snapshot === undefined ? '' : ` for longer than cacheTtl + maxStale (${this.cacheTtl + this.maxStale} s)`}: ${errorLabel(this.#failure)}`,
      { cause: this.#failure },
    );
  }

  #mayTry(now: number): boolean {
    return this.#failedAt === undefined || now - this.#failedAt >= RETRY_AFTER_MS || now < this.#failedAt;
  }

  /** Read the keys (one read at a time), making the changes the schedule says are due. */
  #refresh(): Promise<Snapshot> {
    this.#refreshing ??= this.#read()
      .then(
        (snapshot) => {
          this.#snapshot = snapshot;
          this.#failedAt = undefined;
          if (this.#staleSince !== undefined) {
            this.#emit({ type: 'key_store_recovered', staleForMs: snapshot.readAt - this.#staleSince });
            this.#staleSince = undefined;
            this.#staleEventAt = undefined;
          }
          return snapshot;
        },
        (error: unknown) => {
          this.#failedAt = this.#now();
          this.#failure = error;
          throw error;
        },
      )
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** A read that starts after a write: one already under way may have begun before it. */
  async #refreshAfterWrite(): Promise<Snapshot> {
    await this.#refreshing?.catch(() => undefined);
    return this.#refresh();
  }

  async #read(): Promise<Snapshot> {
    const readAt = this.#now();
    let rows = await this.#backend.readAll();
    if (await this.#maintain(rows, readAt)) rows = await this.#backend.readAll();
    const pairs = new Map<string, PrivateKeyPair>();
    for (const row of rows) pairs.set(row.kid, await this.#decrypt(row));
    return { rows, pairs, readAt };
  }

  /**
   * What the schedule says is due at `now`: delete keys whose tokens have all expired, make the
   * first key of an empty store, make the key of the period due. Resolves `true` when it wrote.
   */
  async #maintain(rows: readonly StoredKey[], now: number): Promise<boolean> {
    const places = placeKeys(rows, now, this.#schedule.retireAfterMs);
    let wrote = false;
    const expired = rows.filter((row) => !isPublished(places.get(row.kid), now)).map((row) => row.kid);
    if (expired.length > 0) {
      await this.#backend.delete(expired);
      wrote = true;
    }
    const periods = new Set(rows.map((row) => row.period));
    if (![...places.values()].some((place) => place.state === 'current')) {
      // No key signs: a new store (or one unread for longer than a key lives). The key of the
      // current period signs at once, there being no token yet for any cache to verify.
      const period = Math.floor(now / this.#schedule.everyMs);
      const holder = rows.find((row) => row.period === period && row.retiredAt === null);
      if (holder === undefined) await this.#create(period, now);
      else await this.#backend.setTimes(holder.kid, { signsFrom: now, retiredAt: null });
      periods.add(period);
      wrote = true;
    }
    const due = periodDue(now, this.#schedule);
    if (!periods.has(due)) {
      await this.#create(due, signsFromFor(due, now, this.#schedule));
      wrote = true;
    }
    return wrote;
  }

  /** Make the key of `period`; of instances racing, the store lets one write it. */
  async #create(period: number, signsFrom: number): Promise<void> {
    const jwk = await generatePrivateJwk(this.#alg);
    if (await this.#store(jwk, { period, signsFrom })) {
      this.#emit({ type: 'signing_key_created', kid: jwk.kid as string, alg: this.#alg, period, signsFrom });
    }
  }

  async #store(jwk: JWK, times: Pick<KeyTimes, 'period' | 'signsFrom'>): Promise<boolean> {
    const kid = jwk.kid as string;
    const alg = jwk.alg as string;
    const stored = await this.#backend.insert({
      kid,
      alg,
      ...times,
      createdAt: this.#now(),
      retiredAt: null,
      ...this.#keks.wrap(JSON.stringify(jwk), kid, alg),
    });
    if (!stored && times.period === null) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'kid',
        `the store already holds a key with kid ${JSON.stringify(kid)}`,
      );
    }
    if (times.period === null) await this.#refreshAfterWrite();
    return stored;
  }

  /** A stored key decrypted and checked; the last snapshot's import is reused for an unchanged row. */
  async #decrypt(row: StoredKey): Promise<PrivateKeyPair> {
    const known = this.#snapshot?.rows.find(
      (old) => old.kid === row.kid && old.ciphertext === row.ciphertext && old.alg === row.alg,
    );
    const knownPair = known === undefined ? undefined : this.#snapshot?.pairs.get(row.kid);
    if (knownPair !== undefined) return knownPair;
    const plaintext = this.#keks.unwrap(row, row.kid, row.alg, this.#name);
    let jwk: JWK;
    try {
      jwk = JSON.parse(plaintext) as JWK;
    } catch {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'key',
        `${this.#name}: the stored key ${describeValue(row.kid)} is not a JWK`,
      );
    }
    // The row's clear kid and alg are authenticated (AAD); the JWK must agree with them.
    const pair = await importPrivateJwk({ ...jwk, kid: row.kid, alg: row.alg }, this.#name, 'stored key');
    return pair;
  }

  #places(snapshot: Snapshot): Map<string, KeyPlace> {
    return placeKeys(snapshot.rows, this.#now(), this.#schedule.retireAfterMs);
  }

  #current(snapshot: Snapshot): PrivateKeyPair | undefined {
    for (const [kid, place] of this.#places(snapshot)) {
      if (place.state === 'current') return snapshot.pairs.get(kid);
    }
    return undefined;
  }

  #find(snapshot: Snapshot, kid: string, action: string): StoredKey {
    const places = this.#places(snapshot);
    const row = snapshot.rows.find((candidate) => candidate.kid === kid);
    if (row === undefined || !isPublished(places.get(kid), this.#now())) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'kid',
        `${action}: the store holds no key with kid ${describeValue(kid)}`,
      );
    }
    return row;
  }

  #reportStale(snapshot: Snapshot, staleUntil: number): void {
    const now = this.#now();
    this.#staleSince ??= snapshot.readAt;
    if (this.#staleEventAt !== undefined && now - this.#staleEventAt < this.cacheTtl * 1000) return;
    this.#staleEventAt = now;
    const kid = this.#current(snapshot)?.signing.kid;
    this.#emit({
      type: 'key_store_stale',
      ...(kid === undefined ? {} : { kid }),
      readAt: snapshot.readAt,
      staleUntil,
      error: errorLabel(this.#failure),
    });
  }

  #emit(event: DistributiveOmit<KeyStoreEvent, 'time' | 'store'>): void {
    const listener = this.#onEvent;
    if (listener === undefined) return;
    try {
      Promise.resolve(listener({ ...event, time: this.#now(), store: this.#name } as KeyStoreEvent)).catch(
        () => undefined,
      );
    } catch {
      // A listener's failure never breaks a request.
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function isPublished(place: KeyPlace | undefined, now: number): boolean {
  return place !== undefined && (place.publishedUntil === undefined || place.publishedUntil > now);
}

/** An error's name and code: what is safe to put in an event or a message (a server's text may not be). */
function errorLabel(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${error.name} ${code}` : error.name;
}
