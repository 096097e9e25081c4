import { randomBytes } from 'node:crypto';
import { CompactSign, compactVerify, createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Clock, KeyStore } from '../contracts.js';
import { fixtureTest, type TestFramework } from './framework.js';

/** A key store with the manual rotation of `MemoryKeyStore`, `PostgresKeyStore` and `RedisKeyStore`. */
export interface ManagedKeyStore extends KeyStore {
  /** Add a private JWK: published, not signing. Resolves to its kid. */
  add(privateJwk: JWK): Promise<string>;
  /** Make a key the one that signs; the one before is retired. */
  promote(kid: string): void | Promise<void>;
  /** Retire a key that does not sign. */
  retire(kid: string): void | Promise<void>;
}

/** One fresh backend (a fresh table or prefix) for one test. */
export interface KeyStoreFixture<S extends ManagedKeyStore> {
  /**
   * Open a store on the fixture's backend. Each call is one more instance on the same keys for a
   * shared store (the same object again for an in-process one). `keyEncryptionKey`, when given,
   * replaces the fixture's own: the suite passes a wrong one and expects the open to fail.
   */
  open(overrides?: { keyEncryptionKey?: Uint8Array }): Promise<S>;
  /** Everything the backend keeps, as text (rows, or keys and values). Needed with `checkAtRest`. */
  readAtRest?(): Promise<string>;
  /** Change one byte of one stored ciphertext. Needed with `checkEncryption`. */
  tamper?(): Promise<void>;
  /** Release what the fixture made; called after every test, passed or failed. */
  cleanup?(): Promise<void> | void;
}

/** Options of {@link keyStoreContract}: what the store can do, so the suite runs what applies. */
export interface KeyStoreContractOptions<S extends ManagedKeyStore> {
  name: string;
  create(): Promise<KeyStoreFixture<S>> | KeyStoreFixture<S>;
  /** The clock the stores are given (epoch milliseconds), and how to move it. Both required: rotation spans days. */
  now: Clock;
  advanceTime(ms: number): Promise<void> | void;
  /** Seconds a key stays published after it stops signing: `retireAfter`, or a MemoryKeyStore's `maxTokenTtl` + 60. */
  retiredKeyLifetime: number;
  /** Seconds within which a store object sees a change another made: its `cacheTtl`. Default 0. */
  cacheTtl?: number;
  /** The stores' scheduled rotation, in seconds; absent for a store without one (the schedule tests are left out). */
  rotation?: { every: number; publishAhead: number };
  /** Whether store objects that `open` returns share keys through a backend (the concurrency tests). Default false. */
  sharedBackend?: boolean;
  /** Whether to look at the keys at rest (`readAtRest`). Default false. */
  checkAtRest?: boolean;
  /** Whether to test the key-encryption key at open (`tamper`). Default false. */
  checkEncryption?: boolean;
  /** How many store objects race in the concurrency test. Default 8. */
  concurrency?: number;
  testTimeoutMs?: number;
}

/** Every member of a JWK that holds private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A private ES256 JWK, as a host would add one. */
async function freshPrivateJwk(alg: 'ES256' | 'RS256' = 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: `contract-${randomBytes(6).toString('hex')}`, alg, use: 'sig' };
}

async function kidsOf(store: KeyStore): Promise<string[]> {
  return (await store.publicJwks()).keys.map((key) => key.kid as string);
}

/** The code a rejection carries, or `undefined` when it resolved. */
async function rejectionCode(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  return undefined;
}

/** One moment of a rotation watched through several store objects. */
interface Observation {
  at: number;
  signing: string[];
  published: string[][];
}

/**
 * The `KeyStore` contract (docs/keys.md "Writing a key store"), as tests: a key is published
 * before it signs, a retired key is published until every token it signed has expired, nothing
 * private is published, and, for a shared store, one key a rotation period however many
 * instances race, keys encrypted at rest, a wrong key-encryption key refused at open:
 *
 * ```ts
 * import { keyStoreContract } from 'pkce-token-router/testing';
 * keyStoreContract({ describe, it, expect }, {
 *   name: 'MyKeyStore', now: clock.now, advanceTime: clock.advance, retiredKeyLifetime: 86_460,
 *   create: () => ({ open: () => MyKeyStore.open({ db, now: clock.now }) }),
 * });
 * ```
 */
export function keyStoreContract<S extends ManagedKeyStore>(
  framework: TestFramework,
  options: KeyStoreContractOptions<S>,
): void {
  const { describe, expect } = framework;
  const cacheMs = (options.cacheTtl ?? 0) * 1000;
  const advance = async (ms: number) => {
    await options.advanceTime(ms);
  };
  const test = fixtureTest(framework, options.create, options.testTimeoutMs ?? 60_000);
  const off = [
    options.rotation === undefined ? 'no scheduled rotation' : '',
    options.sharedBackend ? '' : 'not shared',
    options.checkAtRest ? '' : 'at-rest check off',
    options.checkEncryption ? '' : 'encryption check off',
  ].filter((note) => note !== '');
  const title = `${options.name} meets the KeyStore contract${off.length === 0 ? '' : ` (${off.join('; ')})`}`;

  /** Watch `stores` from now until `untilMs` later, every `stepMs`. */
  async function watch(stores: readonly S[], untilMs: number, stepMs: number): Promise<Observation[]> {
    const trace: Observation[] = [];
    for (let elapsed = 0; elapsed <= untilMs; elapsed += stepMs) {
      const signing = await Promise.all(stores.map(async (store) => (await store.signingKey()).kid));
      const published = await Promise.all(stores.map(kidsOf));
      trace.push({ at: options.now(), signing, published });
      await advance(stepMs);
    }
    return trace;
  }

  describe(title, () => {
    test("a token signed with signingKey() verifies with publicJwks(), under the key's kid", async (fixture) => {
      const store = await fixture.open();
      const key = await store.signingKey();
      const jws = await new CompactSign(new TextEncoder().encode('contract'))
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .sign(key.key);
      const verified = await compactVerify(jws, createLocalJWKSet(await store.publicJwks()));
      expect(new TextDecoder().decode(verified.payload)).toBe('contract');
    });

    test('publicJwks() holds no private member (d, p, q, dp, dq, qi, oth, k)', async (fixture) => {
      const store = await fixture.open();
      await store.add(await freshPrivateJwk('RS256'));
      const { keys } = await store.publicJwks();
      expect(keys.length > 1).toBe(true);
      for (const key of keys) for (const member of PRIVATE_MEMBERS) expect(member in key).toBe(false);
    });

    test('a key added is published at once and does not sign until promoted', async (fixture) => {
      const store = await fixture.open();
      const kid = await store.add(await freshPrivateJwk());
      expect(await kidsOf(store)).toContain(kid);
      expect((await store.signingKey()).kid).not.toBe(kid);
      await store.promote(kid);
      expect((await store.signingKey()).kid).toBe(kid);
    });

    test('a retired key stays published until every token it signed has expired, then leaves the JWKS', async (fixture) => {
      const store = await fixture.open();
      const old = (await store.signingKey()).kid;
      const kid = await store.add(await freshPrivateJwk());
      await store.promote(kid);
      await advance(options.retiredKeyLifetime * 1000 - 2_000);
      expect(await kidsOf(store)).toContain(old);
      await advance(4_000);
      expect(await kidsOf(store)).not.toContain(old);
      expect(await kidsOf(store)).toContain(kid);
    });

    test('retire() of the key that signs is refused; of a key on standby, it stops being a candidate', async (fixture) => {
      const store = await fixture.open();
      const current = (await store.signingKey()).kid;
      expect(await rejectionCode(async () => store.retire(current))).toBe('ERR_KEY_INVALID');
      const kid = await store.add(await freshPrivateJwk());
      await store.retire(kid);
      expect((await store.signingKey()).kid).toBe(current);
      await advance(options.retiredKeyLifetime * 1000 + 2_000);
      expect(await kidsOf(store)).not.toContain(kid);
    });

    if (options.sharedBackend) {
      test(`a key promoted on one instance signs on another within cacheTtl (${options.cacheTtl ?? 0} s)`, async (fixture) => {
        const [a, b] = [await fixture.open(), await fixture.open()];
        const kid = await a.add(await freshPrivateJwk());
        await advance(cacheMs + 1_000);
        expect(await kidsOf(b)).toContain(kid);
        await a.promote(kid);
        await advance(cacheMs + 1_000);
        expect((await b.signingKey()).kid).toBe(kid);
      });
    }

    const rotation = options.rotation;
    if (rotation !== undefined) {
      const everyMs = rotation.every * 1000;
      const aheadMs = rotation.publishAhead * 1000;
      /** Move the clock just past the start of a period, so no next key is due yet. */
      const toPeriodStart = () => advance(everyMs - (options.now() % everyMs) + 1_000);
      const stepMs = Math.max(Math.floor(aheadMs / 4), cacheMs + 1_000);
      const instances = options.sharedBackend ? 2 : 1;

      test(`every key is published by every instance at least publishAhead (${rotation.publishAhead} s) before any signs with it`, async (fixture) => {
        await toPeriodStart();
        const stores = await Promise.all(Array.from({ length: instances }, () => fixture.open()));
        const trace = await watch(stores, 2 * everyMs + aheadMs, stepMs);
        const firstSigned = new Map<string, number>();
        for (const moment of trace)
          for (const kid of moment.signing) if (!firstSigned.has(kid)) firstSigned.set(kid, moment.at);
        expect(firstSigned.size).toBe(3);
        // The first key signed from the start (a new store); each later one must have been published ahead.
        for (const [kid, signedAt] of [...firstSigned].slice(1)) {
          for (const moment of trace) {
            if (moment.at >= signedAt - aheadMs + cacheMs + stepMs && moment.at <= signedAt) {
              for (const published of moment.published) expect(published).toContain(kid);
            }
          }
        }
      });

      test(`a key that stopped signing is published for retiredKeyLifetime (${options.retiredKeyLifetime} s), then not`, async (fixture) => {
        await toPeriodStart();
        const stores = await Promise.all(Array.from({ length: instances }, () => fixture.open()));
        const trace = await watch(stores, everyMs + options.retiredKeyLifetime * 1000 + 2 * stepMs, stepMs);
        const lastSigned = new Map<string, number>();
        for (const moment of trace) for (const kid of moment.signing) lastSigned.set(kid, moment.at);
        const [first, firstEnd] = [...lastSigned][0] ?? ['', 0];
        const lifetimeMs = options.retiredKeyLifetime * 1000;
        expect(lastSigned.size).toBe(2);
        for (const moment of trace) {
          for (const published of moment.published) {
            if (moment.at <= firstEnd + lifetimeMs - stepMs) expect(published).toContain(first);
            if (moment.at > firstEnd + stepMs + lifetimeMs + cacheMs) expect(published).not.toContain(first);
          }
        }
      });

      if (options.sharedBackend) {
        const racing = options.concurrency ?? 8;
        test(`${racing} instances racing on one backend make one key a period`, async (fixture) => {
          await toPeriodStart();
          const stores = await Promise.all(Array.from({ length: racing }, () => fixture.open()));
          const opened = await Promise.all(stores.map(kidsOf));
          expect(new Set(opened.flat()).size).toBe(1);
          // Into the next period's publish window: every instance reads at once, all find it due.
          await advance(everyMs - aheadMs + stepMs);
          const published = await Promise.all(stores.map(kidsOf));
          expect(new Set(published.flat()).size).toBe(2);
          for (const kids of published) expect(kids.length).toBe(2);
        });
      }
    }

    if (options.checkAtRest) {
      test('no private member of a key is stored in the clear', async (fixture) => {
        const store = await fixture.open();
        const jwk = await freshPrivateJwk('RS256');
        const kid = await store.add(jwk);
        if (fixture.readAtRest === undefined) throw new Error('checkAtRest needs the fixture to have readAtRest()');
        const atRest = await fixture.readAtRest();
        // The dump is where the keys are: the kid is there, in the clear.
        expect(atRest).toContain(kid);
        for (const member of PRIVATE_MEMBERS) {
          const value = jwk[member as keyof JWK];
          if (typeof value === 'string') expect(atRest).not.toContain(value);
          expect(/\\*"(d|p|q|dp|dq|qi|k)\\*"\s*:/.test(atRest)).toBe(false);
        }
      });
    }

    if (options.checkEncryption) {
      test('a wrong key-encryption key is refused at open (ERR_KEY_ENCRYPTION_KEY), not per request', async (fixture) => {
        await fixture.open();
        expect(await rejectionCode(() => fixture.open({ keyEncryptionKey: randomBytes(32) }))).toBe(
          'ERR_KEY_ENCRYPTION_KEY',
        );
      });

      test('a tampered ciphertext is refused at open (ERR_KEY_ENCRYPTION_KEY)', async (fixture) => {
        await fixture.open();
        if (fixture.tamper === undefined) throw new Error('checkEncryption needs the fixture to have tamper()');
        await fixture.tamper();
        expect(await rejectionCode(() => fixture.open())).toBe('ERR_KEY_ENCRYPTION_KEY');
      });
    }
  });
}
