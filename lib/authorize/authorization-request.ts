import type { Client, ClientRegistry } from '../contracts.js';
import type { AuthorizationCodeRequest } from './issue-code.js';

/*
 * The public types of the authorization step's checks (docs/authorize.md): what
 * checkAuthorizationRequest takes and what it answers.
 */

/**
 * A parsed query as Express gives it in `req.query`: strings, and arrays or objects for repeated
 * or bracketed parameters (Express 5's "simple" parser gives arrays, Express 4's "extended" one
 * objects too). Any object of own properties fits, such as `Object.fromEntries(…)`.
 */
export interface AuthorizationQuery {
  readonly [name: string]: unknown;
}

/** The authorization request's parameters: a `URLSearchParams`, or Express's `req.query`. */
export type AuthorizationParams = URLSearchParams | AuthorizationQuery;

/** Options of {@link checkAuthorizationRequest}, checked on every call (ConfigurationError). */
export interface AuthorizationRequestOptions {
  /** The router's `issuer`: the `iss` of every answer sent back to the client (RFC 9207). */
  issuer: string;
  /** The registered clients, as given to `createTokenRouter`: an array or a `ClientRegistry`. */
  clients: readonly Client[] | ClientRegistry;
  /** The scopes this host can grant, such as `['openid', 'profile', 'email']`. */
  scopes: readonly string[];
  /**
   * The scopes granted when the request has no `scope` (RFC 6749 §3.3), a subset of `scopes`.
   * Default: none, and a request without `scope` is refused with `invalid_scope`.
   */
  defaultScope?: readonly string[];
  /** Refuse (`invalid_scope`) a request whose scope lacks `openid`: OpenID Connect only. Default false. */
  requireOpenid?: boolean;
  /**
   * Drop requested scopes this host does not offer, as OIDC Core §3.1.2.1 suggests, instead of
   * refusing the request with `invalid_scope` (RFC 6749 §4.1.2.1). A request left with no scope is
   * still refused. Default false.
   */
  ignoreUnknownScopes?: boolean;
}

/** OIDC Core §3.1.2.1: the `prompt` values. */
export type PromptValue = 'none' | 'login' | 'consent' | 'select_account';

/**
 * The registered client as the host's sign-in sees it: its record without what authenticates it
 * (`clientSecretHash`, `jwks`, `jwksUri`), since a host may well log the request or keep it in
 * its session.
 */
export type AuthorizationRequestClient = Omit<Client, 'clientSecretHash' | 'jwks' | 'jwksUri'>;

/** A checked authorization request: what the host's sign-in and consent work from. */
export interface AuthorizationRequest {
  /** The registered client the request is from, without its credentials. */
  client: AuthorizationRequestClient;
  clientId: string;
  /** The request's `redirect_uri`, one the client registered, character for character. */
  redirectUri: string;
  responseType: 'code';
  /** The scopes to ask the user for: requested and offered, each once, in the request's order. */
  scope: string[];
  /** The PKCE challenge (RFC 7636 §4.3). */
  codeChallenge: string;
  /** `'S256'`; `'plain'` only for a client registered with `allowPlainPkce`. */
  codeChallengeMethod: 'S256' | 'plain';
  /** The client's `state`, sent back with the answer. */
  state?: string;
  /** OIDC `nonce`, for the ID token. */
  nonce?: string;
  /** OIDC `prompt`, each value once; empty when the request has none. `none` comes alone. */
  prompt: PromptValue[];
  /** OIDC `max_age`: seconds since the user last signed in beyond which they sign in again. */
  maxAge?: number;
  /** OIDC `login_hint`: who the client thinks is signing in (an email, a username). */
  loginHint?: string;
  /** OIDC `acr_values`, in order of preference. */
  acrValues?: string[];
  /** OIDC `ui_locales`: BCP 47 language tags, in order of preference. */
  uiLocales?: string[];
  /** RFC 9449 §10 `dpop_jkt`: the thumbprint of the DPoP key the code is bound to (in `grant`). */
  dpopJkt?: string;
}

/** The grant the request asks for: add `subject` (and `authTime`…) and pass it to `issueAuthorizationCode`. */
export type RequestedGrant = Pick<
  AuthorizationCodeRequest,
  'clientId' | 'redirectUri' | 'codeChallenge' | 'codeChallengeMethod' | 'scope' | 'nonce' | 'dpopJkt'
>;

/** The errors {@link checkAuthorizationRequest} sends back to a client (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6). */
export type AuthorizationRequestError =
  | 'invalid_request'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'request_not_supported'
  | 'request_uri_not_supported';

/**
 * Every error an authorization response may carry (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6): what
 * the host may send with `authorizationErrorUrl` once the request is valid, such as
 * `access_denied` when the user declines, or `login_required` for `prompt=none`.
 */
export type AuthorizationErrorCode =
  | AuthorizationRequestError
  | 'unauthorized_client'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'interaction_required'
  | 'login_required'
  | 'account_selection_required'
  | 'consent_required'
  | 'invalid_request_uri'
  | 'invalid_request_object'
  | 'registration_not_supported';

/**
 * The client or its redirect URI is not known good (RFC 6749 §4.1.2.1): show the user an error
 * page with this status; never redirect.
 */
export interface AuthorizationShowError {
  kind: 'show-error';
  /** 400, or 503 when the client registry failed. */
  status: 400 | 503;
  error: 'invalid_request' | 'invalid_client' | 'temporarily_unavailable';
  /** Fixed text for the user; it never echoes the request. */
  description: string;
  /** The parameter at fault; none when the client registry failed (503). */
  parameter?: 'client_id' | 'redirect_uri';
  /** With 503: what the client registry threw or rejected with, for the host's logs (never to show). */
  cause?: unknown;
}

/** The request is refused, and the client is told: redirect the browser to `redirectUrl`. */
export interface AuthorizationRedirectError {
  kind: 'redirect-error';
  /** The registered redirect URI with `error`, `error_description`, `state` (when well-formed) and `iss`. */
  redirectUrl: string;
  error: AuthorizationRequestError;
  description: string;
}

/** The request is good: sign the user in, ask for consent, then issue the code. */
export interface ValidAuthorizationRequest {
  kind: 'valid';
  request: AuthorizationRequest;
  grant: RequestedGrant;
}

/** What {@link checkAuthorizationRequest} answers, told apart by `kind`. */
export type AuthorizationRequestOutcome =
  | AuthorizationShowError
  | AuthorizationRedirectError
  | ValidAuthorizationRequest;

/** What the answer back to the client needs of the request: where to send it, and the `state`. */
export type AuthorizationResponseTarget = Pick<AuthorizationRequest, 'redirectUri' | 'state'>;

/** Options of `authorizationResponseUrl`. */
export interface AuthorizationResponseOptions {
  /** The router's `issuer`, sent as `iss` (RFC 9207). */
  issuer: string;
}

/** Options of `authorizationErrorUrl`. */
export interface AuthorizationErrorOptions extends AuthorizationResponseOptions {
  /** Text for the client's developer: printable ASCII without `"` or `\` (RFC 6749 §4.1.2.1). */
  description?: string;
}
