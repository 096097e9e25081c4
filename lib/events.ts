import type { Clock } from './contracts.js';
import type { GrantType } from './request/validation.js';
import type { RejectReason } from './response/request-error.js';

/*
 * Audit events. They say who, what and why: client ids, subjects, scopes, the `jti` of issued
 * tokens and the id of a refresh-token family. Never a code, verifier, token or key: an event
 * may be logged anywhere, and nothing in it can be redeemed or replayed.
 */

/** What every event carries. */
interface EventBase {
  /** When it happened: epoch milliseconds, by the router's `now`. */
  time: number;
}

/** Tokens were issued, by any grant. */
export interface TokenIssuedEvent extends EventBase {
  type: 'token_issued';
  grantType: GrantType;
  clientId: string;
  /** The user; for `client_credentials`, the client itself (its client_id). */
  subject: string;
  /** The scopes the access token carries. */
  scope: string[];
  /** The access token's `jti`. */
  accessTokenJti: string;
  /** The ID token's `jti`, when one was issued. */
  idTokenJti?: string;
  /** The refresh-token family the new refresh token belongs to; absent for `client_credentials` (no refresh token). */
  familyId?: string;
}

/** An authorization code was exchanged: redeemed, and its client, redirect URI and verifier matched. */
export interface CodeRedeemedEvent extends EventBase {
  type: 'code_redeemed';
  clientId: string;
  subject: string;
  /** The refresh-token family born from this code. */
  familyId: string;
}

/** A code was presented again after it was redeemed; the family issued from it is revoked. */
export interface CodeReplayedEvent extends EventBase {
  type: 'code_replayed';
  /** The client the code was issued to (the request may have named another). */
  clientId: string;
  subject: string;
  familyId: string;
}

/** A refresh token was spent and replaced. */
export interface RefreshRotatedEvent extends EventBase {
  type: 'refresh_rotated';
  clientId: string;
  subject: string;
  familyId: string;
  /**
   * `true` when the token had been spent already, within `refreshTokenReuseInterval`, and was
   * replaced by a new sibling rather than treated as reuse (docs/refresh.md "The grace window").
   * Absent for a rotation.
   */
  graceReissue?: true;
}

/** A spent refresh token was presented again (RFC 9700 §4.14.2); its family is revoked. */
export interface RefreshReuseDetectedEvent extends EventBase {
  type: 'refresh_reuse_detected';
  /** The client the token was issued to (the request may have named another). */
  clientId: string;
  subject: string;
  familyId: string;
}

/** The revocation endpoint revoked a refresh token, and with it its family (RFC 7009). */
export interface TokenRevokedEvent extends EventBase {
  type: 'token_revoked';
  clientId: string;
  subject: string;
  familyId: string;
}

/**
 * The logout endpoint checked a request and the host's `endSession` ended the session
 * (RP-Initiated Logout 1.0). Raised once `endSession` returned without throwing.
 */
export interface SessionEndedEvent extends EventBase {
  type: 'session_ended';
  clientId: string;
  /** The `sub` of the verified `id_token_hint`, when one was sent. */
  subject?: string;
  /** Whether the user is sent back to a registered `post_logout_redirect_uri`. */
  redirected: boolean;
}

/** A confidential client (a resource server) introspected a token (RFC 7662). */
export interface TokenIntrospectedEvent extends EventBase {
  type: 'token_introspected';
  /** The client that asked, not the token's. */
  clientId: string;
  /** What it was told. */
  active: boolean;
}

/** A request to the token or revocation endpoint was refused. Exactly one per refused request. */
export interface RequestRejectedEvent extends EventBase {
  type: 'request_rejected';
  endpoint: 'token' | 'revocation' | 'introspection';
  /** Why, in more detail than the OAuth `error` the client saw. */
  reason: RejectReason;
  /** The HTTP status answered. */
  status: number;
  /** The OAuth `error` answered. */
  error: string;
  /** The request's `client_id`, once it was found well-formed. */
  clientId?: string;
  /** The request's `grant_type`, once it was found supported. */
  grantType?: GrantType;
  /** The user, once the code or refresh token was found. */
  subject?: string;
  /** The refresh-token family concerned, once the refresh token was found. */
  familyId?: string;
}

/** Every event `onEvent` receives, told apart by `type`. */
export type TokenRouterEvent =
  | TokenIssuedEvent
  | CodeRedeemedEvent
  | CodeReplayedEvent
  | RefreshRotatedEvent
  | RefreshReuseDetectedEvent
  | TokenRevokedEvent
  | SessionEndedEvent
  | TokenIntrospectedEvent
  | RequestRejectedEvent;

/** The `onEvent` option. Whatever it throws or rejects with is swallowed: it never breaks a request. */
export type TokenRouterEventListener = (event: TokenRouterEvent) => void | Promise<void>;

/** An event as the router raises it; the emitter stamps the time. */
export type UnstampedEvent = TokenRouterEvent extends infer E
  ? E extends TokenRouterEvent
    ? Omit<E, 'time'>
    : never
  : never;

/** Raise an event. Never throws. */
export type EmitEvent = (event: UnstampedEvent) => void;

/** What a request has established so far, for the `request_rejected` event should it fail. */
export interface RequestTrail {
  clientId?: string;
  grantType?: GrantType;
  subject?: string;
  familyId?: string;
}

/** An emitter for `listener` (or one that does nothing), stamping each event by `now`. */
export function eventEmitter(listener: TokenRouterEventListener | undefined, now: Clock): EmitEvent {
  if (listener === undefined) return () => {};
  let warned = false;
  const onListenerError = (): void => {
    // The listener's own error may quote anything; say only that it failed, and only once.
    if (warned) return;
    warned = true;
    process.emitWarning('the onEvent listener threw or rejected; the request went on unaffected', {
      code: 'PKCE_TOKEN_ROUTER_EVENT_LISTENER',
    });
  };
  return (event) => {
    try {
      const result = listener({ ...event, time: now() } as TokenRouterEvent);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, onListenerError);
      }
    } catch {
      onListenerError();
    }
  };
}
