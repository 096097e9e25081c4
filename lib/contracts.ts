import type { KeyObject, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';

/** Epoch seconds, as in JWT `iat`/`exp`. */
export type EpochSeconds = number;

/** A clock: epoch milliseconds, like `Date.now`. */
export type Clock = () => number;

/** Claims a host adds to a token. They can never override the claims the router sets. */
export type ExtraClaims = Readonly<Record<string, unknown>>;

/** What the host's authorization step decided, stored under the code's hash. */
export interface AuthorizationCodeGrant {
  /** The client the code is issued to. */
  clientId: string;
  /** The redirect URI of the authorization request; the token request must repeat it exactly. */
  redirectUri: string;
  /** The PKCE challenge of the authorization request (RFC 7636 §4.2). */
  codeChallenge: string;
  /** `'S256'`; `'plain'` only for a client registered with `allowPlainPkce`. */
  codeChallengeMethod: 'S256' | 'plain';
  /** The signed-in user: the tokens' `sub`. */
  subject: string;
  /** The granted scopes. */
  scope: string[];
  /** The authorization request's `nonce`, echoed into the ID token. */
  nonce?: string;
  /** When the user authenticated (epoch seconds): the ID token's `auth_time`. */
  authTime?: EpochSeconds;
  /** The Authentication Context Class Reference that was satisfied: the ID token's `acr`. */
  acr?: string;
  /** The authentication methods used (RFC 8176 values, such as `pwd`, `otp`): the ID token's `amr`. */
  amr?: string[];
  /** Extra claims for the ID token. */
  idTokenClaims?: ExtraClaims;
  /** Extra claims for the access token. */
  accessTokenClaims?: ExtraClaims;
  /**
   * The `dpop_jkt` of the authorization request (RFC 9449 §10): the code is redeemed only with a
   * DPoP proof of the key with this RFC 7638 thumbprint.
   */
  dpopJkt?: string;
  /** When the code expires (epoch seconds); stamped by `issueAuthorizationCode`. */
  expiresAt: EpochSeconds;
}

/** The result of {@link AuthorizationCodeStore.redeem}. */
export type RedeemResult =
  | { outcome: 'redeemed'; grant: AuthorizationCodeGrant }
  | { outcome: 'replayed'; grant: AuthorizationCodeGrant }
  | { outcome: 'unknown' };

/**
 * Where authorization codes live between the authorization step and the token request.
 * Keys are hashes of the codes: a store never sees a code itself.
 */
export interface AuthorizationCodeStore {
  /**
   * Keep `grant` under `key` (the code's hash) until `expiresAt` (epoch seconds).
   * Rejects when the grant could not be stored.
   */
  save(key: string, grant: AuthorizationCodeGrant, expiresAt: EpochSeconds): Promise<void>;
  /**
   * Atomically mark the code used. Of concurrent callers, exactly one sees `'redeemed'`;
   * later callers see `'replayed'` until the code's expiry, then `'unknown'`.
   * `'unknown'`: never issued, or expired. Rejects only when the store is unreachable.
   */
  redeem(key: string): Promise<RedeemResult>;
  /**
   * Optional. The grant under `key` and whether it was redeemed, without changing anything;
   * `undefined` when never issued or expired. Read-only.
   *
   * With an external signer (docs/external-signers.md), the token endpoint reads the code with it
   * and has the tokens signed before it redeems the code, so a signer that fails or times out
   * costs the user nothing. Without it, the code is redeemed first, and a signer failure then
   * costs the code.
   */
  find?(key: string): Promise<{ grant: AuthorizationCodeGrant; redeemed: boolean } | undefined>;
  /**
   * Optional. How this store redeems a code and starts its refresh-token family in
   * `refreshTokenStore` as one atomic step, or `undefined` when it cannot with that store (another
   * backend, another server). The router asks once, at `createTokenRouter`.
   *
   * With an exchange, a 503 never costs the user the code: the redeem and the save of the first
   * refresh token succeed or fail together. Without one, the router redeems, then saves, and a
   * save that fails leaves the code spent (docs/contract.md "When a store fails").
   */
  atomicExchange?(refreshTokenStore: RefreshTokenStore): AtomicCodeExchange | undefined;
}

/** The first refresh token of the family a code exchange starts. */
export interface FirstRefreshToken {
  /** The token's key (its hash), as `RefreshTokenStore.save` would get it. */
  key: string;
  /** The family's id: `record.familyId` of every token of the family. */
  familyId: string;
  /** When the family ends (epoch seconds): `record.familyExpiresAt`. */
  familyExpiresAt: EpochSeconds;
  /** When this token stops working unless rotated (epoch seconds): `record.expiresAt`, and the `save` expiry. */
  expiresAt: EpochSeconds;
  /**
   * The DPoP key the family is bound to (RFC 9449 §5): `record.dpopJkt`, set from this field
   * only, never from the grant (whose `dpopJkt` binds the code, not the family). Absent: the
   * family is not bound, and the record has no `dpopJkt`.
   */
  dpopJkt?: string;
}

/**
 * Redeem the code under `codeKey` and, only when this call redeems it (`'redeemed'`) and the
 * family is not revoked, save `first` into the paired refresh-token store, in one atomic step:
 * either both take effect or neither does. The saved record is
 * {@link firstRefreshTokenRecord}`(grant, first)`. On `'replayed'` or `'unknown'` nothing is saved.
 * Rejects only when the store is unreachable, and then nothing took effect.
 */
export type AtomicCodeExchange = (codeKey: string, first: FirstRefreshToken) => Promise<RedeemResult>;

/** What a refresh token stands for, stored under the token's hash. */
export interface RefreshTokenRecord {
  /** The client the token was issued to. */
  clientId: string;
  /** The user: the tokens' `sub`. */
  subject: string;
  /** The scopes the token may ask for. */
  scope: string[];
  /** Every token descended from one authorization code shares this id. */
  familyId: string;
  /** When the whole family ends, however often it rotates (epoch seconds). */
  familyExpiresAt: EpochSeconds;
  /**
   * When this token stops working unless rotated before (epoch seconds): its idle lifetime,
   * capped by `familyExpiresAt`. Stamped by the router, which also checks it by its own clock.
   */
  expiresAt?: EpochSeconds;
  /** The original authentication time, carried into refreshed ID tokens. */
  authTime?: EpochSeconds;
  /** The original `acr`, carried into refreshed ID tokens. */
  acr?: string;
  /** The original `amr`, carried into refreshed ID tokens. */
  amr?: string[];
  /** Extra claims for refreshed ID tokens. */
  idTokenClaims?: ExtraClaims;
  /** Extra claims for refreshed access tokens. */
  accessTokenClaims?: ExtraClaims;
  /**
   * The RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §5): the token is
   * refused with a proof of any other key. Carried to every successor and reissued sibling, so a
   * rotation, or the grace window's reissue, never drops the binding.
   */
  dpopJkt?: string;
}

/** The result of {@link RefreshTokenStore.rotate}. */
export type RotateResult =
  | { outcome: 'rotated'; record: RefreshTokenRecord }
  | { outcome: 'reused'; record: RefreshTokenRecord }
  | { outcome: 'unknown' };

/**
 * The rotation grace window of {@link RefreshTokenStore.rotateWithinGrace}: the router's
 * `refreshTokenReuseInterval` (docs/refresh.md "The grace window").
 */
export interface GraceWindow {
  /** Now, by the router's clock (epoch milliseconds): a rotation records it as the window's start. */
  now: number;
  /** The window's length in seconds, 1 to 60: a token spent this long ago or more is reused. */
  interval: number;
  /** How many siblings one spent token may be reissued within its window, at most. */
  maxReissues: number;
}

/**
 * The result of {@link RefreshTokenStore.rotateWithinGrace}: a rotation's, or `'reissued'`, a
 * spent token presented again within its window, whose new sibling was saved. `record` is the
 * presented token's record; `reissues` how many siblings it has had, this one included.
 */
export type GraceRotateResult = RotateResult | { outcome: 'reissued'; record: RefreshTokenRecord; reissues: number };

/** Where refresh tokens live. Keys are hashes of the tokens. */
export interface RefreshTokenStore {
  /**
   * Keep `record` under `key` (the token's hash) until `expiresAt` (epoch seconds).
   * A record saved into a revoked family is never rotated.
   */
  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void>;
  /**
   * Atomically spend a token for rotation. Of concurrent callers, exactly one sees `'rotated'`;
   * a token spent before gives `'reused'` (the caller then revokes its family).
   * `'unknown'`: never issued, expired, or its family revoked.
   *
   * `familyHint`, when given, is the family id the presented token names (refresh tokens begin
   * with their family's id, docs/contract.md "Refreshing tokens"): a store that keeps a family's tokens
   * together (one Redis Cluster hash slot, say) may look there without an index. It comes from
   * the client, so it is only a hint: a token stored under `key` in another family is `'unknown'`
   * when looked for under the hint. Stores that look tokens up by `key` alone ignore it. The
   * router passes it for every token that names a family, so a store may need it to find the
   * tokens its atomic steps stored (`RedisRefreshTokenStore` keeps no index for those).
   */
  rotate(key: string, familyHint?: string): Promise<RotateResult>;
  /**
   * Optional. Rotate the token under `key` and, only when this call rotates it (`'rotated'`),
   * save its successor in the same atomic step: either both take effect or neither does. The
   * successor's record is the rotated record with `expiresAt` set to the earlier of
   * `successor.expiresAt` and the record's `familyExpiresAt`; it is kept until that moment. On
   * `'reused'` or `'unknown'` nothing is saved. Without this method, the router rotates and then
   * saves, and a save that fails costs the user the family (docs/contract.md "When a store fails").
   *
   * `familyHint` is the family the presented token names (see {@link RefreshTokenStore.rotate}).
   */
  rotateAndSave?(
    key: string,
    successor: { key: string; expiresAt: EpochSeconds },
    familyHint?: string,
  ): Promise<RotateResult>;
  /**
   * Optional; the router needs it when `refreshTokenReuseInterval` is above 0. In one atomic step,
   * as {@link RefreshTokenStore.rotateAndSave} does, with a grace window for a token presented
   * again soon after its rotation (two tabs refreshing at once, a retry after a lost answer):
   *
   * - a token not yet spent is `'rotated'` exactly as by `rotateAndSave`, the successor saved in
   *   the same step, and the store records `grace.now` as the start of its window;
   * - a token spent by this method less than `grace.interval` seconds before `grace.now`, and
   *   reissued fewer than `grace.maxReissues` times, is `'reissued'`: `successor` is saved in the
   *   same step as a new sibling (the same record, its `expiresAt` the earlier of
   *   `successor.expiresAt` and the family's end), and the token's reissue count goes up by one;
   * - a token spent at or after its window's end (`grace.interval` seconds after the start is
   *   already outside), past the count, or spent by `rotate` or `rotateAndSave` (no window) is
   *   `'reused'`, and nothing is saved: the router revokes the family as for any reuse.
   *
   * `'unknown'` as for `rotate`. The sibling is a new token, never the successor again: a store
   * keeps only hashes, so the successor's token cannot be handed out twice, and a new one keeps
   * that true. The records this method returns, like every other method's, carry none of the
   * store's own bookkeeping (the window's start, the count). Rejects only when the store is
   * unreachable, and then nothing took effect.
   *
   * `familyHint` is the family the presented token names (see {@link RefreshTokenStore.rotate}).
   */
  rotateWithinGrace?(
    key: string,
    successor: { key: string; expiresAt: EpochSeconds },
    grace: GraceWindow,
    familyHint?: string,
  ): Promise<GraceRotateResult>;
  /** Revoke every token of a family (all tokens descended from one authorization code). */
  revokeFamily(familyId: string): Promise<void>;
  /**
   * Optional. The record under `key`, spent or not, without changing anything; `undefined` when
   * never issued, expired, or its family revoked.
   *
   * The revocation endpoint uses it to check that a token belongs to the client asking before it
   * revokes the family (RFC 7009 §2.1). A store without it makes the endpoint spend the token with
   * `rotate` to learn its client, so a revocation request from another client, though refused,
   * still costs the token.
   */
  find?(key: string, familyHint?: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Optional. Like {@link RefreshTokenStore.find}, and whether the token was spent (rotated, so
   * only its successor works): read-only. The introspection endpoint (RFC 7662) uses it to answer
   * a token `active` only when it can still be used; without it, every refresh token is answered
   * `{"active": false}` (docs/machine-clients.md "Introspection").
   */
  inspect?(key: string, familyHint?: string): Promise<{ record: RefreshTokenRecord; spent: boolean } | undefined>;
  /**
   * Optional. Whether `revokeFamily(familyId)` was called and its revocation is still kept (until
   * no token of the family can be live, and at least a day). Read-only. `requireAccessToken`'s
   * `checkRevocation` calls it once a request, so that revoking a refresh token also revokes the
   * access tokens issued with its family (docs/protecting-an-api.md "Revocation").
   */
  isFamilyRevoked?(familyId: string): Promise<boolean>;
}

/**
 * Remembers keys for a while, to refuse what must be used once: the `jti` of a client's
 * `private_key_jwt` assertion (RFC 7523 §3, item 7), later DPoP proofs. The shipped code stores
 * implement it (docs/stores.md "Seen once").
 */
export interface ReplayStore {
  /**
   * Remember `key` until `expiresAt` (epoch seconds). Resolves `true` when the key was not
   * remembered already (its first use), `false` when it was. Of concurrent callers with one key,
   * exactly one sees `true`. Rejects only when the store is unreachable.
   */
  markSeen(key: string, expiresAt: EpochSeconds): Promise<boolean>;
}

/** A key that signs tokens. */
export interface SigningKey {
  /** The JWS `kid` header; the JWKS publishes the public key under the same id. */
  kid: string;
  /** The JWS algorithm: `RS256`, `PS256`, `ES256` or `EdDSA`. */
  alg: string;
  /** The private key. */
  key: webcrypto.CryptoKey | KeyObject;
}

/** Where signing keys come from. */
export interface KeyStore {
  /** The key to sign new tokens with. Rejects when no key can be had. */
  signingKey(): Promise<SigningKey>;
  /** Public JWKs of every key whose tokens may still be live. Never a private member. */
  publicJwks(): Promise<{ keys: JWK[] }>;
}

/**
 * A key that signs tokens without ever entering the process: a KMS, an HSM, another process
 * (docs/external-signers.md). The router builds each token's JWS signing input and asks `sign`
 * for its signature; it then checks the signature against `publicJwk` before the token leaves.
 */
export interface ExternalSigningKey {
  /** The JWS `kid` header; the JWKS publishes `publicJwk` under the same id. */
  kid: string;
  /** The JWS algorithm: `RS256`, `PS256`, `ES256` or `EdDSA`. */
  alg: string;
  /** The public key, as a JWK: no private member. The router verifies every signature with it. */
  publicJwk: JWK;
  /**
   * The JWS signature over `signingInput` (the ASCII bytes of `BASE64URL(header) "."
   * BASE64URL(payload)`, RFC 7515 §5.1), as RFC 7518 §3 defines it for `alg`: for ES256, the
   * 64 bytes R || S, not DER (see {@link derToJoseSignature}). Rejects when it cannot sign.
   */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
  /**
   * How long the router waits for one `sign`, in milliseconds (default 2000, at most 30000);
   * after that the request is answered 503 and nothing is spent.
   */
  timeoutMs?: number;
}

/** Where external signing keys come from: the {@link KeyStore} of keys that stay outside the process. */
export interface ExternalKeyStore {
  /** The key to sign new tokens with. Rejects when no key can be had. */
  signingKey(): Promise<ExternalSigningKey>;
  /** Public JWKs of every key whose tokens may still be live. Never a private member. */
  publicJwks(): Promise<{ keys: JWK[] }>;
}

/** What the router signs with: a key in hand, or one that stays outside. */
export type AnySigningKey = SigningKey | ExternalSigningKey;

/** What the router's `keyStore` option takes: a {@link KeyStore} or an {@link ExternalKeyStore}, or one that hands out both kinds. */
export interface AnyKeyStore {
  /** The key to sign new tokens with. Rejects when no key can be had. */
  signingKey(): Promise<AnySigningKey>;
  /** Public JWKs of every key whose tokens may still be live. Never a private member. */
  publicJwks(): Promise<{ keys: JWK[] }>;
}

/**
 * A grant type a client may use at the token endpoint (`Client.grantTypes`): the code grant
 * (RFC 6749 §4.1), the refresh grant (§6), and the client credentials grant (§4.4).
 */
export type ClientGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

/** A registered application. */
export interface Client {
  /** The `client_id`. */
  clientId: string;
  /** Redirect URIs the client may use; compared character for character. */
  redirectUris: string[];
  /** Extra browser origins allowed to call the token endpoint (CORS). */
  allowedOrigins?: string[];
  /**
   * Where the logout endpoint may send the user back after signing out (OpenID Connect
   * RP-Initiated Logout 1.0 §3: `post_logout_redirect_uri`); compared character for character.
   * In a `clients` array they are checked as `redirectUris` are.
   */
  postLogoutRedirectUris?: string[];
  /** Allow the `plain` PKCE method for this client (RFC 7636 §4.2 discourages it). */
  allowPlainPkce?: boolean;
  /**
   * For development only: allow `http:` redirect URIs to hosts other than loopback
   * (`127.0.0.0/8`, `[::1]`, `localhost`), such as `http://dev-box.internal/cb`. Without it the
   * router refuses them when the client list is given (RFC 6749 §3.1.2.1: a code sent over plain
   * http can be read on the way). Read only for the `clients` array given to
   * `createTokenRouter`; a `ClientRegistry`'s records are compared, never redirected to.
   */
  allowInsecureRedirectUris?: boolean;
  /**
   * How the client authenticates at the token, revocation and introspection endpoints
   * (RFC 7591 §2 names; docs/clients.md). Default `'none'`: a public client, which PKCE alone
   * binds to its codes, and which is refused if it sends credentials.
   */
  tokenEndpointAuthMethod?: ClientAuthMethod;
  /**
   * For `client_secret_basic` and `client_secret_post`: what `hashClientSecret(secret)` made of
   * the client's secret. Never the secret itself.
   */
  clientSecretHash?: string;
  /** For `private_key_jwt`: the client's public keys (RFC 7517 JWK Set). Exactly one of `jwks` and `jwksUri`. */
  jwks?: { keys: JWK[] };
  /**
   * For `private_key_jwt`: where the client publishes its public keys; https (http only to a
   * loopback host). Fetched with a bounded timeout and cached.
   */
  jwksUri?: string;
  /**
   * The grant types the client may use at the token endpoint; any other is refused with
   * `unauthorized_client` (RFC 6749 §5.2). Default `['authorization_code', 'refresh_token']`.
   * `client_credentials` (RFC 6749 §4.4) only for a confidential client, one that authenticates
   * (docs/machine-clients.md).
   */
  grantTypes?: ClientGrantType[];
  /**
   * The scopes a `client_credentials` token may carry: a request asking for another is refused
   * with `invalid_scope`; one that names none gets all of them (RFC 6749 §3.3). Read only by that
   * grant: the scopes of a user's sign-in are the host's authorization step's to decide.
   */
  scopes?: string[];
  /**
   * Every token request of this client must carry a valid DPoP proof (RFC 9449 §5.2,
   * `dpop_bound_access_tokens`): one without is refused with `invalid_dpop_proof`, so the client
   * never gets a bearer token. Default `false`: a proof is optional, and a request without one
   * gets Bearer tokens. Needs the router's `dpop` option (docs/dpop.md).
   */
  dpopBoundAccessTokens?: boolean;
}

/** How a client authenticates (RFC 7591 §2, `token_endpoint_auth_method`). */
export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** Looks clients up, for hosts that keep them in their own database. */
export interface ClientRegistry {
  /** The client with this id, or `undefined` when there is none. */
  findClient(clientId: string): Promise<Client | undefined>;
  /**
   * Whether a browser origin may call the token endpoint (CORS), beyond the router's
   * `allowedOrigins` option. Optional: without it, only that option's origins are allowed.
   */
  isAllowedOrigin?(origin: string): Promise<boolean>;
}
