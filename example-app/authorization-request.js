/**
 * Checks of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).
 * Until the client and its redirect URI are known good, errors are shown to the user, never
 * sent to the URI (RFC 6749 §4.1.2.1); after that, they go back to the client.
 */

/** The scopes this host grants; others in a request are ignored (OIDC Core §3.1.2.1). */
export const SUPPORTED_SCOPES = ['openid', 'profile', 'email'];

const MAX_LENGTH = { client_id: 256, redirect_uri: 2048, state: 1024, nonce: 512, scope: 1024 };
/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 6749 Appendix A.5: state = 1*VSCHAR. The same for nonce, which goes into the ID token. */
const VSCHAR = /^[\x20-\x7E]+$/;
/** RFC 6749 §3.3: scope tokens of NQCHAR, separated by single spaces. */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/**
 * One of:
 * - `{ outcome: 'show-error', title, message }`: tell the user; do not redirect.
 * - `{ outcome: 'redirect-error', redirectUri, error, description, state }`: send the error back.
 * - `{ outcome: 'valid', request }`: `request` holds client, clientId, redirectUri, codeChallenge,
 *   scope (array), and state and nonce when given.
 */
export async function checkAuthorizationRequest(params, findClient) {
  const read = (name, options) => readParameter(params, name, options);

  const clientId = read('client_id');
  if (clientId.problem !== undefined) return showError('Invalid client', `client_id ${clientId.problem}.`);
  const client = clientId.value.length <= MAX_LENGTH.client_id ? await findClient(clientId.value) : undefined;
  if (client === undefined) return showError('Unknown client', 'This application (client_id) is not registered here.');

  const redirectUri = read('redirect_uri');
  if (redirectUri.problem !== undefined)
    return showError('Invalid redirect URI', `redirect_uri ${redirectUri.problem}.`);
  if (!client.redirectUris.includes(redirectUri.value)) {
    return showError('Invalid redirect URI', 'This redirect_uri is not registered for this application.');
  }

  // From here on the redirect URI is trusted; state is echoed only when it is well-formed.
  const state = read('state', { optional: true });
  const stateOk =
    state.problem === undefined && (state.value === undefined || isVisible(state.value, MAX_LENGTH.state));
  const fail = (error, description) => ({
    outcome: 'redirect-error',
    redirectUri: redirectUri.value,
    error,
    description,
    state: stateOk ? state.value : undefined,
  });
  if (!stateOk) return fail('invalid_request', 'state is repeated or malformed');

  const responseType = read('response_type');
  if (responseType.problem !== undefined) return fail('invalid_request', `response_type ${responseType.problem}`);
  if (responseType.value !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');

  const challenge = read('code_challenge');
  if (challenge.problem !== undefined) return fail('invalid_request', `code_challenge ${challenge.problem}`);
  if (!S256_CHALLENGE.test(challenge.value)) {
    return fail('invalid_request', 'code_challenge must be 43 base64url characters (RFC 7636 §4.2)');
  }
  const method = read('code_challenge_method');
  if (method.problem !== undefined || method.value !== 'S256') {
    // RFC 7636 §4.4.1; the `plain` default of §4.3 is not offered.
    return fail('invalid_request', 'code_challenge_method must be S256');
  }

  const nonce = read('nonce', { optional: true });
  if (nonce.problem !== undefined || (nonce.value !== undefined && !isVisible(nonce.value, MAX_LENGTH.nonce))) {
    return fail('invalid_request', 'nonce is repeated or malformed');
  }

  const scopeParam = read('scope', { optional: true });
  if (scopeParam.problem !== undefined) return fail('invalid_request', `scope ${scopeParam.problem}`);
  const requested = scopeParam.value ?? 'openid';
  if (requested.length > MAX_LENGTH.scope || !SCOPE.test(requested)) return fail('invalid_scope', 'scope is malformed');
  const scope = [...new Set(requested.split(' '))].filter((token) => SUPPORTED_SCOPES.includes(token));
  if (scope.length === 0)
    return fail('invalid_scope', `none of the requested scopes is offered; try ${SUPPORTED_SCOPES.join(', ')}`);

  const request = {
    client,
    clientId: clientId.value,
    redirectUri: redirectUri.value,
    codeChallenge: challenge.value,
    scope,
  };
  if (state.value !== undefined) request.state = state.value;
  if (nonce.value !== undefined) request.nonce = nonce.value;
  return { outcome: 'valid', request };
}

/**
 * One parameter. RFC 6749 §3.1: a parameter sent without a value counts as omitted, and none
 * may be sent twice. Returns `{ value }` (undefined when omitted and optional) or `{ problem }`.
 */
function readParameter(params, name, { optional = false } = {}) {
  const values = params.getAll(name);
  if (values.length > 1) return { problem: 'is repeated' };
  const value = values[0] === '' ? undefined : values[0];
  if (value === undefined && !optional) return { problem: 'is missing' };
  return { value };
}

function isVisible(value, maxLength) {
  return value.length <= maxLength && VSCHAR.test(value);
}

function showError(title, message) {
  return { outcome: 'show-error', title, message };
}
