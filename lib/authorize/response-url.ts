import { resolveIssuer } from '../config/configuration.js';
import { invalidOption } from '../config/option-checks.js';
import type {
  AuthorizationErrorCode,
  AuthorizationErrorOptions,
  AuthorizationResponseOptions,
  AuthorizationResponseTarget,
} from './authorization-request.js';

/** RFC 6749 §4.1.2.1: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). */
export const ERROR_DESCRIPTION_FORMAT = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

const ERROR_CODES: ReadonlySet<string> = new Set<AuthorizationErrorCode>([
  'invalid_request',
  'unsupported_response_type',
  'invalid_scope',
  'request_not_supported',
  'request_uri_not_supported',
  'unauthorized_client',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'registration_not_supported',
]);

/**
 * The redirect back to the client once the user has signed in and consented (RFC 6749 §4.1.2):
 * the request's redirect URI with `code`, `state` (when the request had one) and `iss` (RFC 9207).
 */
export function authorizationResponseUrl(
  request: AuthorizationResponseTarget,
  code: string,
  options: AuthorizationResponseOptions,
): string {
  const owner = 'authorizationResponseUrl';
  const { redirectUri, state } = target(request, owner);
  if (typeof code !== 'string' || code === '') {
    throw invalidOption('code', 'the code issueAuthorizationCode returned', code, owner);
  }
  const issuer = issuerOf(options, owner);
  return redirectUrl(redirectUri, [['code', code], ...stateParameter(state), ['iss', issuer]]);
}

/**
 * The redirect back to the client with an error, for a request that was valid (RFC 6749
 * §4.1.2.1, OIDC Core §3.1.2.6): `access_denied` when the user declines, `login_required` for
 * `prompt=none` without a session, and so on.
 */
export function authorizationErrorUrl(
  request: AuthorizationResponseTarget,
  error: AuthorizationErrorCode,
  options: AuthorizationErrorOptions,
): string {
  const owner = 'authorizationErrorUrl';
  const { redirectUri, state } = target(request, owner);
  if (!ERROR_CODES.has(error)) {
    throw invalidOption('error', 'an error of RFC 6749 §4.1.2.1 or OIDC Core §3.1.2.6', error, owner);
  }
  const issuer = issuerOf(options, owner);
  const description = options.description;
  if (description !== undefined && (typeof description !== 'string' || !ERROR_DESCRIPTION_FORMAT.test(description))) {
    throw invalidOption('description', 'printable ASCII without " or \\ (RFC 6749 §4.1.2.1)', description, owner);
  }
  return errorRedirectUrl(redirectUri, error, description, state, issuer);
}

/** The error redirect, once the redirect URI is known good: `error`, `error_description`, `state`, `iss`. */
export function errorRedirectUrl(
  redirectUri: string,
  error: string,
  description: string | undefined,
  state: string | undefined,
  issuer: string,
): string {
  return redirectUrl(redirectUri, [
    ['error', error],
    ...(description === undefined ? [] : [['error_description', description] as const]),
    ...stateParameter(state),
    ['iss', issuer],
  ]);
}

type Parameter = readonly [string, string];

function stateParameter(state: string | undefined): Parameter[] {
  return state === undefined ? [] : [['state', state]];
}

/**
 * RFC 6749 §3.1.2: the redirect URI's own query is kept. When it holds none of the names added,
 * its bytes are kept as they are and the parameters appended; a name it already has (a registered
 * `?state=…`) is replaced, so the client reads one value.
 */
function redirectUrl(redirectUri: string, parameters: readonly Parameter[]): string {
  const url = new URL(redirectUri);
  const existing = new URLSearchParams(url.search);
  if (parameters.some(([name]) => existing.has(name))) {
    for (const [name, value] of parameters) url.searchParams.set(name, value);
    return url.href;
  }
  const added = new URLSearchParams(parameters.map(([name, value]): [string, string] => [name, value])).toString();
  url.search = url.search === '' ? added : `${url.search.slice(1)}&${added}`;
  return url.href;
}

function target(request: AuthorizationResponseTarget, owner: string): AuthorizationResponseTarget {
  if (typeof request !== 'object' || request === null) {
    throw invalidOption('request', 'the request of a valid checkAuthorizationRequest outcome', request, owner);
  }
  const { redirectUri, state } = request;
  if (typeof redirectUri !== 'string' || !URL.canParse(redirectUri)) {
    throw invalidOption('request.redirectUri', 'an absolute URI', redirectUri, owner);
  }
  if (state !== undefined && (typeof state !== 'string' || state === '')) {
    throw invalidOption('request.state', 'a non-empty string, or left out', state, owner);
  }
  return state === undefined ? { redirectUri } : { redirectUri, state };
}

function issuerOf(options: AuthorizationResponseOptions, owner: string): string {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object with the issuer', options, owner);
  }
  return resolveIssuer(options.issuer);
}
