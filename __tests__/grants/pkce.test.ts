import { isWellFormedVerifier, s256Challenge, verifierMatchesChallenge } from '../../lib/grants/pkce.js';

describe('PKCE (RFC 7636)', () => {
  // RFC 7636 Appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('derives the Appendix B S256 challenge from the Appendix B verifier', () => {
    expect(s256Challenge(verifier)).toBe(challenge);
  });

  it('matches the Appendix B pair, and refuses a one-character change', () => {
    expect(verifierMatchesChallenge(verifier, challenge, 'S256')).toBe(true);
    expect(verifierMatchesChallenge(`${verifier.slice(0, -1)}b`, challenge, 'S256')).toBe(false);
    expect(verifierMatchesChallenge(verifier, challenge.slice(0, -1), 'S256')).toBe(false);
  });

  it('compares plain challenges as themselves (§4.2)', () => {
    expect(verifierMatchesChallenge(verifier, verifier, 'plain')).toBe(true);
    expect(verifierMatchesChallenge(verifier, challenge, 'plain')).toBe(false);
  });

  it.each([
    ['43 unreserved characters', 'a'.repeat(43), true],
    ['128 unreserved characters', '-._~'.repeat(32), true],
    ['42 characters', 'a'.repeat(42), false],
    ['129 characters', 'a'.repeat(129), false],
    ['a space', `${'a'.repeat(42)} `, false],
    ['a +', `${'a'.repeat(42)}+`, false],
    ['a non-ASCII letter', `${'a'.repeat(42)}é`, false],
  ])('§4.1: %s is %s', (_name, candidate, wellFormed) => {
    expect(isWellFormedVerifier(candidate)).toBe(wellFormed);
  });
});
