import { redirectUriDanger } from '../clients/client-list.js';
import { findRegisteredClient } from '../clients/registry.js';
import type { Client } from '../contracts.js';
import { VERIFIER_FORMAT } from '../grants/pkce.js';
import { CLIENT_ID_PARAMETER, MAX_REDIRECT_URI_LENGTH, MAX_SCOPE_LENGTH, SCOPE_FORMAT } from '../request/limits.js';
import { RequestError } from '../response/request-error.js';
import {
  LOGIN_HINT_FORMAT,
  MAX_ACR_VALUES_LENGTH,
  MAX_AGE_FORMAT,
  MAX_LOGIN_HINT_LENGTH,
  MAX_NONCE_LENGTH,
  MAX_PROMPT_LENGTH,
  MAX_STATE_LENGTH,
  MAX_UI_LOCALES_LENGTH,
  S256_CHALLENGE_FORMAT,
  UI_LOCALES_FORMAT,
  VSCHAR_STRING,
} from './authorization-limits.js';
import type {
  AuthorizationParams,
  AuthorizationRedirectError,
  AuthorizationRequest,
  AuthorizationRequestError,
  AuthorizationRequestOptions,
  AuthorizationRequestOutcome,
  AuthorizationShowError,
  PromptValue,
  RequestedGrant,
} from './authorization-request.js';
import { type ParameterReader, parameterReader } from './query-parameters.js';
import { type AuthorizationConfig, resolveAuthorizationOptions } from './request-options.js';
import { errorRedirectUrl } from './response-url.js';

/**
 * Check the host's authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), in
 * the order of docs/authorize.md "Order of checks". Until the client and its exact redirect URI
 * are known good the answer is an error to show, never a redirect (RFC 6749 §4.1.2.1: no open
 * redirector); after that, errors go back to the client as a ready redirect URL.
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

/** The parameters read after the redirect URI; each sent twice is refused (RFC 6749 §3.1). */
const LATER_PARAMETERS = [
  'response_type',
  'response_mode',
  'scope',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'prompt',
  'max_age',
  'login_hint',
  'acr_values',
  'ui_locales',
  'request',
  'request_uri',
] as const;

const PROMPT_VALUES: ReadonlySet<string> = new Set<PromptValue>(['none', 'login', 'consent', 'select_account']);

async function checkRequest(read: ParameterReader, config: AuthorizationConfig): Promise<AuthorizationRequestOutcome> {
  // Steps 1 and 2: the client and its redirect URI. Every error here is shown, never redirected.
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

  // Step 3: from here on errors go back to the client, with the state when it is well-formed.
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
  const value = (name: (typeof LATER_PARAMETERS)[number]): string | undefined => {
    const parameter = read(name);
    return parameter.kind === 'value' ? parameter.value : undefined;
  };

  // Step 4: what this host does not support (OIDC Core §6, §3.1.2.6).
  if (value('request') !== undefined) {
    return fail('request_not_supported', 'Request objects (the request parameter) are not supported.');
  }
  if (value('request_uri') !== undefined) {
    return fail('request_uri_not_supported', 'The request_uri parameter is not supported.');
  }

  // Step 5: RFC 6749 §4.1.1, the response type; the answer goes in the query (RFC 6749 §4.1.2).
  const responseType = value('response_type');
  if (responseType === undefined) return fail('invalid_request', 'The request has no response_type.');
  if (responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
  const responseMode = value('response_mode');
  if (responseMode !== undefined && responseMode !== 'query') {
    return fail('invalid_request', 'Only response_mode=query is supported.');
  }

  // Step 6: RFC 7636 §4.3 and §4.4.1, the PKCE challenge and its method.
  const codeChallenge = value('code_challenge');
  if (codeChallenge === undefined) {
    return fail('invalid_request', 'The request has no code_challenge: PKCE is required (RFC 7636).');
  }
  const method = value('code_challenge_method') ?? 'plain'; // RFC 7636 §4.3: absent means plain
  if (method !== 'S256' && method !== 'plain') {
    return fail('invalid_request', 'The code_challenge_method is not supported: use S256.');
  }
  if (method === 'plain' && client.allowPlainPkce !== true) {
    return fail(
      'invalid_request',
      'The code_challenge_method must be S256 (a request without one asks for plain, which this application may not use).',
    );
  }
  if (method === 'S256' ? !S256_CHALLENGE_FORMAT.test(codeChallenge) : !VERIFIER_FORMAT.test(codeChallenge)) {
    return fail(
      'invalid_request',
      method === 'S256'
        ? 'The code_challenge is malformed: an S256 challenge is 43 base64url characters.'
        : 'The code_challenge is malformed: 43 to 128 characters of A-Z a-z 0-9 - . _ ~.',
    );
  }

  // Step 7: RFC 6749 §3.3, the scope: requested, or the host's default.
  const scope = grantedScope(value('scope'), config);
  if (typeof scope === 'string') return fail('invalid_scope', scope);

  // Step 8: OIDC Core §3.1.2.1, what the host's sign-in reads.
  const nonce = value('nonce');
  if (nonce !== undefined && (nonce.length > MAX_NONCE_LENGTH || !VSCHAR_STRING.test(nonce))) {
    return fail(
      'invalid_request',
      `The nonce is malformed: it must be 1 to ${MAX_NONCE_LENGTH} printable ASCII characters.`,
    );
  }
  const prompt = promptValues(value('prompt'));
  if (typeof prompt === 'string') return fail('invalid_request', prompt);
  const maxAge = value('max_age');
  if (maxAge !== undefined && !MAX_AGE_FORMAT.test(maxAge)) {
    return fail('invalid_request', 'The max_age is malformed: it must be a whole number of seconds.');
  }
  const loginHint = value('login_hint');
  if (loginHint !== undefined && (loginHint.length > MAX_LOGIN_HINT_LENGTH || !LOGIN_HINT_FORMAT.test(loginHint))) {
    return fail('invalid_request', `The login_hint is malformed: at most ${MAX_LOGIN_HINT_LENGTH} characters of text.`);
  }
  const acrValues = value('acr_values');
  if (acrValues !== undefined && (acrValues.length > MAX_ACR_VALUES_LENGTH || !SCOPE_FORMAT.test(acrValues))) {
    return fail('invalid_request', 'The acr_values are malformed: values separated by single spaces.');
  }
  const uiLocales = value('ui_locales');
  if (uiLocales !== undefined && (uiLocales.length > MAX_UI_LOCALES_LENGTH || !UI_LOCALES_FORMAT.test(uiLocales))) {
    return fail('invalid_request', 'The ui_locales are malformed: language tags separated by single spaces.');
  }

  const request: AuthorizationRequest = {
    client,
    clientId,
    redirectUri,
    responseType: 'code',
    scope,
    codeChallenge,
    codeChallengeMethod: method,
    prompt,
  };
  if (state !== undefined) request.state = state;
  if (nonce !== undefined) request.nonce = nonce;
  if (maxAge !== undefined) request.maxAge = Number(maxAge);
  if (loginHint !== undefined) request.loginHint = loginHint;
  if (acrValues !== undefined) request.acrValues = acrValues.split(' ');
  if (uiLocales !== undefined) request.uiLocales = uiLocales.split(' ');
  const grant: RequestedGrant = {
    clientId,
    redirectUri,
    codeChallenge,
    codeChallengeMethod: method,
    scope: [...scope],
  };
  if (nonce !== undefined) grant.nonce = nonce;
  return { kind: 'valid', request, grant };
}

/** RFC 6749 §3.3: the scopes to grant, or why the request's scope is refused (`invalid_scope`). */
function grantedScope(requested: string | undefined, config: AuthorizationConfig): string[] | string {
  const offered = `Offered: ${[...config.scopes].join(' ')}.`;
  let scope: string[];
  if (requested === undefined) {
    if (config.defaultScope === undefined) return `The request has no scope, and this host has no default. ${offered}`;
    scope = [...config.defaultScope];
  } else {
    if (requested.length > MAX_SCOPE_LENGTH || !SCOPE_FORMAT.test(requested)) {
      return 'The scope is malformed: scope tokens separated by single spaces.';
    }
    const tokens = [...new Set(requested.split(' '))];
    scope = tokens.filter((token) => config.scopes.has(token));
    if (scope.length < tokens.length && !config.ignoreUnknownScopes) {
      return `The request asks for a scope this host does not offer. ${offered}`;
    }
    if (scope.length === 0) return `None of the requested scopes is offered. ${offered}`;
  }
  if (config.requireOpenid && !scope.includes('openid')) {
    return 'The scope must include openid: this host serves OpenID Connect requests only.';
  }
  return scope;
}

/** OIDC Core §3.1.2.1: the prompt values, each once; `none` with any other is an error. */
function promptValues(prompt: string | undefined): PromptValue[] | string {
  if (prompt === undefined) return [];
  if (prompt.length > MAX_PROMPT_LENGTH || !SCOPE_FORMAT.test(prompt)) {
    return 'The prompt is malformed: values separated by single spaces.';
  }
  const values = [...new Set(prompt.split(' '))];
  if (!values.every((entry) => PROMPT_VALUES.has(entry))) {
    return 'The prompt holds a value that is not supported: none, login, consent or select_account.';
  }
  if (values.includes('none') && values.length > 1) {
    return 'The prompt value none cannot be combined with another value.';
  }
  return values as PromptValue[];
}

function show(
  status: AuthorizationShowError['status'],
  error: AuthorizationShowError['error'],
  description: string,
  parameter?: AuthorizationShowError['parameter'],
): AuthorizationShowError {
  return { kind: 'show-error', status, error, description, ...(parameter === undefined ? {} : { parameter }) };
}
