/**
 * Why a DPoP proof was refused (RFC 9449 §4.3, §8). Each reason names the check that failed; the
 * RFC error the client sees is `invalid_dpop_proof`, or `use_dpop_nonce` for the nonce reasons.
 * Neither the reason nor the error carries anything of the proof's key.
 */
export type DpopRejectReason =
  /** No `DPoP` header where a proof is required. */
  | 'dpop_proof_missing'
  /** Two `DPoP` headers, or one whose value joins two (a comma): §4.3 check 1, "not more than one". */
  | 'dpop_proof_repeated'
  /** Not a compact JWS, or its header or claims are not JSON objects: §4.3 checks 2 and 3. */
  | 'dpop_proof_malformed'
  /** `typ` is not `dpop+jwt`: §4.3 check 4. */
  | 'dpop_proof_typ'
  /** `alg` is `none`, symmetric, or not one the router accepts: §4.3 check 5. */
  | 'dpop_proof_alg'
  /** `jwk` is missing, not a public key of a usable type, or carries private members: §4.3 check 7. */
  | 'dpop_proof_jwk'
  /** The signature does not verify with the `jwk`: §4.3 check 6. */
  | 'dpop_proof_signature'
  /** `htm` is not the request's method: §4.3 check 8. */
  | 'dpop_proof_htm'
  /** `htu` is not the request's URL: §4.3 check 9. */
  | 'dpop_proof_htu'
  /** `iat` is missing, or older than the accepted window: §4.3 check 11. */
  | 'dpop_proof_expired'
  /** `iat` is further in the future than the clock skew allows: §4.3 check 11. */
  | 'dpop_proof_future'
  /** No `jti`: §4.2. */
  | 'dpop_proof_jti_missing'
  /** The `jti` was seen before: §11.1. */
  | 'dpop_proof_replayed'
  /** `ath` is missing or not the hash of the access token: §4.3 check 12. */
  | 'dpop_proof_ath'
  /** The server wants a nonce and the proof has none: §8. */
  | 'dpop_nonce_missing'
  /** The proof's nonce is not one the server issued, or no longer current: §8. */
  | 'dpop_nonce_invalid';

/** The error codes of RFC 9449 §12.2. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce';

/** The RFC error code of a reason. */
export function dpopErrorCode(reason: DpopRejectReason): DpopErrorCode {
  return reason === 'dpop_nonce_missing' || reason === 'dpop_nonce_invalid' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
}

/** A refused proof: a value, thrown to the caller that answers the request. */
export class DpopProofError extends Error {
  readonly reason: DpopRejectReason;
  /** `invalid_dpop_proof` or `use_dpop_nonce` (RFC 9449 §12.2). */
  readonly error: DpopErrorCode;
  /** For `use_dpop_nonce`: the nonce to send in the `DPoP-Nonce` response header (§8). */
  readonly nonce: string | undefined;

  constructor(reason: DpopRejectReason, options: { nonce?: string | undefined; cause?: unknown } = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DpopProofError';
    this.reason = reason;
    this.error = dpopErrorCode(reason);
    this.nonce = options.nonce;
  }
}

/** The replay store could not be reached: the caller answers 503, and nothing was spent. */
export class DpopReplayStoreError extends Error {
  constructor(cause: unknown) {
    super('the replay store did not answer', { cause });
    this.name = 'DpopReplayStoreError';
  }
}
