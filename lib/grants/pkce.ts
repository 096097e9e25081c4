import { hash, timingSafeEqual } from 'node:crypto';

/** RFC 7636 §4.1: code_verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~". */
export const VERIFIER_FORMAT = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.1: whether `verifier` is a well-formed code_verifier. */
export function isWellFormedVerifier(verifier: string): boolean {
  return VERIFIER_FORMAT.test(verifier);
}

/** RFC 7636 §4.2: S256 code_challenge = BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256Challenge(verifier: string): string {
  // A verifier is ASCII by its grammar (§4.1), so its UTF-8 bytes are its ASCII bytes.
  return hash('sha256', verifier, 'base64url');
}

/**
 * RFC 7636 §4.6: whether the verifier matches the stored challenge. The comparison is constant
 * time, so response timing tells an attacker nothing about how much of a guess was right.
 */
export function verifierMatchesChallenge(verifier: string, challenge: string, method: 'S256' | 'plain'): boolean {
  const derived = Buffer.from(method === 'S256' ? s256Challenge(verifier) : verifier, 'utf8');
  const expected = Buffer.from(challenge, 'utf8');
  // timingSafeEqual needs equal lengths; comparing against itself keeps the work the same.
  if (derived.length !== expected.length) {
    timingSafeEqual(derived, derived);
    return false;
  }
  return timingSafeEqual(derived, expected);
}
