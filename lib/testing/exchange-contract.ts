import type { AtomicCodeExchange, AuthorizationCodeStore, FirstRefreshToken, RefreshTokenStore } from '../contracts.js';
import { CODE_BYTES, familyIdFor, hashSecret, newRefreshToken, randomSecret } from '../crypto/secrets.js';
import { firstRefreshTokenRecord } from '../stores/refresh-records.js';
import { fullGrant } from './code-store-contract.js';
import { type ContractOptions, contractContext, secondsFromNow, type TestFramework } from './framework.js';

/** A code store and the refresh-token store the router pairs it with. */
export interface StorePair {
  codeStore: AuthorizationCodeStore;
  refreshTokenStore: RefreshTokenStore;
}

/** A fresh code's key, with the first token of the family it would start. */
function freshExchange(now: () => number): { codeKey: string; first: FirstRefreshToken & { token: string } } {
  const codeKey = hashSecret(randomSecret(CODE_BYTES));
  const familyId = familyIdFor(codeKey);
  return {
    codeKey,
    first: {
      ...freshToken(familyId),
      familyId,
      familyExpiresAt: secondsFromNow(now, 3600),
      expiresAt: secondsFromNow(now, 1800),
    },
  };
}

/** A fresh refresh token of `familyId`, as the router makes them, with its key. */
function freshToken(familyId: string): { token: string; key: string } {
  const token = newRefreshToken(familyId);
  return { token, key: hashSecret(token) };
}

/**
 * The atomic exchange contract (docs/contract.md "When a store fails"): a code store whose
 * `atomicExchange` pairs with the refresh-token store redeems a code and stores the family's first
 * refresh token in one step, and a refresh-token store's `rotateAndSave` rotates a token and
 * stores its successor in one step. With both, a store failure never leaves a code or a refresh
 * token spent without the tokens that replace it. Run it on the two stores as the router gets them:
 *
 * ```ts
 * import { atomicExchangeContract } from 'pkce-token-router/testing';
 * atomicExchangeContract({ describe, it, expect }, {
 *   name: 'MyStores',
 *   create: () => ({ store: { codeStore: new MyCodeStore(db), refreshTokenStore: new MyRefreshTokenStore(db) } }),
 * });
 * ```
 */
export function atomicExchangeContract(framework: TestFramework, options: ContractOptions<StorePair>): void {
  const { describe, expect } = framework;
  const context = contractContext(framework, options);
  const { test } = context;
  const exchangeOf = ({ codeStore, refreshTokenStore }: StorePair): AtomicCodeExchange => {
    const exchange = codeStore.atomicExchange?.(refreshTokenStore);
    if (exchange === undefined)
      throw new Error(
        'the code store has no atomic exchange with this refresh-token store: a store failure can cost the user the code',
      );
    return exchange;
  };
  const rotateAndSaveOf = ({ refreshTokenStore }: StorePair): NonNullable<RefreshTokenStore['rotateAndSave']> => {
    if (refreshTokenStore.rotateAndSave === undefined)
      throw new Error('the refresh-token store has no rotateAndSave(): a store failure can cost the user the family');
    return refreshTokenStore.rotateAndSave.bind(refreshTokenStore);
  };
  /** A code saved and exchanged: the family's first token, live. */
  const startFamily = async (pair: StorePair) => {
    const { codeKey, first } = freshExchange(context.now);
    const grant = fullGrant(secondsFromNow(context.now, 600));
    await pair.codeStore.save(codeKey, grant, grant.expiresAt);
    expect((await exchangeOf(pair)(codeKey, first)).outcome).toBe('redeemed');
    return { first, record: firstRefreshTokenRecord(grant, first) };
  };

  describe(context.title('atomic exchange'), () => {
    test("an exchange redeems the code, with its grant, and stores the first refresh token with the grant's facts", async ({
      store,
    }) => {
      const { codeKey, first } = freshExchange(context.now);
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.codeStore.save(codeKey, grant, grant.expiresAt);
      expect(await exchangeOf(store)(codeKey, first)).toEqual({ outcome: 'redeemed', grant });
      const rotated = await store.refreshTokenStore.rotate(first.key, first.familyId);
      expect(rotated).toEqual({ outcome: 'rotated', record: firstRefreshTokenRecord(grant, first) });
    });

    test("an exchange binds the family to the first token's dpopJkt, never to the grant's (RFC 9449 §5, §10)", async ({
      store,
    }) => {
      // The grant's dpopJkt binds the code; the family's binding is the router's, given with the first token.
      const grant = { ...fullGrant(secondsFromNow(context.now, 600)), dpopJkt: 'c'.repeat(43) };
      for (const dpopJkt of ['f'.repeat(43), undefined]) {
        const { codeKey, first } = freshExchange(context.now);
        const bound = dpopJkt === undefined ? first : { ...first, dpopJkt };
        await store.codeStore.save(codeKey, grant, grant.expiresAt);
        expect((await exchangeOf(store)(codeKey, bound)).outcome).toBe('redeemed');
        const rotated = await store.refreshTokenStore.rotate(first.key, first.familyId);
        expect(rotated).toEqual({ outcome: 'rotated', record: firstRefreshTokenRecord(grant, bound) });
        expect(rotated.outcome === 'rotated' ? rotated.record.dpopJkt : 'not rotated').toBe(dpopJkt);
      }
    });

    test("a rotation's successor keeps the family's dpopJkt (RFC 9449 §5: bound through every rotation)", async ({
      store,
    }) => {
      const { codeKey, first } = freshExchange(context.now);
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.codeStore.save(codeKey, grant, grant.expiresAt);
      await exchangeOf(store)(codeKey, { ...first, dpopJkt: 'f'.repeat(43) });
      const successor = freshToken(first.familyId);
      const next = { key: successor.key, expiresAt: secondsFromNow(context.now, 1800) };
      expect((await rotateAndSaveOf(store)(first.key, next, first.familyId)).outcome).toBe('rotated');
      const rotated = await store.refreshTokenStore.rotate(successor.key, first.familyId);
      expect(rotated.outcome === 'rotated' ? rotated.record.dpopJkt : 'not rotated').toBe('f'.repeat(43));
    });

    test('an exchange of a redeemed code is replayed, and stores nothing', async ({ store }) => {
      const { codeKey, first } = freshExchange(context.now);
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.codeStore.save(codeKey, grant, grant.expiresAt);
      await exchangeOf(store)(codeKey, first);
      const again = { ...first, ...freshToken(first.familyId) };
      expect(await exchangeOf(store)(codeKey, again)).toEqual({ outcome: 'replayed', grant });
      expect(await store.refreshTokenStore.rotate(again.key, again.familyId)).toEqual({ outcome: 'unknown' });
    });

    test('an exchange of a code never saved is unknown, and stores nothing', async ({ store }) => {
      const { codeKey, first } = freshExchange(context.now);
      expect(await exchangeOf(store)(codeKey, first)).toEqual({ outcome: 'unknown' });
      expect(await store.refreshTokenStore.rotate(first.key, first.familyId)).toEqual({ outcome: 'unknown' });
    });

    test('an exchange into a family revoked before stores no live token', async ({ store }) => {
      const { codeKey, first } = freshExchange(context.now);
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.codeStore.save(codeKey, grant, grant.expiresAt);
      await store.refreshTokenStore.revokeFamily(first.familyId);
      expect((await exchangeOf(store)(codeKey, first)).outcome).toBe('redeemed');
      expect(await store.refreshTokenStore.rotate(first.key, first.familyId)).toEqual({ outcome: 'unknown' });
    });

    test(`of ${context.concurrency} concurrent exchanges of one code, exactly one redeems it, and only its token is stored`, async ({
      store,
    }) => {
      const { codeKey, first } = freshExchange(context.now);
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.codeStore.save(codeKey, grant, grant.expiresAt);
      const attempts = Array.from({ length: context.concurrency }, () => ({ ...first, ...freshToken(first.familyId) }));
      const exchange = exchangeOf(store);
      const results = await Promise.all(attempts.map((attempt) => exchange(codeKey, attempt)));
      const winners = attempts.filter((_attempt, index) => results[index]?.outcome === 'redeemed');
      expect(winners.length).toBe(1);
      const rotations = await Promise.all(
        attempts.map((attempt) => store.refreshTokenStore.rotate(attempt.key, attempt.familyId)),
      );
      const live = attempts.filter((_attempt, index) => rotations[index]?.outcome === 'rotated');
      expect(live).toEqual(winners);
    });

    test('a rotation with its successor: the successor has the same record, until its own expiry', async ({
      store,
    }) => {
      const { first, record } = await startFamily(store);
      const successor = { ...freshToken(first.familyId), expiresAt: first.expiresAt + 60 };
      const result = await rotateAndSaveOf(store)(first.key, successor, first.familyId);
      expect(result).toEqual({ outcome: 'rotated', record });
      expect(await store.refreshTokenStore.rotate(successor.key, first.familyId)).toEqual({
        outcome: 'rotated',
        record: { ...record, expiresAt: successor.expiresAt },
      });
    });

    test("a successor is never kept past the family's end", async ({ store }) => {
      const { first, record } = await startFamily(store);
      const successor = { ...freshToken(first.familyId), expiresAt: first.familyExpiresAt + 600 };
      await rotateAndSaveOf(store)(first.key, successor, first.familyId);
      const rotated = await store.refreshTokenStore.rotate(successor.key, first.familyId);
      expect(rotated).toEqual({ outcome: 'rotated', record: { ...record, expiresAt: first.familyExpiresAt } });
    });

    test('a rotation of a token spent before is reuse, and stores nothing', async ({ store }) => {
      const { first, record } = await startFamily(store);
      const rotateAndSave = rotateAndSaveOf(store);
      await rotateAndSave(first.key, { ...freshToken(first.familyId), expiresAt: first.expiresAt }, first.familyId);
      const late = { ...freshToken(first.familyId), expiresAt: first.expiresAt };
      expect(await rotateAndSave(first.key, late, first.familyId)).toEqual({ outcome: 'reused', record });
      expect(await store.refreshTokenStore.rotate(late.key, first.familyId)).toEqual({ outcome: 'unknown' });
    });

    test('a rotation of an unknown or revoked token stores nothing', async ({ store }) => {
      const { first } = await startFamily(store);
      const rotateAndSave = rotateAndSaveOf(store);
      const stranger = freshToken(first.familyId);
      const afterUnknown = { ...freshToken(first.familyId), expiresAt: first.expiresAt };
      expect(await rotateAndSave(stranger.key, afterUnknown, first.familyId)).toEqual({ outcome: 'unknown' });
      await store.refreshTokenStore.revokeFamily(first.familyId);
      const afterRevoked = { ...freshToken(first.familyId), expiresAt: first.expiresAt };
      expect(await rotateAndSave(first.key, afterRevoked, first.familyId)).toEqual({ outcome: 'unknown' });
      for (const { key } of [afterUnknown, afterRevoked]) {
        expect(await store.refreshTokenStore.rotate(key, first.familyId)).toEqual({ outcome: 'unknown' });
      }
    });

    test(`of ${context.concurrency} concurrent rotations of one token, exactly one rotates, and only its successor is stored`, async ({
      store,
    }) => {
      const { first } = await startFamily(store);
      const rotateAndSave = rotateAndSaveOf(store);
      const successors = Array.from({ length: context.concurrency }, () => ({
        ...freshToken(first.familyId),
        expiresAt: first.expiresAt,
      }));
      const results = await Promise.all(
        successors.map((successor) => rotateAndSave(first.key, successor, first.familyId)),
      );
      const winners = successors.filter((_successor, index) => results[index]?.outcome === 'rotated');
      expect(winners.length).toBe(1);
      const rotations = await Promise.all(
        successors.map(({ key }) => store.refreshTokenStore.rotate(key, first.familyId)),
      );
      expect(successors.filter((_successor, index) => rotations[index]?.outcome === 'rotated')).toEqual(winners);
    });

    test("find() with the family named gives the first token's record without spending it", async ({ store }) => {
      if (store.refreshTokenStore.find === undefined) return;
      const { first, record } = await startFamily(store);
      expect(await store.refreshTokenStore.find(first.key, first.familyId)).toEqual(record);
      expect((await store.refreshTokenStore.rotate(first.key, first.familyId)).outcome).toBe('rotated');
    });
  });
}
