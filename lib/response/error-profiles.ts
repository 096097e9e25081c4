import type { RejectReason } from './request-error.js';

/** The HTTP answer to a refused request. */
export interface ErrorAnswer {
  status: number;
  error: string;
  /** Short, fixed text; never echoes a code, verifier or token. */
  description: string;
}

/** Which table maps reasons to answers: the Tencent Cloud CIAM token API's (`ciam`, docs/contract.md
 * "The ciam profile") or RFC 6749 §5.2's. */
export type ErrorProfile = 'ciam' | 'rfc6749';

export const ERROR_PROFILES: readonly ErrorProfile[] = ['ciam', 'rfc6749'];

type ProfileTable = Record<RejectReason, ErrorAnswer>;

const answer = (status: number, error: string, description: string): ErrorAnswer => ({
  status,
  error,
  description,
});

/** The answers both profiles share. */
const COMMON = {
  method_not_allowed: answer(405, 'invalid_request', 'method not allowed'),
  unsupported_content_type: answer(
    400,
    'invalid_request',
    'content type must be application/x-www-form-urlencoded (UTF-8)',
  ),
  body_too_large: answer(413, 'invalid_request', 'request body too large'),
  body_malformed: answer(400, 'invalid_request', 'request body is not valid form data'),
  parameter_repeated: answer(400, 'invalid_request', 'a parameter is repeated or malformed'),
  client_id_invalid: answer(400, 'invalid_request', 'client_id is missing or invalid'),
  parameter_invalid: answer(400, 'invalid_request', 'a required parameter is missing or invalid'),
  // RFC 6749 §5.2 in both profiles: the Tencent Cloud CIAM token API answers a bad refresh token 400 invalid_grant too.
  refresh_token_invalid: answer(400, 'invalid_grant', 'the refresh token is invalid, expired or revoked'),
  refresh_token_reused: answer(400, 'invalid_grant', 'the refresh token is invalid, expired or revoked'),
  refresh_client_mismatch: answer(400, 'invalid_grant', 'the refresh token was not issued to this client'),
  scope_malformed: answer(400, 'invalid_scope', 'scope is malformed'),
  scope_widened: answer(400, 'invalid_scope', 'scope exceeds the scope originally granted'),
  // RFC 6749 §5.2 in both profiles: the Tencent Cloud CIAM token API's page covers only the code grant.
  grant_type_unauthorized: answer(400, 'unauthorized_client', 'the client is not allowed this grant_type'),
  scope_not_registered: answer(400, 'invalid_scope', 'scope exceeds the scopes the client is registered for'),
  store_unavailable: answer(503, 'temporarily_unavailable', 'try again later'),
  key_unavailable: answer(503, 'temporarily_unavailable', 'try again later'),
  // The registry's record for the client cannot be used: the registry's fault, not the request's.
  client_record_invalid: answer(503, 'temporarily_unavailable', 'try again later'),
  // RFC 6749 §5.2 invalid_client, 401, in both profiles: the CIAM API's pages state no other
  // status for client authentication (docs/contract.md "The ciam profile").
  client_auth_malformed: answer(401, 'invalid_client', 'client authentication is malformed'),
  client_auth_missing: answer(401, 'invalid_client', 'client authentication is required'),
  client_auth_method_mismatch: answer(401, 'invalid_client', 'this client authentication method is not allowed'),
  client_secret_invalid: answer(401, 'invalid_client', 'client authentication failed'),
  client_assertion_invalid: answer(401, 'invalid_client', 'the client assertion is invalid'),
  client_assertion_replayed: answer(401, 'invalid_client', 'the client assertion was used before'),
  client_jwks_unavailable: answer(401, 'invalid_client', "the client's keys could not be read from its jwksUri"),
  // RFC 7662 §2.1: only a client that authenticates may introspect; RFC 6749 §5.2 invalid_client.
  client_not_confidential: answer(401, 'invalid_client', 'the client must authenticate to use this endpoint'),
  // RFC 9449 §5.1 in both profiles: 400, with the errors of §12.2 (the CIAM API has no DPoP).
  dpop_proof_invalid: answer(400, 'invalid_dpop_proof', 'the DPoP proof is invalid'),
  dpop_nonce_required: answer(400, 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof'),
} as const satisfies Partial<ProfileTable>;

/** docs/contract.md "Errors", column `ciam`: the statuses of the Tencent Cloud CIAM token API. */
const CIAM: ProfileTable = {
  ...COMMON,
  client_unknown: answer(400, 'invalid_request', 'client_id is missing or invalid'),
  code_verifier_malformed: answer(401, 'invalid_client', 'code_verifier is malformed'),
  grant_type_unsupported: answer(401, 'unsupported_grant_type', 'grant_type is not supported'),
  client_mismatch: answer(401, 'invalid_client', 'the code was not issued to this client'),
  code_invalid: answer(401, 'invalid_client', 'the code is invalid, expired or already used'),
  redirect_uri_mismatch: answer(401, 'invalid_client', 'redirect_uri does not match the code'),
  pkce_mismatch: answer(401, 'invalid_client', 'code_verifier does not match the code challenge'),
  pkce_method_not_allowed: answer(401, 'invalid_client', 'the code challenge method is not allowed'),
};

/** docs/contract.md "Errors", column `rfc6749`: RFC 6749 §5.2. */
const RFC6749: ProfileTable = {
  ...COMMON,
  client_unknown: answer(401, 'invalid_client', 'unknown client'),
  code_verifier_malformed: answer(400, 'invalid_request', 'code_verifier is malformed'),
  grant_type_unsupported: answer(400, 'unsupported_grant_type', 'grant_type is not supported'),
  client_mismatch: answer(400, 'invalid_grant', 'the code was not issued to this client'),
  code_invalid: answer(400, 'invalid_grant', 'the code is invalid, expired or already used'),
  redirect_uri_mismatch: answer(400, 'invalid_grant', 'redirect_uri does not match the code'),
  pkce_mismatch: answer(400, 'invalid_grant', 'code_verifier does not match the code challenge'),
  pkce_method_not_allowed: answer(400, 'invalid_grant', 'the code challenge method is not allowed'),
};

const TABLES: Record<ErrorProfile, ProfileTable> = { ciam: CIAM, rfc6749: RFC6749 };

/** Every reason a request can be refused for, as the profiles list them. */
export const REJECT_REASONS = Object.keys(CIAM) as readonly RejectReason[];

/** The answer `profile` gives for `reason`. */
export function answerFor(profile: ErrorProfile, reason: RejectReason): ErrorAnswer {
  return TABLES[profile][reason];
}
