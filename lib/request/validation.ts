import { checkSchema, type ParamSchema, type Schema, type ValidationChain } from 'express-validator';
import type { ClientGrantType } from '../contracts.js';
import { VERIFIER_FORMAT } from '../grants/pkce.js';
import type { RejectReason } from '../response/request-error.js';
import { BoundedSet } from './bounded-set.js';
import type { FormParams } from './form-body.js';
import {
  CLIENT_ID_PARAMETER,
  MAX_CODE_LENGTH,
  MAX_GRANT_TYPE_LENGTH,
  MAX_REDIRECT_URI_LENGTH,
  MAX_REFRESH_TOKEN_LENGTH,
  MAX_SCOPE_LENGTH,
  MAX_TOKEN_TYPE_HINT_LENGTH,
  SCOPE_FORMAT,
} from './limits.js';

/** The grant types the token endpoint serves. */
export const SUPPORTED_GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
] as const satisfies readonly ClientGrantType[];

export type GrantType = (typeof SUPPORTED_GRANT_TYPES)[number];

/**
 * The parameters a client authenticates with in the body (RFC 6749 §2.3.1, RFC 7523 §2.2):
 * read by every endpoint that authenticates clients, so a repeated one is refused. They are
 * judged by client authentication (lib/clients/authenticate.ts), not here.
 */
export const CLIENT_AUTH_PARAMETERS = ['client_secret', 'client_assertion_type', 'client_assertion'] as const;

/** The parameters every token request reads, whatever its grant type. */
const COMMON_PARAMETERS = ['client_id', 'grant_type', ...CLIENT_AUTH_PARAMETERS] as const;

/** The parameters each grant type reads besides the common ones. */
const GRANT_PARAMETERS: Record<GrantType, readonly string[]> = {
  authorization_code: ['code', 'redirect_uri', 'code_verifier'],
  refresh_token: ['refresh_token', 'scope'],
  client_credentials: ['scope'],
};

/**
 * The body parameters the token endpoint reads, for every grant type; all others are ignored
 * (RFC 6749 §3.2).
 */
export const TOKEN_PARAMETERS: ReadonlySet<string> = new Set([
  ...COMMON_PARAMETERS,
  ...Object.values(GRANT_PARAMETERS).flat(),
]);

/**
 * The parameters a request with this `grant_type` reads: only these must not be repeated. A
 * code request that repeats `scope`, which it does not read, is not refused for it.
 */
export function parametersOfGrant(grantType: string | undefined): ReadonlySet<string> {
  // Without a supported grant type, step 1 cannot tell which parameters will be read: all count.
  return isSupportedGrantType(grantType) ? PARAMETERS_OF_GRANT[grantType] : TOKEN_PARAMETERS;
}

function isSupportedGrantType(grantType: string | undefined): grantType is GrantType {
  return (SUPPORTED_GRANT_TYPES as readonly (string | undefined)[]).includes(grantType);
}

const PARAMETERS_OF_GRANT: Record<GrantType, ReadonlySet<string>> = {
  authorization_code: new Set([...COMMON_PARAMETERS, ...GRANT_PARAMETERS.authorization_code]),
  refresh_token: new Set([...COMMON_PARAMETERS, ...GRANT_PARAMETERS.refresh_token]),
  client_credentials: new Set([...COMMON_PARAMETERS, ...GRANT_PARAMETERS.client_credentials]),
};

/** The body parameters the revocation endpoint reads (RFC 7009 §2.1). */
export const REVOCATION_PARAMETERS: ReadonlySet<string> = new Set([
  'client_id',
  'token',
  'token_type_hint',
  ...CLIENT_AUTH_PARAMETERS,
]);

/** RFC 7662 §2.1: the same parameters as revocation's (`token`, `token_type_hint`), and the client's. */
export const INTROSPECTION_PARAMETERS: ReadonlySet<string> = REVOCATION_PARAMETERS;

/*
 * How the schemas are written. A length check refuses a value that is not a string, so a
 * minimum length of 1 says "present and non-empty" (docs/contract.md "Request": empty counts as
 * missing). Each field's checks run in the order listed and only its first error is read, so a
 * later check needs no `bail` to stay unheard when an earlier one failed. Every check and every `bail` is one more step
 * on every request (about 2 µs each), so a field has as few as say what it must; where one
 * check covers two rules, its message tells them apart.
 */

/**
 * Within `max` UTF-16 code units, the unit every limit counts (lib/limits.ts). `isLength` counts
 * a surrogate pair, and a character with its variation selector, as one: a limit of 2,048 would
 * let through up to 6,144 units, and the remembered values three times their bound.
 */
function withinLength(min: number, max: number): (value: unknown) => boolean {
  return (value) => typeof value === 'string' && value.length >= min && value.length <= max;
}

/** A required parameter: present, non-empty, at most `max` UTF-16 code units. */
function required(reason: RejectReason, max: number): ParamSchema {
  return { in: ['body'], custom: { options: withinLength(1, max), errorMessage: reason } };
}

/** An optional parameter: absent or empty is fine; otherwise at most `max` UTF-16 code units. */
function optional(max: number): ParamSchema {
  return {
    in: ['body'],
    optional: { options: { values: 'falsy' } },
    custom: { options: withinLength(0, max), errorMessage: 'parameter_invalid' },
  };
}

/** One parameter's express-validator chain and, for a parameter that repeats, the values it accepted. */
interface FieldCheck {
  field: string;
  chain: ValidationChain;
  accepted?: BoundedSet;
}

/**
 * The parameters whose accepted values are remembered, so that a value seen again is not judged
 * again: a client sends the same client_id, grant_type and redirect_uri on every request, and
 * judging them is most of what validation costs (docs/performance.md). They are not secrets
 * (they travel in authorization URLs). Codes, verifiers and tokens are secret and used once: they
 * are judged every time and never kept. Remembering is sound because a chain's verdict depends on
 * its own field's value alone: no schema here reads another field or the request.
 */
const REPEATING_PARAMETERS: ReadonlySet<string> = new Set([
  'client_id',
  'grant_type',
  'redirect_uri',
  'scope',
  'token_type_hint',
]);

/**
 * Accepted values kept per parameter. An accepted value is within its limit, counted in UTF-16
 * code units, and V8 stores a string in at most 2 bytes a unit: a set holds at most 1 MiB (256
 * values of up to 2,048 units, for redirect_uri and scope), docs/performance.md.
 */
const ACCEPTED_VALUES_KEPT = 256;

/** A schema's fields, in order, each built once into its express-validator chain. */
function fieldChecks(schema: Schema): FieldCheck[] {
  const chains = checkSchema(schema);
  // checkSchema makes one chain per field, in the schema's key order.
  return Object.keys(schema).map((field, index) => ({
    field,
    // biome-ignore lint/style/noNonNullAssertion: checkSchema returns one chain per key of schema
    chain: chains[index]!,
    ...(REPEATING_PARAMETERS.has(field) ? { accepted: new BoundedSet(ACCEPTED_VALUES_KEPT) } : {}),
  }));
}

/** client_id: present, within its limit and all VSCHAR, in one pattern. */
const CLIENT_ID: ParamSchema = {
  in: ['body'],
  matches: {
    options: CLIENT_ID_PARAMETER,
    errorMessage: 'client_id_invalid',
  },
};

/**
 * docs/contract.md "Order of checks", steps 2 and 3, shared by every grant type, built once. Step 3 only
 * asks more of grant_type, so it ends grant_type's chain: client_id is still checked first, and
 * grant_type present and within limits before it is asked to be supported.
 */
const COMMON_CHECKS = fieldChecks({
  // 2. client_id and grant_type present, non-empty, within limits.
  client_id: CLIENT_ID,
  grant_type: {
    ...required('parameter_invalid', MAX_GRANT_TYPE_LENGTH),
    // 3. grant_type supported.
    isIn: { options: [SUPPORTED_GRANT_TYPES], errorMessage: 'grant_type_unsupported' },
  },
});

/** An optional scope, RFC 6749 §3.3 syntax: scope tokens separated by single spaces. */
const SCOPE: ParamSchema = {
  ...optional(MAX_SCOPE_LENGTH),
  matches: { options: SCOPE_FORMAT, errorMessage: 'scope_malformed' },
};

/** Step 4: each grant's own parameters, checked in the order listed. */
const GRANT_CHECKS: Record<GrantType, FieldCheck[]> = {
  // code_verifier well-formed: RFC 7636 §4.1.
  authorization_code: fieldChecks({
    code: required('parameter_invalid', MAX_CODE_LENGTH),
    redirect_uri: required('parameter_invalid', MAX_REDIRECT_URI_LENGTH),
    // One check: missing or empty fails the format too, and is told apart by its message.
    code_verifier: {
      in: ['body'],
      matches: {
        options: VERIFIER_FORMAT,
        errorMessage: (value: unknown) =>
          value === undefined || value === '' ? 'parameter_invalid' : 'code_verifier_malformed',
      },
    },
  }),
  // RFC 6749 §6: refresh_token, and an optional scope (RFC 6749 §3.3 syntax).
  refresh_token: fieldChecks({
    refresh_token: required('parameter_invalid', MAX_REFRESH_TOKEN_LENGTH),
    scope: SCOPE,
  }),
  // RFC 6749 §4.4.2: an optional scope, nothing else (the client authenticates).
  client_credentials: fieldChecks({ scope: SCOPE }),
};

/** RFC 7009 §2.1, in the same order: client_id, then the token; the hint is optional. */
const REVOCATION_CHECKS = fieldChecks({
  client_id: CLIENT_ID,
  token: { in: ['body'], notEmpty: { errorMessage: 'parameter_invalid' } },
  token_type_hint: optional(MAX_TOKEN_TYPE_HINT_LENGTH),
});

/** The parameters of a well-formed authorization-code token request. */
export interface AuthorizationCodeParams {
  client_id: string;
  grant_type: 'authorization_code';
  code: string;
  redirect_uri: string;
  code_verifier: string;
}

/** The parameters of a well-formed refresh token request. */
export interface RefreshTokenParams {
  client_id: string;
  grant_type: 'refresh_token';
  refresh_token: string;
  /** Absent or empty: the scope originally granted. */
  scope?: string;
}

/** The parameters of a well-formed client credentials token request (RFC 6749 §4.4.2). */
export interface ClientCredentialsParams {
  client_id: string;
  grant_type: 'client_credentials';
  /** Absent or empty: every scope the client is registered for. */
  scope?: string;
}

/** The parameters of a well-formed token request, told apart by `grant_type`. */
export type TokenRequestParams = AuthorizationCodeParams | RefreshTokenParams | ClientCredentialsParams;

/** The parameters of a well-formed revocation request. */
export interface RevocationParams {
  client_id: string;
  token: string;
  token_type_hint?: string;
}

/** What a refused request had established before its first failing check. */
export interface ValidatedSoFar {
  clientId?: string;
  grantType?: GrantType;
}

/**
 * docs/contract.md "Order of checks", steps 2 to 4: the reason the first failing check gives (with what
 * passed before it), or the well-formed request.
 */
export async function validateTokenRequest(
  params: FormParams,
): Promise<{ failure: RejectReason; known: ValidatedSoFar } | { request: TokenRequestParams }> {
  const common = await firstFailure(params, COMMON_CHECKS);
  if (common !== undefined) {
    // client_id is the first field checked: any other failure means it passed.
    // biome-ignore lint/style/noNonNullAssertion: client_id passed its checks (present, non-empty) before this failure
    return { failure: common, known: common === 'client_id_invalid' ? {} : { clientId: params.client_id! } };
  }
  const grantType = params.grant_type as GrantType;
  const failure = await firstFailure(params, GRANT_CHECKS[grantType]);
  // biome-ignore lint/style/noNonNullAssertion: client_id passed its checks (present, non-empty) before this failure
  if (failure !== undefined) return { failure, known: { clientId: params.client_id!, grantType } };
  return { request: params as unknown as TokenRequestParams };
}

/** The reason the first failing check of a revocation request gives, or the well-formed request. */
export async function validateRevocationRequest(
  params: FormParams,
): Promise<{ failure: RejectReason; known: ValidatedSoFar } | { request: RevocationParams }> {
  const failure = await firstFailure(params, REVOCATION_CHECKS);
  if (failure === undefined) return { request: params as unknown as RevocationParams };
  // client_id is the first field checked: any other failure means it passed.
  // biome-ignore lint/style/noNonNullAssertion: client_id passed its checks (present, non-empty) before this failure
  return { failure, known: failure === 'client_id_invalid' ? {} : { clientId: params.client_id! } };
}

/** RFC 7662 §2.1, checked as a revocation request is: client_id, then the token; the hint is optional. */
export const validateIntrospectionRequest = validateRevocationRequest;

async function firstFailure(params: FormParams, checks: readonly FieldCheck[]): Promise<RejectReason | undefined> {
  // express-validator reads `req.body`; a plain object stands in so the host's request is untouched.
  const request = { body: params };
  for (const { field, chain, accepted } of checks) {
    const value = params[field];
    if (value !== undefined && accepted?.has(value)) continue;
    const [first] = (await chain.run(request, { dryRun: true })).array();
    if (first !== undefined) return first.msg as RejectReason;
    if (value !== undefined) accepted?.add(value);
  }
  return undefined;
}
