import { redirectUriDanger } from '../clients/client-list.js';
import { findRegisteredClient } from '../clients/registry.js';
import type { Client } from '../contracts.js';
import { CLIENT_ID_PARAMETER, MAX_REDIRECT_URI_LENGTH } from '../request/limits.js';
import { RequestError } from '../response/request-error.js';
import { MAX_STATE_LENGTH, VSCHAR_STRING } from './authorization-limits.js';
import type {
  AuthorizationParams,
  AuthorizationRedirectError,
  AuthorizationRequest,
  AuthorizationRequestClient,
  AuthorizationRequestError,
  AuthorizationRequestOptions,
  AuthorizationRequestOutcome,
  AuthorizationShowError,
  RequestedGrant,
} from './authorization-request.js';
import { type ParameterReader, parameterReader } from './query-parameters.js';
import { type AuthorizationConfig, resolveAuthorizationOptions } from './request-options.js';
import {
  dpopJktParameter,
  grantedScope,
  LATER_PARAMETERS,
  pkceChallenge,
  signInParameters,
  type ValueReader,
} from './request-parameters.js';
import { errorRedirectUrl } from './response-url.js';

/**
 * Check the host's authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), in
 * the order of docs/authorize.md "Order of checks, and every error". Until the client and its
 * exact redirect URI are known good the answer is an error to show, never a redirect (RFC 6749
 * §4.1.2.1: no open redirector); after that, errors go back to the client as a ready redirect URL.
 *
 * Bad options throw a ConfigurationError at once, before anything is looked up.
 */
export function checkAuthorizationRequest(
  params: AuthorizationParams,
  options: AuthorizationRequestOptions,
): Promise<AuthorizationRequestOutcome> {
  const config = resolveAuthorizationOptions(options);
  const read = parameterReader(params);
  return checkRequest(read, config);
}

async function checkRequest(read: ParameterReader, config: AuthorizationConfig): Promise<AuthorizationRequestOutcome> {
  // docs/authorize.md "Order of checks, and every error", steps 1 to 3: the client and its
  // redirect URI. Every error here is shown, never redirected.
  const clientIdParameter = read('client_id');
  if (clientIdParameter.kind === 'absent')
    return show(400, 'invalid_request', 'The request has no client_id.', 'client_id');
  if (clientIdParameter.kind === 'repeated') {
    return show(400, 'invalid_request', 'The request has more than one client_id.', 'client_id');
  }
  const clientId = clientIdParameter.value;
  if (!CLIENT_ID_PARAMETER.test(clientId))
    return show(400, 'invalid_request', 'The client_id is malformed.', 'client_id');
  let client: Client;
  try {
    client = (await findRegisteredClient(config.clients, clientId)) as Client;
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    if (error.reason === 'client_unknown') {
      return show(400, 'invalid_client', 'This application (client_id) is not registered here.', 'client_id');
    }
    // The registry failed or gave a record that cannot be used: nobody to redirect to.
    return {
      ...show(503, 'temporarily_unavailable', 'The application could not be looked up. Try again later.'),
      cause: error.cause ?? error,
    };
  }

  const redirectUriParameter = read('redirect_uri');
  if (redirectUriParameter.kind === 'absent')
    return show(400, 'invalid_request', 'The request has no redirect_uri.', 'redirect_uri');
  if (redirectUriParameter.kind === 'repeated') {
    return show(400, 'invalid_request', 'The request has more than one redirect_uri.', 'redirect_uri');
  }
  const redirectUri = redirectUriParameter.value;
  // RFC 6749 §3.1.2.3 and RFC 9700 §2.1: compared character for character with a registered URI.
  if (redirectUri.length > MAX_REDIRECT_URI_LENGTH || !client.redirectUris.includes(redirectUri)) {
    return show(400, 'invalid_request', 'This redirect_uri is not registered for this application.', 'redirect_uri');
  }
  // A registry's records are not checked when the router starts (a clients array is): a URI
  // that would run script or cannot be parsed is never redirected to, registered or not.
  if (!URL.canParse(redirectUri) || redirectUriDanger(redirectUri, true) !== undefined) {
    return show(
      400,
      'invalid_request',
      "This application's registered redirect_uri cannot be redirected to.",
      'redirect_uri',
    );
  }

  // Steps 4 and 5: from here on errors go back to the client, with the state when it is well-formed.
  const stateParameter = read('state');
  const state =
    stateParameter.kind === 'value' &&
    stateParameter.value.length <= MAX_STATE_LENGTH &&
    VSCHAR_STRING.test(stateParameter.value)
      ? stateParameter.value
      : undefined;
  const fail = (error: AuthorizationRequestError, description: string): AuthorizationRedirectError => ({
    kind: 'redirect-error',
    redirectUrl: errorRedirectUrl(redirectUri, error, description, state, config.issuer),
    error,
    description,
  });
  if (stateParameter.kind === 'repeated') return fail('invalid_request', 'The state parameter is repeated.');
  if (stateParameter.kind === 'value' && state === undefined) {
    return fail(
      'invalid_request',
      `The state parameter is malformed: it must be 1 to ${MAX_STATE_LENGTH} printable ASCII characters.`,
    );
  }
  for (const name of LATER_PARAMETERS) {
    if (read(name).kind === 'repeated') return fail('invalid_request', `The ${name} parameter is repeated.`);
  }
  const value: ValueReader = (name) => {
    const parameter = read(name);
    return parameter.kind === 'value' ? parameter.value : undefined;
  };

  // Step 6: what this host does not support (OIDC Core §6, §3.1.2.6).
  if (value('request') !== undefined) {
    return fail('request_not_supported', 'Request objects (the request parameter) are not supported.');
  }
  if (value('request_uri') !== undefined) {
    return fail('request_uri_not_supported', 'The request_uri parameter is not supported.');
  }

  // Step 7: RFC 6749 §4.1.1, the response type; the answer goes in the query (RFC 6749 §4.1.2).
  const responseType = value('response_type');
  if (responseType === undefined) return fail('invalid_request', 'The request has no response_type.');
  if (responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
  // RFC 6749 §4.1.2.1: a client not registered for the code grant (`Client.grantTypes`, a
  // machine client's `['client_credentials']`) may not ask for a code.
  if (client.grantTypes !== undefined && !client.grantTypes.includes('authorization_code')) {
    return fail('unauthorized_client', 'This client is not registered for the authorization_code grant.');
  }
  const responseMode = value('response_mode');
  if (responseMode !== undefined && responseMode !== 'query') {
    return fail('invalid_request', 'Only response_mode=query is supported.');
  }

  // Step 8: RFC 7636 §4.3 and §4.4.1, the PKCE challenge and its method.
  const pkce = pkceChallenge(value, client);
  if (typeof pkce === 'string') return fail('invalid_request', pkce);
  // Step 9: RFC 6749 §3.3, the scope: requested, or the host's default.
  const scope = grantedScope(value('scope'), config);
  if (typeof scope === 'string') return fail('invalid_scope', scope);
  // Step 10: OIDC Core §3.1.2.1, what the host's sign-in reads.
  const signIn = signInParameters(value);
  if (typeof signIn === 'string') return fail('invalid_request', signIn);
  // RFC 9449 §10: the key the code will be bound to.
  const dpop = dpopJktParameter(value);
  if (typeof dpop === 'string') return fail('invalid_request', dpop);

  const request: AuthorizationRequest = {
    client: withoutCredentials(client),
    clientId,
    redirectUri,
    responseType: 'code',
    scope,
    ...pkce,
    ...(state === undefined ? {} : { state }),
    ...signIn,
    ...dpop,
  };
  const grant: RequestedGrant = { clientId, redirectUri, ...pkce, scope: [...scope] };
  if (signIn.nonce !== undefined) grant.nonce = signIn.nonce;
  if (dpop.dpopJkt !== undefined) grant.dpopJkt = dpop.dpopJkt;
  return { kind: 'valid', request, grant };
}

function show(
  status: AuthorizationShowError['status'],
  error: AuthorizationShowError['error'],
  description: string,
  parameter?: AuthorizationShowError['parameter'],
): AuthorizationShowError {
  return { kind: 'show-error', status, error, description, ...(parameter === undefined ? {} : { parameter }) };
}

/** The client's record without what authenticates it (its secret's hash, its keys). */
function withoutCredentials(client: Client): AuthorizationRequestClient {
  const { clientSecretHash: _secret, jwks: _jwks, jwksUri: _jwksUri, ...shown } = client;
  return shown;
}
