import type { Client, ClientGrantType } from '../contracts.js';
import { RequestError } from '../response/request-error.js';
import { authMethodOf } from './client-auth-fields.js';

/*
 * Which grant types a client may use (`Client.grantTypes`) and the scopes of its
 * client_credentials tokens (`Client.scopes`): the checks of a `clients` array entry and of a
 * registry's record, and what the token endpoint asks at docs/contract.md "Order of checks",
 * step 5b.
 */

/** What a client without `grantTypes` may use: a user's sign-in, and its refresh. */
export const DEFAULT_GRANT_TYPES: readonly ClientGrantType[] = ['authorization_code', 'refresh_token'];

/** Every grant type a client can be registered for. */
export const CLIENT_GRANT_TYPES: readonly ClientGrantType[] = [...DEFAULT_GRANT_TYPES, 'client_credentials'];

/** RFC 6749 §3.3: scope-token = 1*NQCHAR. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The grant types `client` may use. */
export function grantTypesOf(client: Client): readonly ClientGrantType[] {
  return client.grantTypes ?? DEFAULT_GRANT_TYPES;
}

/**
 * Whether the client authenticates at the token endpoint (docs/clients.md): a secret or a key,
 * not `none`. RFC 6749 §4.4: "The client credentials grant type MUST only be used by
 * confidential clients."
 */
export function isConfidential(client: Client): boolean {
  return authMethodOf(client) !== 'none';
}

/** A field of a client that is wrong: which, and what it must be. */
export interface ClientFieldProblem {
  field: 'grantTypes' | 'scopes';
  expected: string;
  received: unknown;
}

/**
 * The problem with a client's `grantTypes` and `scopes`, or `undefined` when they are fine.
 * `confidential` says whether the client authenticates.
 */
export function clientGrantsProblem(
  grantTypes: unknown,
  scopes: unknown,
  confidential: boolean,
): ClientFieldProblem | undefined {
  if (grantTypes !== undefined) {
    const known = CLIENT_GRANT_TYPES.map((type) => `"${type}"`).join(', ');
    if (
      !Array.isArray(grantTypes) ||
      grantTypes.length === 0 ||
      !grantTypes.every((type) => (CLIENT_GRANT_TYPES as readonly unknown[]).includes(type)) ||
      new Set(grantTypes).size !== grantTypes.length
    ) {
      return {
        field: 'grantTypes',
        expected: `a non-empty array of distinct grant types among ${known}`,
        received: grantTypes,
      };
    }
    // The code grant always issues a refresh token (docs/contract.md "Success"), and refresh
    // tokens come only from codes: the two go together.
    if (grantTypes.includes('refresh_token') !== grantTypes.includes('authorization_code')) {
      return {
        field: 'grantTypes',
        expected:
          'an array with both "authorization_code" and "refresh_token" or neither (a code always comes with a refresh token)',
        received: grantTypes,
      };
    }
    if (grantTypes.includes('client_credentials') && !confidential) {
      return {
        field: 'grantTypes',
        expected:
          'without "client_credentials" for a public client: only a confidential client, one that authenticates, may use it (RFC 6749 §4.4)',
        received: grantTypes,
      };
    }
  }
  const machine = Array.isArray(grantTypes) && grantTypes.includes('client_credentials');
  if (scopes === undefined) {
    if (!machine) return undefined;
    return {
      field: 'scopes',
      expected: 'given with "client_credentials" in grantTypes: the scopes its tokens may carry',
      received: scopes,
    };
  }
  if (!machine) {
    return {
      field: 'scopes',
      expected: 'left out unless grantTypes has "client_credentials" (only that grant reads it)',
      received: scopes,
    };
  }
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    !scopes.every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope)) ||
    new Set(scopes).size !== scopes.length
  ) {
    return {
      field: 'scopes',
      expected: 'a non-empty array of distinct scope tokens (printable ASCII without spaces, RFC 6749 §3.3)',
      received: scopes,
    };
  }
  // A client's own token is about no end user: with `openid` it would reach UserInfo, where its
  // `sub` (the client_id) would be looked up as a user's (OIDC Core §5.3; RFC 9068 §5).
  if (scopes.includes('openid')) {
    return {
      field: 'scopes',
      expected: 'scopes without "openid": a client_credentials token is for the client, not for a user',
      received: scopes,
    };
  }
  return undefined;
}

/**
 * docs/contract.md "Order of checks", step 5b: the grant type is one the client may use, else
 * `unauthorized_client` (RFC 6749 §5.2: "The authenticated client is not authorized to use this
 * authorization grant type"). Without a registry any client_id may use the code and refresh
 * grants, as before; client_credentials needs a registered confidential client.
 */
export function checkGrantAllowed(client: Client | undefined, grantType: ClientGrantType): void {
  if (client === undefined) {
    if (grantType === 'client_credentials') throw new RequestError('grant_type_unauthorized');
    return;
  }
  if (!grantTypesOf(client).includes(grantType)) throw new RequestError('grant_type_unauthorized');
  // RFC 6749 §4.4: only confidential clients; a registry's record that says otherwise is not believed.
  if (grantType === 'client_credentials' && !isConfidential(client)) throw new RequestError('grant_type_unauthorized');
}
