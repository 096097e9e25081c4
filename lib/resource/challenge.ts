/*
 * The WWW-Authenticate answer of a protected resource: RFC 6750 §3 for Bearer, RFC 9449 §7.1 for
 * DPoP. A resource that accepts both schemes names both challenges (RFC 9110 §11.6.1 allows
 * several in one header), so a client learns which schemes it may use; the error goes in the
 * challenge of the scheme the request used (RFC 9449 §7.1, "Figure 16": a DPoP request's error is
 * in the DPoP challenge).
 */

/** The scheme a challenge is for. */
export type AuthenticationScheme = 'Bearer' | 'DPoP';

/** The error codes of RFC 6750 §3.1 and RFC 9449 §7.1 and §9. */
export type ResourceErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

/** What a challenge says. */
export interface ChallengeParts {
  realm: string;
  /** Schemes the resource accepts, in the order named. */
  schemes: readonly AuthenticationScheme[];
  /** RFC 9449 §7.1 `algs`: the proof algorithms accepted, when DPoP is. */
  dpopAlgorithms?: readonly string[];
  /** The error and the scheme whose challenge carries it; none for a request without credentials (RFC 6750 §3.1). */
  error?: { scheme: AuthenticationScheme; code: ResourceErrorCode; description: string; scope?: string };
}

/** The WWW-Authenticate value for `parts`. */
export function challengeHeader(parts: ChallengeParts): string {
  return parts.schemes.map((scheme) => challengeOf(scheme, parts)).join(', ');
}

function challengeOf(scheme: AuthenticationScheme, { realm, dpopAlgorithms, error }: ChallengeParts): string {
  let challenge = `${scheme} realm=${quoted(realm)}`;
  if (error !== undefined && error.scheme === scheme) {
    challenge += `, error=${quoted(error.code)}, error_description=${quoted(error.description)}`;
    if (error.scope !== undefined) challenge += `, scope=${quoted(error.scope)}`;
  }
  if (scheme === 'DPoP' && dpopAlgorithms !== undefined && dpopAlgorithms.length > 0) {
    challenge += `, algs=${quoted(dpopAlgorithms.join(' '))}`;
  }
  return challenge;
}

/** RFC 9110 §5.6.4: a quoted-string. */
export function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
