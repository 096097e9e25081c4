/**
 * Why a request was refused. The error profiles map each reason to the status and OAuth `error`
 * the client sees (docs/contract.md "Errors"); audit events carry it as it is.
 */
export type RejectReason =
  | 'method_not_allowed'
  | 'unsupported_content_type'
  | 'body_too_large'
  | 'body_malformed'
  | 'parameter_repeated'
  | 'client_id_invalid'
  | 'client_unknown'
  | 'parameter_invalid'
  | 'code_verifier_malformed'
  | 'grant_type_unsupported'
  | 'grant_type_unauthorized'
  | 'client_mismatch'
  | 'code_invalid'
  | 'redirect_uri_mismatch'
  | 'pkce_mismatch'
  | 'pkce_method_not_allowed'
  | 'refresh_token_invalid'
  | 'refresh_token_reused'
  | 'refresh_client_mismatch'
  | 'scope_malformed'
  | 'scope_widened'
  | 'scope_not_registered'
  | 'store_unavailable'
  | 'key_unavailable'
  | 'client_record_invalid'
  | 'client_auth_malformed'
  | 'client_auth_missing'
  | 'client_auth_method_mismatch'
  | 'client_secret_invalid'
  | 'client_assertion_invalid'
  | 'client_assertion_replayed'
  | 'client_jwks_unavailable'
  | 'client_not_confidential'
  /** RFC 9449 §4.3, §5: the DPoP proof is missing where required, fails a check, or is of the wrong key. */
  | 'dpop_proof_invalid'
  /** RFC 9449 §8: the router wants a nonce in the proof; the answer's `DPoP-Nonce` header has it. */
  | 'dpop_nonce_required';

/** A refused request: a value carried to the one place that answers it. */
export class RequestError extends Error {
  readonly reason: RejectReason;
  /** Set for `method_not_allowed`: the methods the path does allow. */
  readonly allow: string | undefined;
  /**
   * A fixed word that says which check failed (a DPoP proof's: `dpop_proof_replayed`), added to
   * the answer's description in parentheses. Never anything of the request.
   */
  readonly detail: string | undefined;

  constructor(reason: RejectReason, options: { allow?: string; cause?: unknown; detail?: string } = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RequestError';
    this.reason = reason;
    this.allow = options.allow;
    this.detail = options.detail;
  }
}

/** Await an adapter call; a rejection becomes `reason` (503), with the cause kept off the wire. */
export async function guard<T>(promise: Promise<T>, reason: RejectReason): Promise<T> {
  try {
    return await promise;
  } catch (cause) {
    throw new RequestError(reason, { cause });
  }
}
