import type { ReplayStore } from '../contracts.js';
import { hashSecret, randomSecret } from '../crypto/secrets.js';
import { type ContractOptions, contractContext, passExpiry, secondsFromNow, type TestFramework } from './framework.js';

/** A fresh key, as the router makes them: a hash (of an assertion's client and jti). */
function freshKey(): string {
  return `client-assertion:${hashSecret(randomSecret(32))}`;
}

/** How many concurrent markSeen calls of one key the concurrency test makes. */
const CONCURRENT_MARKS = 20;

/**
 * The `ReplayStore` contract (docs/stores.md "Seen once"), as tests: what must be used once,
 * such as a private_key_jwt assertion's `jti` (RFC 7523 §3), is refused the second time, until
 * its expiry, on one process or many sharing the store:
 *
 * ```ts
 * import { replayStoreContract } from 'pkce-token-router/testing';
 * replayStoreContract({ describe, it, expect }, {
 *   name: 'MyCodeStore',
 *   create: () => ({ store: new MyCodeStore(db) }),
 *   checkAtRest: false,
 * });
 * ```
 */
export function replayStoreContract(framework: TestFramework, options: ContractOptions<ReplayStore>): void {
  const { describe, expect } = framework;
  const context = contractContext(framework, options);
  const { test } = context;

  describe(context.title('ReplayStore'), () => {
    test('a key marked for the first time is new (true)', async ({ store }) => {
      expect(await store.markSeen(freshKey(), secondsFromNow(context.now, 60))).toBe(true);
    });

    test('a key marked again before its expiry was seen (false), every time', async ({ store }) => {
      const key = freshKey();
      const expiresAt = secondsFromNow(context.now, 60);
      await store.markSeen(key, expiresAt);
      expect(await store.markSeen(key, expiresAt)).toBe(false);
      expect(await store.markSeen(key, secondsFromNow(context.now, 120))).toBe(false);
    });

    test('keys are independent: marking one does not mark another', async ({ store }) => {
      const expiresAt = secondsFromNow(context.now, 60);
      await store.markSeen(freshKey(), expiresAt);
      expect(await store.markSeen(freshKey(), expiresAt)).toBe(true);
    });

    test(`of ${CONCURRENT_MARKS} concurrent marks of one key, exactly one is first`, async ({ store }) => {
      const key = freshKey();
      const expiresAt = secondsFromNow(context.now, 60);
      const results = await Promise.all(Array.from({ length: CONCURRENT_MARKS }, () => store.markSeen(key, expiresAt)));
      expect(results.filter((first) => first).length).toBe(1);
    });

    test('after its expiry a key is forgotten: marking it again is new', async ({ store }) => {
      const key = freshKey();
      const expiresAt = secondsFromNow(context.now, 1);
      await store.markSeen(key, expiresAt);
      await passExpiry(context, expiresAt);
      expect(await store.markSeen(key, secondsFromNow(context.now, 60))).toBe(true);
    });
  });
}
