import { createHash } from 'node:crypto';
import {
  dpopKeyOfCode,
  dpopKeyOfRefreshToken,
  familyIdFor,
  familyNamedBy,
  hashSecret,
  newAuthorizationCode,
  newRefreshToken,
  REFRESH_TOKEN_BYTES,
  randomSecret,
} from '../../lib/crypto/secrets.js';

describe('secrets', () => {
  it('hashSecret is SHA-256 of the UTF-8 text, base64url', () => {
    const secret = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    expect(hashSecret(secret)).toBe(createHash('sha256').update(secret, 'utf8').digest('base64url'));
  });

  it('randomSecret gives each byte of its random pool once: 1,000 refresh tokens (16 refills) are all distinct and whole', () => {
    const tokens = Array.from({ length: 1000 }, () => randomSecret(REFRESH_TOKEN_BYTES));
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{128}$/);
    }
  });

  it('randomSecret serves sizes that do not divide the pool, and sizes larger than it', () => {
    const odd = Array.from({ length: 500 }, () => randomSecret(37));
    expect(new Set(odd).size).toBe(odd.length);
    expect(odd.every((secret) => Buffer.from(secret, 'base64url').length === 37)).toBe(true);
    expect(Buffer.from(randomSecret(10_000), 'base64url').length).toBe(10_000);
  });
});

describe('tokens that name their DPoP key (RFC 9449 §5, §10)', () => {
  const family = familyIdFor(hashSecret('a code'));
  const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

  it('a bound refresh token names its family and its key', () => {
    const token = newRefreshToken(family, jkt);
    expect(familyNamedBy(token)).toBe(family);
    expect(dpopKeyOfRefreshToken(token)).toBe(jkt);
    expect(token).toHaveLength(172);
  });

  it('an unbound refresh token names its family and no key', () => {
    const token = newRefreshToken(family);
    expect(familyNamedBy(token)).toBe(family);
    expect(dpopKeyOfRefreshToken(token)).toBeUndefined();
  });

  it('a token of neither shape names no family and no key', () => {
    const token = `${family}.${'x'.repeat(100)}`;
    expect(familyNamedBy(token)).toBeUndefined();
    expect(dpopKeyOfRefreshToken(token)).toBeUndefined();
  });

  it('a code issued for a dpop_jkt names it; any other code names none', () => {
    expect(dpopKeyOfCode(newAuthorizationCode(jkt))).toBe(jkt);
    expect(dpopKeyOfCode(newAuthorizationCode())).toBeUndefined();
    expect(newAuthorizationCode()).toMatch(/^[\w-]{43}$/);
  });
});
