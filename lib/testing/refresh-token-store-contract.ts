import type { RefreshTokenRecord, RefreshTokenStore } from '../contracts.js';
import { hashSecret, REFRESH_TOKEN_BYTES, randomSecret } from '../crypto/secrets.js';
import {
  type ContractOptions,
  contractContext,
  passExpiry,
  readAtRest,
  secondsFromNow,
  type TestFramework,
} from './framework.js';
import { graceContract } from './refresh-grace-contract.js';
import { freshFamily, freshKey, fullRecord } from './refresh-records.js';

/**
 * The `RefreshTokenStore` contract, as tests: single rotation, reuse, expiry, family revocation,
 * and the optional methods (`find`, `inspect`, `isFamilyRevoked`, `rotateWithinGrace`).
 * Run it like {@link authorizationCodeStoreContract}:
 *
 * ```ts
 * import { refreshTokenStoreContract } from 'pkce-token-router/testing';
 * refreshTokenStoreContract({ describe, it, expect }, { name: 'MyRefreshTokenStore', create: () => ({ store: … }) });
 * ```
 */
export function refreshTokenStoreContract(framework: TestFramework, options: ContractOptions<RefreshTokenStore>): void {
  const { describe, expect } = framework;
  const context = contractContext(framework, options);
  const { test } = context;
  const live = (): { expiresAt: number; record: RefreshTokenRecord } => {
    const expiresAt = secondsFromNow(context.now, 600);
    return { expiresAt, record: fullRecord(expiresAt + 600) };
  };

  describe(context.title('RefreshTokenStore'), () => {
    test('a saved token rotates once, with the record exactly as saved', async ({ store }) => {
      const key = freshKey();
      const { expiresAt, record } = live();
      await store.save(key, record, expiresAt);
      expect(await store.rotate(key)).toEqual({ outcome: 'rotated', record });
    });

    test('a rotated token is reused, with its record, on every later rotate', async ({ store }) => {
      const key = freshKey();
      const { expiresAt, record } = live();
      await store.save(key, record, expiresAt);
      await store.rotate(key);
      expect(await store.rotate(key)).toEqual({ outcome: 'reused', record });
      expect(await store.rotate(key)).toEqual({ outcome: 'reused', record });
    });

    test('a token never saved is unknown', async ({ store }) => {
      expect(await store.rotate(freshKey())).toEqual({ outcome: 'unknown' });
    });

    test('a token saved already past its expiresAt is unknown', async ({ store }) => {
      const key = freshKey();
      const expiresAt = secondsFromNow(context.now, -1);
      await store.save(key, fullRecord(expiresAt + 600), expiresAt);
      expect(await store.rotate(key)).toEqual({ outcome: 'unknown' });
    });

    test('a token is unknown once its expiresAt passes, rotated or not', async ({ store }) => {
      const [unused, rotated] = [freshKey(), freshKey()];
      const expiresAt = secondsFromNow(context.now, 2);
      const record = fullRecord(expiresAt + 600);
      await store.save(unused, record, expiresAt);
      await store.save(rotated, record, expiresAt);
      expect((await store.rotate(rotated)).outcome).toBe('rotated');
      await passExpiry(context, expiresAt);
      expect(await store.rotate(unused)).toEqual({ outcome: 'unknown' });
      expect(await store.rotate(rotated)).toEqual({ outcome: 'unknown' });
    });

    test('revoking a family makes every token of it unknown, spent or not, and leaves other families alone', async ({
      store,
    }) => {
      const { expiresAt, record } = live();
      const other = { ...record, familyId: freshFamily() };
      const [spent, unspent, bystander] = [freshKey(), freshKey(), freshKey()];
      await store.save(spent, record, expiresAt);
      await store.save(unspent, record, expiresAt);
      await store.save(bystander, other, expiresAt);
      await store.rotate(spent);
      await store.revokeFamily(record.familyId);
      expect(await store.rotate(spent)).toEqual({ outcome: 'unknown' });
      expect(await store.rotate(unspent)).toEqual({ outcome: 'unknown' });
      expect(await store.rotate(bystander)).toEqual({ outcome: 'rotated', record: other });
    });

    test('a token saved into a revoked family is never rotated', async ({ store }) => {
      const { expiresAt, record } = live();
      await store.save(freshKey(), record, expiresAt);
      await store.revokeFamily(record.familyId);
      const late = freshKey();
      await store.save(late, record, expiresAt);
      expect(await store.rotate(late)).toEqual({ outcome: 'unknown' });
    });

    test("a revocation that comes before the family's first token still holds", async ({ store }) => {
      const { expiresAt, record } = live();
      await store.revokeFamily(record.familyId);
      const key = freshKey();
      await store.save(key, record, expiresAt);
      expect(await store.rotate(key)).toEqual({ outcome: 'unknown' });
    });

    test('revoking a family twice, or one never seen, is harmless', async ({ store }) => {
      const { expiresAt, record } = live();
      await store.revokeFamily(freshFamily());
      await store.revokeFamily(record.familyId);
      await store.revokeFamily(record.familyId);
      const key = freshKey();
      const other = { ...record, familyId: freshFamily() };
      await store.save(key, other, expiresAt);
      expect((await store.rotate(key)).outcome).toBe('rotated');
    });

    test(`of ${context.concurrency} concurrent rotations of one token, exactly one sees 'rotated'`, async ({
      store,
    }) => {
      const key = freshKey();
      const { expiresAt, record } = live();
      await store.save(key, record, expiresAt);
      const results = await Promise.all(Array.from({ length: context.concurrency }, () => store.rotate(key)));
      const outcomes = results.map((result) => result.outcome);
      expect(outcomes.filter((outcome) => outcome === 'rotated').length).toBe(1);
      expect(outcomes.filter((outcome) => outcome === 'reused').length).toBe(context.concurrency - 1);
    });

    if (context.checkFind) {
      test('find() gives the record, spent or not, without spending it; undefined when unknown, expired or revoked', async ({
        store,
      }) => {
        if (store.find === undefined) throw new Error('the store has no find(); pass checkFind: false to the suite');
        const { expiresAt, record } = live();
        const key = freshKey();
        await store.save(key, record, expiresAt);
        expect(await store.find(key)).toEqual(record);
        expect(await store.find(key)).toEqual(record);
        expect((await store.rotate(key)).outcome).toBe('rotated');
        expect(await store.find(key)).toEqual(record);
        expect(await store.find(freshKey())).toBe(undefined);
        const lapsed = freshKey();
        const pastExpiry = secondsFromNow(context.now, -1);
        await store.save(lapsed, fullRecord(pastExpiry + 600), pastExpiry);
        expect(await store.find(lapsed)).toBe(undefined);
        await store.revokeFamily(record.familyId);
        expect(await store.find(key)).toBe(undefined);
      });

      test('find() leaves a token that was never rotated still rotatable', async ({ store }) => {
        if (store.find === undefined) throw new Error('the store has no find(); pass checkFind: false to the suite');
        const { expiresAt, record } = live();
        const key = freshKey();
        await store.save(key, record, expiresAt);
        await store.find(key);
        expect(await store.rotate(key)).toEqual({ outcome: 'rotated', record });
      });
    }

    if (context.checkInspect) {
      test('inspect() gives the record and whether the token was spent, without spending it; undefined when unknown, expired or revoked', async ({
        store,
      }) => {
        if (store.inspect === undefined)
          throw new Error('the store has no inspect(); pass checkInspect: false to the suite');
        const { expiresAt, record } = live();
        const key = freshKey();
        await store.save(key, record, expiresAt);
        expect(await store.inspect(key, record.familyId)).toEqual({ record, spent: false });
        expect(await store.inspect(key, record.familyId)).toEqual({ record, spent: false });
        expect((await store.rotate(key, record.familyId)).outcome).toBe('rotated');
        expect(await store.inspect(key, record.familyId)).toEqual({ record, spent: true });
        expect(await store.inspect(freshKey())).toBe(undefined);
        const lapsed = freshKey();
        const pastExpiry = secondsFromNow(context.now, -1);
        const lapsedRecord = fullRecord(pastExpiry + 600);
        await store.save(lapsed, lapsedRecord, pastExpiry);
        expect(await store.inspect(lapsed, lapsedRecord.familyId)).toBe(undefined);
        await store.revokeFamily(record.familyId);
        expect(await store.inspect(key, record.familyId)).toBe(undefined);
      });

      test('inspect() leaves a token that was never rotated still rotatable', async ({ store }) => {
        if (store.inspect === undefined)
          throw new Error('the store has no inspect(); pass checkInspect: false to the suite');
        const { expiresAt, record } = live();
        const key = freshKey();
        await store.save(key, record, expiresAt);
        await store.inspect(key, record.familyId);
        expect(await store.rotate(key, record.familyId)).toEqual({ outcome: 'rotated', record });
      });
    }

    if (context.checkIsFamilyRevoked) {
      test('isFamilyRevoked() is true once revokeFamily() was called for the family, spent or not, and false for any other family', async ({
        store,
      }) => {
        if (store.isFamilyRevoked === undefined) {
          throw new Error('the store has no isFamilyRevoked(); pass checkIsFamilyRevoked: false to the suite');
        }
        const { expiresAt, record } = live();
        const key = freshKey();
        await store.save(key, record, expiresAt);
        const other = live();
        await store.save(freshKey(), other.record, other.expiresAt);
        expect(await store.isFamilyRevoked(record.familyId)).toBe(false);
        await store.rotate(key);
        expect(await store.isFamilyRevoked(record.familyId)).toBe(false);
        await store.revokeFamily(record.familyId);
        expect(await store.isFamilyRevoked(record.familyId)).toBe(true);
        expect(await store.isFamilyRevoked(other.record.familyId)).toBe(false);
        expect(await store.isFamilyRevoked(freshFamily())).toBe(false);
      });

      test('isFamilyRevoked() is true for a family revoked before any token of it was saved', async ({ store }) => {
        if (store.isFamilyRevoked === undefined) {
          throw new Error('the store has no isFamilyRevoked(); pass checkIsFamilyRevoked: false to the suite');
        }
        const family = freshFamily();
        await store.revokeFamily(family);
        expect(await store.isFamilyRevoked(family)).toBe(true);
      });
    }

    graceContract(framework, context);

    if (context.checkAtRest) {
      test("only the token's hash is at rest, never the token", async (fixture) => {
        const token = randomSecret(REFRESH_TOKEN_BYTES);
        const { expiresAt, record } = live();
        await fixture.store.save(hashSecret(token), { ...record, subject: 'user-at-rest' }, expiresAt);
        const stored = await readAtRest(fixture);
        expect(stored).toContain(hashSecret(token));
        expect(stored).toContain('user-at-rest');
        expect(stored).not.toContain(token);
      });
    }
  });
}
