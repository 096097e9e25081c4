import { issueAuthorizationCode } from '../authorize/issue-code.js';
import type { AuthorizationCodeGrant, AuthorizationCodeStore } from '../contracts.js';
import { CODE_BYTES, hashSecret, randomSecret } from '../crypto/secrets.js';
import { s256Challenge } from '../grants/pkce.js';
import {
  type ContractOptions,
  contractContext,
  passExpiry,
  readAtRest,
  secondsFromNow,
  type TestFramework,
} from './framework.js';

/** A grant with every optional field set, so a store that drops one is caught. */
export function fullGrant(expiresAt: number): AuthorizationCodeGrant {
  return {
    clientId: 'contract-client',
    redirectUri: 'https://app.example.com/callback?from=contract',
    codeChallenge: s256Challenge(randomSecret(32)),
    codeChallengeMethod: 'S256',
    subject: 'user-Ünïcødé-🔑',
    scope: ['openid', 'profile'],
    nonce: 'n-0S6_WzA2Mj',
    authTime: 1_700_000_000,
    acr: 'urn:example:loa:2',
    amr: ['pwd', 'otp'],
    idTokenClaims: { name: 'Alice', groups: ['a', 'b'], nested: { ok: true } },
    accessTokenClaims: { tenant: 't-1', level: 3 },
    expiresAt,
  };
}

/** A fresh key, as the router makes them: the hash of a fresh code. */
function freshKey(): string {
  return hashSecret(randomSecret(CODE_BYTES));
}

/**
 * The `AuthorizationCodeStore` contract (docs/contract.md "Single use, and replay"), as tests. Run it on any
 * code store with the test framework's own functions:
 *
 * ```ts
 * import { authorizationCodeStoreContract } from 'pkce-token-router/testing';
 * authorizationCodeStoreContract({ describe, it, expect }, {
 *   name: 'MyCodeStore',
 *   create: () => ({ store: new MyCodeStore(db), readAtRest: () => dumpTable(db) }),
 * });
 * ```
 */
export function authorizationCodeStoreContract(
  framework: TestFramework,
  options: ContractOptions<AuthorizationCodeStore>,
): void {
  const { describe, expect } = framework;
  const context = contractContext(framework, options);
  const { test } = context;

  describe(context.title('AuthorizationCodeStore'), () => {
    test('a saved code is redeemed once, with the grant exactly as saved', async ({ store }) => {
      const key = freshKey();
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.save(key, grant, grant.expiresAt);
      expect(await store.redeem(key)).toEqual({ outcome: 'redeemed', grant });
    });

    test('a redeemed code is replayed, with its grant, on every later redeem', async ({ store }) => {
      const key = freshKey();
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.save(key, grant, grant.expiresAt);
      await store.redeem(key);
      expect(await store.redeem(key)).toEqual({ outcome: 'replayed', grant });
      expect(await store.redeem(key)).toEqual({ outcome: 'replayed', grant });
    });

    test('a code never saved is unknown', async ({ store }) => {
      expect(await store.redeem(freshKey())).toEqual({ outcome: 'unknown' });
    });

    test('codes are independent: redeeming one leaves another redeemable', async ({ store }) => {
      const [first, second] = [freshKey(), freshKey()];
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.save(first, grant, grant.expiresAt);
      await store.save(second, { ...grant, subject: 'someone-else' }, grant.expiresAt);
      expect((await store.redeem(first)).outcome).toBe('redeemed');
      expect(await store.redeem(second)).toEqual({ outcome: 'redeemed', grant: { ...grant, subject: 'someone-else' } });
    });

    test('a code saved already past its expiresAt is unknown', async ({ store }) => {
      const key = freshKey();
      const grant = fullGrant(secondsFromNow(context.now, -1));
      await store.save(key, grant, grant.expiresAt);
      expect(await store.redeem(key)).toEqual({ outcome: 'unknown' });
    });

    test('a code is unknown once its expiresAt passes, and a redeemed one stays replayed until then', async ({
      store,
    }) => {
      const [unused, redeemed] = [freshKey(), freshKey()];
      const grant = fullGrant(secondsFromNow(context.now, 2));
      await store.save(unused, grant, grant.expiresAt);
      await store.save(redeemed, grant, grant.expiresAt);
      expect((await store.redeem(redeemed)).outcome).toBe('redeemed');
      expect((await store.redeem(redeemed)).outcome).toBe('replayed');
      await passExpiry(context, grant.expiresAt);
      expect(await store.redeem(unused)).toEqual({ outcome: 'unknown' });
      expect(await store.redeem(redeemed)).toEqual({ outcome: 'unknown' });
    });

    test(`of ${context.concurrency} concurrent redeems of one code, exactly one sees 'redeemed'`, async ({ store }) => {
      const key = freshKey();
      const grant = fullGrant(secondsFromNow(context.now, 600));
      await store.save(key, grant, grant.expiresAt);
      const results = await Promise.all(Array.from({ length: context.concurrency }, () => store.redeem(key)));
      const outcomes = results.map((result) => result.outcome);
      expect(outcomes.filter((outcome) => outcome === 'redeemed').length).toBe(1);
      expect(outcomes.filter((outcome) => outcome === 'replayed').length).toBe(context.concurrency - 1);
    });

    if (context.checkAtRest) {
      test("only the code's hash is at rest, never the code", async (fixture) => {
        const challenge = s256Challenge(randomSecret(32));
        const code = await issueAuthorizationCode(
          fixture.store,
          {
            clientId: 'contract-client',
            redirectUri: 'https://app.example.com/callback',
            codeChallenge: challenge,
            codeChallengeMethod: 'S256',
            subject: 'user-at-rest',
            scope: ['openid'],
          },
          { now: context.now },
        );
        const stored = await readAtRest(fixture);
        // The hook must show what was stored, or the absence of the code would prove nothing.
        expect(stored).toContain(hashSecret(code));
        expect(stored).toContain('user-at-rest');
        expect(stored).not.toContain(code);
      });
    }
  });
}
