import { timingSafeEqual } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors, type JWK, jwtVerify } from 'jose';
import type { Clock, ReplayStore } from '../contracts.js';
import { hashSecret } from '../crypto/secrets.js';
import { DpopProofError, DpopReplayStoreError } from './dpop-error.js';
import { normaliseHtu } from './htu.js';
import type { DpopNonces } from './nonce.js';

/**
 * The asymmetric JWS algorithms a proof may use (RFC 9449 §4.2: "MUST NOT be none or an identifier
 * for a symmetric algorithm"). The router's option picks among these.
 */
export const DPOP_ALGORITHMS: readonly string[] = Object.freeze([
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
]);

/** The algorithms accepted when the router's option does not say. */
export const DEFAULT_DPOP_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA']);

/** A proof longer than this is refused unread: an RSA-4096 key and every claim fit in a quarter of it. */
export const MAX_DPOP_PROOF_LENGTH = 8192;

/** The longest `jti` remembered (RFC 9449 §4.2 asks for at least 96 bits of randomness, not a length). */
const MAX_JTI_LENGTH = 256;

/** JWK members that belong to a private or symmetric key (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const ASYMMETRIC_KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);

/** What the request a proof comes with must be, and what the verifier works with. */
export interface DpopProofExpectation {
  /** The request's method, as it arrived (`POST`). The proof's `htm` must equal it. */
  method: string;
  /**
   * The request's URL as the host's public URL (the issuer's origin and the router's path), without
   * query and fragment. The proof's `htu` must equal it after RFC 3986 normalisation.
   */
  url: string;
  /** At the resource side: the access token presented. The proof's `ath` must be its hash (§4.3 check 12). */
  accessToken?: string | undefined;
  /** The accepted algorithms: a subset of {@link DPOP_ALGORITHMS}. */
  algorithms: readonly string[];
  /** How long after its `iat` a proof is accepted, in seconds. */
  maxAge: number;
  /** How far ahead of the clock a proof's `iat` may be, in seconds. */
  clockSkew: number;
  /** The clock, epoch milliseconds. */
  now: Clock;
  /** Where proof `jti`s are remembered, under keys of their own (`dpop-proof:…`). */
  replayStore: ReplayStore;
  /** When set, a proof must carry a nonce these issued (§8). */
  nonces?: DpopNonces | undefined;
}

/** A proof that passed every check. */
export interface DpopProof {
  /** The RFC 7638 SHA-256 thumbprint of the proof's public key, base64url: what `cnf.jkt` holds. */
  jkt: string;
  /** The proof's algorithm. */
  alg: string;
  /** The proof's `iat`, epoch seconds. */
  iat: number;
  /** With nonces configured: the current nonce, to send in `DPoP-Nonce` when it differs from the proof's (§8.2). */
  nextNonce: string | undefined;
}

/**
 * RFC 9449 §4.3: check the `DPoP` header values of one request, in the RFC's order, then
 * remember the proof's `jti`. Resolves to the proof's key thumbprint; throws a
 * {@link DpopProofError} naming the RFC error and the check that failed, or a
 * {@link DpopReplayStoreError} when the replay store did not answer (the caller answers 503).
 * A proof refused by any earlier check never reaches the replay store, so its `jti` is not spent.
 */
export async function verifyDpopProof(
  headerValues: readonly string[],
  expected: DpopProofExpectation,
): Promise<DpopProof> {
  // §4.3 check 1: exactly one DPoP header. A comma cannot occur in a compact JWS: two values joined.
  if (headerValues.length === 0) throw new DpopProofError('dpop_proof_missing');
  const [proof] = headerValues;
  if (headerValues.length > 1 || proof === undefined || proof.includes(',')) {
    throw new DpopProofError('dpop_proof_repeated');
  }
  // §4.3 checks 2 and 3: a well-formed compact JWS.
  if (proof.length > MAX_DPOP_PROOF_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(proof)) {
    throw new DpopProofError('dpop_proof_malformed');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch (cause) {
    throw new DpopProofError('dpop_proof_malformed', { cause });
  }
  // §4.3 check 4: typ is dpop+jwt (a media type: compared without case).
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt') {
    throw new DpopProofError('dpop_proof_typ');
  }
  // §4.3 check 5: an asymmetric algorithm the server accepts; never none, never HS*.
  const { alg } = header;
  if (typeof alg !== 'string' || !DPOP_ALGORITHMS.includes(alg) || !expected.algorithms.includes(alg)) {
    throw new DpopProofError('dpop_proof_alg');
  }
  // §4.3 check 7: the jwk header is a public key: no private or symmetric members.
  const jwk = header.jwk;
  if (!isPublicJwk(jwk)) throw new DpopProofError('dpop_proof_jwk');

  // §4.3 check 6: the signature, by the key in the jwk header.
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: [alg],
      typ: 'dpop+jwt',
      currentDate: new Date(expected.now()),
      clockTolerance: expected.clockSkew,
    }));
  } catch (cause) {
    throw new DpopProofError(reasonOfVerifyError(cause), { cause });
  }

  // §4.3 check 8: htm is the request's method.
  if (payload.htm !== expected.method) throw new DpopProofError('dpop_proof_htm');
  // §4.3 check 9: htu is the request's URL, without query and fragment, normalised (RFC 3986 §6).
  const htu = typeof payload.htu === 'string' ? normaliseHtu(payload.htu) : undefined;
  if (htu === undefined || htu !== normaliseHtu(expected.url)) throw new DpopProofError('dpop_proof_htu');

  // §4.3 check 11: iat within the window, in the past and in the future (§11.1).
  const { iat } = payload;
  const nowSeconds = Math.floor(expected.now() / 1000);
  if (typeof iat !== 'number' || !Number.isFinite(iat) || nowSeconds - iat > expected.maxAge) {
    throw new DpopProofError('dpop_proof_expired');
  }
  if (iat - nowSeconds > expected.clockSkew) throw new DpopProofError('dpop_proof_future');

  // §4.3 check 12: with an access token, ath is its SHA-256, base64url.
  if (expected.accessToken !== undefined && !athMatches(payload.ath, expected.accessToken)) {
    throw new DpopProofError('dpop_proof_ath');
  }

  // §4.3 check 10 and §8: the server's nonce, when it asks for one.
  const { nonces } = expected;
  let nextNonce: string | undefined;
  if (nonces !== undefined) {
    const now = expected.now();
    nextNonce = nonces.current(now);
    if (payload.nonce === undefined) throw new DpopProofError('dpop_nonce_missing', { nonce: nextNonce });
    if (typeof payload.nonce !== 'string' || !nonces.accepts(payload.nonce, now)) {
      throw new DpopProofError('dpop_nonce_invalid', { nonce: nextNonce });
    }
    if (payload.nonce === nextNonce) nextNonce = undefined;
  }

  // §4.2: jti, and §11.1: a proof is used once. Keyed by the proof's key as well, so a jti another
  // key's holder chose cannot block this one, and prefixed apart from private_key_jwt's assertions.
  const { jti } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    throw new DpopProofError('dpop_proof_jti_missing');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  let first: boolean;
  try {
    // Remembered for as long as the proof could be accepted: until iat + maxAge, with the skew on top.
    first = await expected.replayStore.markSeen(proofKey(jkt, jti), iat + expected.maxAge + expected.clockSkew);
  } catch (cause) {
    throw new DpopReplayStoreError(cause);
  }
  if (!first) throw new DpopProofError('dpop_proof_replayed');
  return { jkt, alg, iat, nextNonce };
}

/** The replay store's key of a proof: its key thumbprint and jti, hashed to a fixed length. */
function proofKey(jkt: string, jti: string): string {
  return `dpop-proof:${hashSecret(JSON.stringify([jkt, jti]))}`;
}

function isPublicJwk(jwk: unknown): jwk is JWK {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return false;
  const record = jwk as Record<string, unknown>;
  if (typeof record.kty !== 'string' || !ASYMMETRIC_KEY_TYPES.has(record.kty)) return false;
  return PRIVATE_JWK_MEMBERS.every((member) => !(member in record));
}

/** jose's verification errors, as the check of §4.3 they stand for. */
function reasonOfVerifyError(error: unknown) {
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'dpop_proof_signature' as const;
  // EmbeddedJWK: a jwk that does not import, or whose alg/use does not fit the header's alg.
  if (error instanceof errors.JWSInvalid || error instanceof errors.JOSENotSupported) return 'dpop_proof_jwk' as const;
  if (error instanceof errors.JWTExpired) return 'dpop_proof_expired' as const;
  return 'dpop_proof_malformed' as const;
}

function athMatches(ath: unknown, accessToken: string): boolean {
  if (typeof ath !== 'string') return false;
  const presented = Buffer.from(ath);
  const expected = Buffer.from(hashSecret(accessToken));
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
