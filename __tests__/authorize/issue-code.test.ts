import { hashSecret } from '../../lib/crypto/secrets.js';
import { ConfigurationError, issueAuthorizationCode, MemoryCodeStore } from '../../lib/index.js';
import { pkcePair } from '../support/helpers.js';

describe('issueAuthorizationCode', () => {
  const store = new MemoryCodeStore();
  afterAll(() => store.close());
  const grant = () => ({
    clientId: 'web',
    redirectUri: 'https://app.example.com/cb',
    codeChallenge: pkcePair().challenge,
    codeChallengeMethod: 'S256' as const,
    subject: 'u',
    scope: ['openid'],
  });

  it('makes a fresh code of at least 256 random bits, base64url', async () => {
    const codes = await Promise.all(Array.from({ length: 20 }, () => issueAuthorizationCode(store, grant())));
    expect(new Set(codes).size).toBe(20);
    for (const code of codes) expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  });

  it("stores the grant under the code's hash, never the code, stamped with expiresAt = now + ttl", async () => {
    const saved: [string, unknown, number][] = [];
    const spy = {
      save: async (key: string, value: unknown, expiresAt: number) => void saved.push([key, value, expiresAt]),
      redeem: async () => ({ outcome: 'unknown' as const }),
    };
    const code = await issueAuthorizationCode(spy, grant(), { ttl: 30, now: () => 1_700_000_000_400 });
    expect(saved[0]![0]).toBe(hashSecret(code));
    expect(JSON.stringify(saved[0])).not.toContain(code);
    expect(saved[0]![2]).toBe(1_700_000_030);
    expect(saved[0]![1]).toMatchObject({ expiresAt: 1_700_000_030 });
  });

  it('RFC 9449 §10: a grant with dpopJkt is stored with it, and its code names the thumbprint', async () => {
    const dpopJkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const code = await issueAuthorizationCode(store, { ...grant(), dpopJkt });
    expect(code).toMatch(new RegExp(`^[A-Za-z0-9_-]{43}\\.${dpopJkt}$`));
    const redeemed = await store.redeem(hashSecret(code));
    expect(redeemed.outcome === 'redeemed' ? redeemed.grant.dpopJkt : undefined).toBe(dpopJkt);
  });

  it('defaults the ttl to 600 seconds', async () => {
    let expiresAt = 0;
    const spy = {
      save: async (_k: string, _v: unknown, e: number) => {
        expiresAt = e;
      },
      redeem: async () => ({ outcome: 'unknown' as const }),
    };
    await issueAuthorizationCode(spy, grant(), { now: () => 1_000_000 });
    expect(expiresAt).toBe(1_600);
  });

  it.each([
    ['clientId', { clientId: '' }],
    ['redirectUri', { redirectUri: 42 }],
    ['codeChallengeMethod', { codeChallengeMethod: 'S512' }],
    ['codeChallenge', { codeChallenge: 'too-short' }],
    ['subject', { subject: undefined }],
    ['scope', { scope: 'openid' }],
    ['scope', { scope: ['open id'] }],
    ['nonce', { nonce: '' }],
    ['authTime', { authTime: 1.5 }],
    ['idTokenClaims', { idTokenClaims: ['x'] }],
    ['dpopJkt', { dpopJkt: 'not a thumbprint' }],
  ])('refuses a grant with a bad %s', async (field, change) => {
    const error = await issueAuthorizationCode(store, { ...grant(), ...change } as never).catch(
      (e: unknown) => e as ConfigurationError,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('ERR_GRANT_INVALID');
    expect((error as ConfigurationError).option).toBe(field);
  });
});
