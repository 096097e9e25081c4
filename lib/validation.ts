import { checkSchema, type ParamSchema, type Schema } from 'express-validator';
import { isWellFormedVerifier } from './pkce.js';
import { compilePrecheck } from './schema-precheck.js';
import type { FormParams } from './form-body.js';
import {
  CLIENT_ID_FORMAT,
  MAX_CLIENT_ID_LENGTH,
  MAX_CODE_LENGTH,
  MAX_GRANT_TYPE_LENGTH,
  MAX_REDIRECT_URI_LENGTH,
} from './limits.js';
import type { RejectReason } from './request-error.js';

/** The grant types the token endpoint serves. */
export const SUPPORTED_GRANT_TYPES = ['authorization_code'] as const;

/** The body parameters the token endpoint reads; all others are ignored (RFC 6749 §3.2). */
export const TOKEN_PARAMETERS: ReadonlySet<string> = new Set([
  'client_id',
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
]);

/** A required parameter: present, non-empty (empty counts as missing), at most `max` characters. */
function required(reason: RejectReason, max: number): ParamSchema {
  return {
    in: ['body'],
    exists: { options: { values: 'falsy' }, errorMessage: reason, bail: true },
    isLength: { options: { max }, errorMessage: reason, bail: true },
  };
}

/**
 * One step's schema, built once: its express-validator chains, and a quick yes for requests that
 * certainly pass them (see schema-precheck.ts), which then skip the chains.
 */
function step(schema: Schema) {
  return { chains: checkSchema(schema), passes: compilePrecheck(schema) };
}

/**
 * SPEC "Order of checks", steps 2 to 4, as schemas built once. Each runs after the previous one
 * passed; within a step, fields are checked in the order listed.
 */
const STEPS = [
  // 2. client_id and grant_type present, non-empty, within limits.
  step({
    client_id: {
      ...required('client_id_invalid', MAX_CLIENT_ID_LENGTH),
      matches: { options: CLIENT_ID_FORMAT, errorMessage: 'client_id_invalid' },
    },
    grant_type: required('parameter_invalid', MAX_GRANT_TYPE_LENGTH),
  }),
  // 3. grant_type supported.
  step({
    grant_type: { in: ['body'], isIn: { options: [SUPPORTED_GRANT_TYPES], errorMessage: 'grant_type_unsupported' } },
  }),
  // 4. The grant's own parameters, and code_verifier well-formed (RFC 7636 §4.1).
  step({
    code: required('parameter_invalid', MAX_CODE_LENGTH),
    redirect_uri: required('parameter_invalid', MAX_REDIRECT_URI_LENGTH),
    code_verifier: {
      in: ['body'],
      exists: { options: { values: 'falsy' }, errorMessage: 'parameter_invalid', bail: true },
      custom: { options: isWellFormedVerifier, errorMessage: 'code_verifier_malformed' },
    },
  }),
];

/** The parameters of a well-formed authorization-code token request. */
export interface AuthorizationCodeParams {
  client_id: string;
  grant_type: 'authorization_code';
  code: string;
  redirect_uri: string;
  code_verifier: string;
}

/** The reason the first failing check gives, or `undefined` when the request is well-formed. */
export async function firstValidationFailure(params: FormParams): Promise<RejectReason | undefined> {
  // express-validator reads `req.body`; a plain object stands in so the host's request is untouched.
  const request = { body: params };
  for (const { chains, passes } of STEPS) {
    if (passes(params)) continue;
    for (const chain of chains) {
      const result = await chain.run(request, { dryRun: true });
      const [first] = result.array();
      if (first !== undefined) return first.msg as RejectReason;
    }
  }
  return undefined;
}
