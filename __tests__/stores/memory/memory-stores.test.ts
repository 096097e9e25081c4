import {
  type AuthorizationCodeGrant,
  MemoryCodeStore,
  MemoryRefreshTokenStore,
  type RefreshTokenRecord,
} from '../../../lib/index.js';
import { STORE_TEST_GRANT } from '../../support/helpers.js';

const grant: AuthorizationCodeGrant = { ...STORE_TEST_GRANT, expiresAt: 1_000 };

describe('MemoryCodeStore', () => {
  it('redeems once, then reports replayed until expiry, then unknown', async () => {
    let now = 900_000;
    const store = new MemoryCodeStore({ now: () => now });
    await store.save('k', grant, 1_000);
    expect((await store.redeem('k')).outcome).toBe('redeemed');
    expect((await store.redeem('k')).outcome).toBe('replayed');
    now = 1_000_000;
    expect((await store.redeem('k')).outcome).toBe('unknown');
    store.close();
  });

  it('of concurrent redeems, exactly one sees redeemed', async () => {
    const store = new MemoryCodeStore({ now: () => 0 });
    await store.save('k', grant, 1_000);
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => store.redeem('k')));
    expect(outcomes.filter((result) => result.outcome === 'redeemed')).toHaveLength(1);
    store.close();
  });

  it('sweeps expired entries so memory stays bounded', async () => {
    let now = 0;
    const store = new MemoryCodeStore({ now: () => now });
    for (let i = 0; i < 1_000; i++) await store.save(`k${i}`, grant, 10 + (i % 2) * 100);
    now = 50_000;
    store.sweep();
    expect(store.size).toBe(500);
    now = 200_000;
    store.sweep();
    expect(store.size).toBe(0);
    store.close();
  });

  it('keeps a copy: changing the saved grant later changes nothing', async () => {
    const store = new MemoryCodeStore({ now: () => 0 });
    const mine = structuredClone(grant);
    await store.save('k', mine, 1_000);
    mine.subject = 'someone-else';
    const result = await store.redeem('k');
    expect(result.outcome === 'redeemed' && result.grant.subject).toBe('u');
    store.close();
  });

  it('keeps a copy of the arrays and objects too: scope, amr and extra claims', async () => {
    const store = new MemoryCodeStore({ now: () => 0 });
    const mine = {
      ...structuredClone(grant),
      amr: ['pwd'],
      idTokenClaims: { tier: { level: 1 } },
      accessTokenClaims: { roles: ['a'] },
    };
    await store.save('k', mine, 1_000);
    mine.scope.push('admin');
    mine.amr.push('otp');
    mine.idTokenClaims.tier.level = 2;
    mine.accessTokenClaims.roles.push('b');
    const result = await store.redeem('k');
    expect(result.outcome === 'redeemed' && result.grant).toMatchObject({
      scope: ['openid'],
      amr: ['pwd'],
      idTokenClaims: { tier: { level: 1 } },
      accessTokenClaims: { roles: ['a'] },
    });
    store.close();
  });
});

describe('MemoryRefreshTokenStore', () => {
  const record: RefreshTokenRecord = {
    clientId: 'web',
    subject: 'u',
    scope: ['openid'],
    familyId: 'f',
    familyExpiresAt: 5_000,
  };

  it('rotates once, then reports reused', async () => {
    const store = new MemoryRefreshTokenStore({ now: () => 0 });
    await store.save('r', record, 1_000);
    expect((await store.rotate('r')).outcome).toBe('rotated');
    expect((await store.rotate('r')).outcome).toBe('reused');
    store.close();
  });

  it('revoking a family makes its tokens unknown, and a later save into it is dropped', async () => {
    const store = new MemoryRefreshTokenStore({ now: () => 0 });
    await store.save('r1', record, 1_000);
    await store.revokeFamily('f');
    expect((await store.rotate('r1')).outcome).toBe('unknown');
    await store.save('r2', record, 1_000);
    expect((await store.rotate('r2')).outcome).toBe('unknown');
    store.close();
  });

  it("a revocation that comes before the family's first token still holds", async () => {
    const store = new MemoryRefreshTokenStore({ now: () => 0 });
    await store.revokeFamily('f');
    await store.save('r', record, 1_000);
    expect((await store.rotate('r')).outcome).toBe('unknown');
    store.close();
  });

  it("a revocation holds until the family's end, even past a day from now", async () => {
    let now = 0;
    const store = new MemoryRefreshTokenStore({ now: () => now });
    const longFamily = { ...record, familyExpiresAt: 200_000 };
    await store.save('r1', longFamily, 100_000);
    await store.revokeFamily('f');
    now = 150_000_000;
    await store.save('r2', longFamily, 199_000);
    expect((await store.rotate('r2')).outcome).toBe('unknown');
    store.close();
  });

  it("a revoked token saved to outlive its family's end stays revoked until it expires", async () => {
    let now = 0;
    const store = new MemoryRefreshTokenStore({ now: () => now });
    await store.save('r', record, 300_000);
    await store.revokeFamily('f');
    now = 250_000_000;
    expect((await store.rotate('r')).outcome).toBe('unknown');
    store.close();
  });

  it('a save with a NaN expiry does not keep later revocations from expiring', async () => {
    let now = 0;
    const store = new MemoryRefreshTokenStore({ now: () => now });
    await store.save('bad', { ...record, familyId: 'g', familyExpiresAt: Number.NaN }, Number.NaN);
    await store.save('r', record, 1_000);
    await store.revokeFamily('f');
    // Remembered until the family's end (5,000 s) and at least a day, not for ever: past both,
    // a token saved into the family is kept again.
    now = 90_000_000;
    await store.save('r2', { ...record, familyExpiresAt: 200_000 }, 100_000);
    expect((await store.rotate('r2')).outcome).toBe('rotated');
    store.close();
  });

  it('find gives the record, spent or not, without spending it', async () => {
    const store = new MemoryRefreshTokenStore({ now: () => 0 });
    await store.save('r', record, 1_000);
    expect(await store.find('r')).toEqual(record);
    expect((await store.rotate('r')).outcome).toBe('rotated');
    expect(await store.find('r')).toEqual(record);
    expect(await store.find('unknown')).toBeUndefined();
    await store.revokeFamily('f');
    expect(await store.find('r')).toBeUndefined();
    store.close();
  });

  it('expires tokens at expiresAt', async () => {
    let now = 0;
    const store = new MemoryRefreshTokenStore({ now: () => now });
    await store.save('r', record, 10);
    now = 10_000;
    expect((await store.rotate('r')).outcome).toBe('unknown');
    store.close();
  });
});

describe('memory store options are checked at construction', () => {
  it.each([
    ['MemoryCodeStore', (options: object) => new MemoryCodeStore(options as never)],
    ['MemoryRefreshTokenStore', (options: object) => new MemoryRefreshTokenStore(options as never)],
  ])('%s refuses an unknown option with a hint, and a sweep interval of 0', (owner, make) => {
    expect(() => make({ nwo: () => 0 })).toThrow(
      expect.objectContaining({
        code: 'ERR_OPTION_UNKNOWN',
        message: expect.stringMatching(new RegExp(`${owner}.*did you mean "now"`)),
      }),
    );
    expect(() => make({ sweepIntervalMs: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OPTION_INVALID', option: 'sweepIntervalMs' }),
    );
    expect(() => make({ now: 5 })).toThrow(expect.objectContaining({ code: 'ERR_OPTION_INVALID', option: 'now' }));
  });
});
