import type { Request, Response } from 'express';
import type {
  AnyKeyStore,
  AuthorizationCodeStore,
  Client,
  ClientRegistry,
  Clock,
  RefreshTokenStore,
  ReplayStore,
} from '../contracts.js';
import type { TokenRouterEventListener } from '../events.js';
import type { ErrorProfile } from '../response/error-profiles.js';
import type { AccessTokenFormat } from '../tokens/claims.js';
import type { DpopOptions } from './dpop-options.js';

/*
 * What a host passes to createTokenRouter: the public type, and its names for the unknown-option
 * check. What the router runs on, checked and with every default, is `RouterConfig`
 * (./configuration.ts).
 */

/** What the logout endpoint tells the host's `endSession` about the request it checked. */
export interface EndSessionContext {
  /** The client the logout is for: `client_id`, or the `aud` of a verified `id_token_hint`. */
  clientId: string;
  /** The `sub` of a verified `id_token_hint`, when one was sent. */
  subject?: string;
  /**
   * Where the router sends the user once `endSession` returns without answering: the registered
   * `post_logout_redirect_uri` the request named, with its `state`. Absent when it named none.
   */
  redirectTo?: string;
}

/**
 * The host's end of a logout (OpenID Connect RP-Initiated Logout 1.0): end the user's session
 * (clear its cookie). It runs only for a request the router checked. It may answer itself (a
 * confirmation page, its own redirect); if it does not, the router redirects to `redirectTo`,
 * or answers 204. What it throws or rejects with goes to the host's error handlers (`next(err)`).
 */
export type EndSession = (req: Request, res: Response, context: EndSessionContext) => void | Promise<void>;

/**
 * Claims about a user, as the host's `userInfo` gives them: OpenID Connect Core §5.1's standard
 * claims (`name`, `email`, `phone_number`, `address`…) and any of the host's own.
 */
export type UserInfoClaims = Readonly<Record<string, unknown>>;

/**
 * The host's user lookup for the UserInfo endpoint (OpenID Connect Core §5.3): the claims of
 * `subject` (the access token's `sub`), given the token's scopes. The router keeps the standard
 * claims of scopes not granted out (§5.4) and sets `sub` itself. `undefined` when the user is no
 * more: the token is refused. What it throws is answered 503, as a failing store is.
 */
export type UserInfoCallback = (
  subject: string,
  scope: readonly string[],
) => UserInfoClaims | undefined | Promise<UserInfoClaims | undefined>;

/** The options of {@link createTokenRouter}. Every one is checked when the router is created. */
export interface TokenRouterOptions {
  /** The `iss` of every token: an absolute https URL (http only for localhost). */
  issuer: string;
  /** Where authorization codes are kept; see `MemoryCodeStore`. */
  codeStore: AuthorizationCodeStore;
  /** Where the signing keys come from; see `MemoryKeyStore`, or an `ExternalKeyStore` (docs/external-signers.md). */
  keyStore: AnyKeyStore;
  /** Where refresh tokens are kept. Default: a `MemoryRefreshTokenStore`. */
  refreshTokenStore?: RefreshTokenStore;
  /**
   * The registered clients, or a registry to look them up. Without it, any well-formed
   * client_id is accepted and only matched against the code.
   */
  clients?: readonly Client[] | ClientRegistry;
  /**
   * Where the `jti`s of `private_key_jwt` assertions are remembered, so each is used once
   * (RFC 7523 §3). Default: the code store, when it implements `markSeen` (every shipped one
   * does). Required when a client uses private_key_jwt and the code store cannot remember.
   */
  replayStore?: ReplayStore;
  /** Extra browser origins allowed to call the token endpoint (CORS). */
  allowedOrigins?: readonly string[];
  /** Path of the token endpoint, relative to where the router is mounted. Default `/oauth2/token`. */
  tokenPath?: string;
  /** Path of the JWKS endpoint, or `false` for none. Default `/oauth2/jwks`. */
  jwksPath?: string | false;
  /** Path of the revocation endpoint (RFC 7009), or `false` for none. Default `/oauth2/revoke`. */
  revocationPath?: string | false;
  /**
   * Path of the introspection endpoint (RFC 7662), or `false` for none. Default
   * `/oauth2/introspect`. For confidential clients (resource servers): docs/machine-clients.md.
   */
  introspectionPath?: string | false;
  /** Path of the discovery document, or `false` for none. Default `/.well-known/openid-configuration`. */
  discoveryPath?: string | false;
  /**
   * Path of the RFC 8414 authorization server metadata (the same document as discovery), or
   * `false` for none. Default `/.well-known/oauth-authorization-server`. For an issuer with a
   * path, RFC 8414 §3.1 puts it before the issuer's path (docs/discovery.md "RFC 8414 metadata").
   */
  authorizationServerMetadataPath?: string | false;
  /**
   * The path of the host's own authorization endpoint (`/authorize`), for discovery's
   * `authorization_endpoint` (the issuer followed by the path). Default: none.
   */
  authorizationPath?: string;
  /**
   * Metadata the host adds to the discovery document: `authorization_endpoint`,
   * `userinfo_endpoint`, `scopes_supported`… It cannot set what the router owns (`issuer`, its
   * endpoints, grant types, PKCE methods, auth methods, signing algorithms).
   */
  discoveryMetadata?: Readonly<Record<string, unknown>>;
  /**
   * Mounts the logout endpoint (OpenID Connect RP-Initiated Logout 1.0) at `logoutPath`, listed
   * in discovery as `end_session_endpoint`. See docs/userinfo-and-logout.md.
   */
  endSession?: EndSession;
  /** Path of the logout endpoint, with `endSession`. Default `/logout`. */
  logoutPath?: string;
  /**
   * Mounts the UserInfo endpoint (OpenID Connect Core §5.3) at `userinfoPath`, listed in
   * discovery as `userinfo_endpoint`. See docs/userinfo-and-logout.md.
   */
  userInfo?: UserInfoCallback;
  /** Path of the UserInfo endpoint, with `userInfo`. Default `/userinfo`. */
  userinfoPath?: string;
  /** How long caches may keep the JWKS and the discovery document, in seconds. Default 300. */
  jwksMaxAge?: number;
  /** Access-token lifetime in seconds. Default 300. */
  accessTokenTtl?: number;
  /** ID-token lifetime in seconds. Default 1800. */
  idTokenTtl?: number;
  /** Refresh-token idle lifetime in seconds. Default 2592000 (30 days). */
  refreshTokenTtl?: number;
  /** Absolute lifetime of a refresh-token family in seconds. Default 7776000 (90 days). */
  refreshTokenMaxAge?: number;
  /**
   * The rotation grace window, in seconds, 0 to 60. Default 0: strict rotation, any second use of
   * a refresh token is reuse and revokes its family. Above 0, a token presented again within that
   * long of its rotation (two tabs refreshing at once, a retry after a lost answer) gets a new
   * sibling in its family instead, at most twice; later, or more often, it is reuse as before.
   * Needs a refresh-token store with `rotateWithinGrace` (every shipped one has it). A thief who
   * replays a token within the window gets a sibling too: keep it short (docs/refresh.md
   * "The grace window").
   */
  refreshTokenReuseInterval?: number;
  /**
   * The access token's shape: `'ciam'` (the Tencent Cloud CIAM token API's, default: `aud` =
   * client_id, `scope` an array) or `'rfc9068'` (`typ: at+jwt`, `aud` = `accessTokenAudience`, `client_id`, `scope` a string).
   */
  accessTokenFormat?: AccessTokenFormat;
  /** The resource server(s) `rfc9068` access tokens are for: their `aud`. Required with that format. */
  accessTokenAudience?: string | readonly string[];
  /** Put `at_hash` (OIDC Core §3.1.3.6) in ID tokens. Default `false`. */
  idTokenAtHash?: boolean;
  /**
   * Receives audit events: tokens issued, codes redeemed and replayed, refresh tokens rotated and
   * reused, tokens revoked, requests rejected. Never a code, verifier, token or key. What it
   * throws is swallowed.
   */
  onEvent?: TokenRouterEventListener;
  /** Which statuses errors get: `'ciam'` (the Tencent Cloud CIAM token API's, default) or `'rfc6749'`
   * (docs/contract.md "Errors"). */
  errorProfile?: ErrorProfile;
  /** Largest accepted request body in bytes. Default 16384. */
  bodyLimit?: number;
  /**
   * DPoP (RFC 9449) at the token endpoint: a request with a valid `DPoP` proof gets access tokens
   * bound to the proof's key (`cnf.jkt`, `token_type: "DPoP"`), and a public client's refresh
   * tokens bound to it too. Needs the replay store. Default: off, and a `DPoP` header is ignored
   * (docs/dpop.md).
   */
  dpop?: DpopOptions;
  /** The clock for every time decision: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
}

/** Every option's name, for the unknown-option check and its "did you mean" hint. */
export const OPTION_NAMES = [
  'issuer',
  'codeStore',
  'keyStore',
  'refreshTokenStore',
  'clients',
  'replayStore',
  'allowedOrigins',
  'tokenPath',
  'jwksPath',
  'revocationPath',
  'introspectionPath',
  'discoveryPath',
  'discoveryMetadata',
  'authorizationServerMetadataPath',
  'authorizationPath',
  'endSession',
  'logoutPath',
  'userInfo',
  'userinfoPath',
  'jwksMaxAge',
  'accessTokenTtl',
  'idTokenTtl',
  'refreshTokenTtl',
  'refreshTokenMaxAge',
  'refreshTokenReuseInterval',
  'accessTokenFormat',
  'accessTokenAudience',
  'idTokenAtHash',
  'onEvent',
  'errorProfile',
  'bodyLimit',
  'dpop',
  'now',
] as const satisfies readonly (keyof TokenRouterOptions)[];

// Every option of the type is in the list (the `satisfies` above checks the converse).
type Unlisted = Exclude<keyof TokenRouterOptions, (typeof OPTION_NAMES)[number]>;
const everyOptionListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyOptionListed;
