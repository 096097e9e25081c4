import type { RouterConfig } from '../config/configuration.js';
import type { AnySigningKey, EpochSeconds } from '../contracts.js';
import { hashSecret, newRefreshToken } from '../crypto/secrets.js';
import type { GrantType } from '../request/validation.js';
import { guard } from '../response/request-error.js';
import { type SignedTokens, signTokens, type TokenSubject } from './claims.js';

/** RFC 6749 §5.1: the success body. */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  scope: string;
  id_token?: string;
  /** `DPoP` for an access token bound to a proof's key (RFC 9449 §5), else `Bearer`. */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
}

/**
 * RFC 6749 §4.4.3: the success body of the client credentials grant: an access token only ("A
 * refresh token SHOULD NOT be included"), and no ID token (no user signed in).
 */
export type ClientCredentialsTokenResponse = Omit<TokenResponse, 'refresh_token' | 'id_token'>;

/** A refresh token about to be issued: the token, its key, and the times of its record. */
export interface NewRefreshToken {
  /** The token the client gets; never stored, only its hash (`key`). */
  token: string;
  key: string;
  familyId: string;
  /** When the family ends (epoch seconds). */
  familyExpiresAt: EpochSeconds;
  /** When this token stops working unless rotated: its idle lifetime, never past the family's end. */
  expiresAt: EpochSeconds;
  /** The DPoP key the token is bound to (RFC 9449 §5), named in the token itself (secrets.ts). */
  dpopJkt?: string;
}

/**
 * A fresh refresh token of `familyId`, issued at `nowMs`. A new family (no `familyExpiresAt`)
 * lives `refreshTokenMaxAge`; a rotated one keeps its end. `dpopJkt`: the DPoP key it is bound to.
 */
export function newRefreshTokenOf(
  config: RouterConfig,
  familyId: string,
  nowMs: number,
  familyExpiresAt?: EpochSeconds,
  dpopJkt?: string,
): NewRefreshToken {
  const iat = Math.floor(nowMs / 1000);
  const familyEnd = familyExpiresAt ?? iat + config.refreshTokenMaxAge;
  const token = newRefreshToken(familyId, dpopJkt);
  return {
    token,
    key: hashSecret(token),
    familyId,
    familyExpiresAt: familyEnd,
    expiresAt: Math.min(iat + config.refreshTokenTtl, familyEnd),
    ...(dpopJkt === undefined ? {} : { dpopJkt }),
  };
}

/** What a grant decided to issue. */
export interface Issuance {
  grantType: GrantType;
  /** Who the access and ID tokens are for, with the scopes the access token carries. */
  tokens: TokenSubject;
  /** The new refresh token. */
  refresh: NewRefreshToken;
  /**
   * Stores the refresh token, when the grant's store call did not already (a store without an
   * atomic step): run beside the signing, and the answer waits for both.
   */
  store?: () => Promise<void>;
  /** The key of the request's DPoP proof: the access token is bound to it (`cnf.jkt`, RFC 9449 §6). */
  dpopJkt?: string | undefined;
  /**
   * The tokens, when they were signed before the spend (an external signer: docs/external-signers.md,
   * "Nothing spent"), for these very `tokens`, `refresh.familyId`, `dpopJkt` and issue time.
   */
  signed?: SignedTokens;
}

/**
 * Sign the access token (bound to `dpopJkt` when given) and, for `openid`, the ID token of a
 * grant, issued at `nowMs`. A signer that fails or times out is `key_unavailable` (503); what was
 * spent by then is the caller's to say, which is why an external signer is asked before the
 * spend ({@link Issuance.signed}).
 */
export function signGrantTokens(
  config: RouterConfig,
  key: AnySigningKey,
  tokens: TokenSubject,
  refreshFamily: string,
  nowMs: number,
  dpopJkt: string | undefined,
): Promise<SignedTokens> {
  return guard(
    signTokens(tokens, {
      issuer: config.issuer,
      key,
      iat: Math.floor(nowMs / 1000),
      accessTokenTtl: config.accessTokenTtl,
      idTokenTtl: config.idTokenTtl,
      accessTokenFormat: config.accessTokenFormat,
      accessTokenAudience: config.accessTokenAudience,
      idTokenAtHash: config.idTokenAtHash,
      refreshFamily,
      idToken: true,
      dpopJkt,
    }),
    'key_unavailable',
  );
}

/**
 * The common end of every grant: sign the tokens (issued at `nowMs`), raise `token_issued` and
 * build the answer. The refresh token is stored by then: by the grant's atomic store call, or
 * by `issuance.store`.
 */
export async function issueTokens(
  config: RouterConfig,
  key: AnySigningKey,
  issuance: Issuance,
  nowMs: number,
): Promise<TokenResponse> {
  const signing =
    issuance.signed ??
    signGrantTokens(config, key, issuance.tokens, issuance.refresh.familyId, nowMs, issuance.dpopJkt);
  const { store } = issuance;
  const [tokens] = await Promise.all([
    signing,
    store === undefined ? undefined : guard(Promise.resolve().then(store), 'store_unavailable'),
  ]);
  config.emit({
    type: 'token_issued',
    grantType: issuance.grantType,
    clientId: issuance.tokens.clientId,
    subject: issuance.tokens.subject,
    scope: [...issuance.tokens.scope],
    accessTokenJti: tokens.accessTokenJti,
    ...(tokens.idTokenJti === undefined ? {} : { idTokenJti: tokens.idTokenJti }),
    familyId: issuance.refresh.familyId,
  });
  return {
    access_token: tokens.accessToken,
    refresh_token: issuance.refresh.token,
    scope: issuance.tokens.scope.join(' '),
    ...(tokens.idToken === undefined ? {} : { id_token: tokens.idToken }),
    token_type: tokenType(issuance.dpopJkt),
    // Whole seconds left at issuance: 299 for a 300 s token issued mid-second, as the Tencent
    // Cloud CIAM token API answers.
    expires_in: Math.floor((tokens.accessTokenExpiresAt * 1000 - nowMs) / 1000),
  };
}

/**
 * The end of the client credentials grant (RFC 6749 §4.4.3): an access token for the client
 * itself, no refresh token and no ID token; `token_issued` with the client as its subject.
 */
export async function issueClientAccessToken(
  config: RouterConfig,
  key: AnySigningKey,
  client: { clientId: string; scope: readonly string[] },
  nowMs: number,
  dpopJkt?: string,
): Promise<ClientCredentialsTokenResponse> {
  const tokens = await guard(
    signTokens(
      // RFC 9068 §2.2: "In cases of access tokens obtained through grants where no resource owner is
      // involved, such as the client credentials grant, the value of sub SHOULD correspond to an
      // identifier the authorization server uses to indicate the client application."
      { clientId: client.clientId, subject: client.clientId, scope: client.scope },
      {
        issuer: config.issuer,
        key,
        iat: Math.floor(nowMs / 1000),
        accessTokenTtl: config.accessTokenTtl,
        idTokenTtl: config.idTokenTtl,
        accessTokenFormat: config.accessTokenFormat,
        accessTokenAudience: config.accessTokenAudience,
        idTokenAtHash: false,
        refreshFamily: undefined,
        idToken: false,
        dpopJkt,
      },
    ),
    'key_unavailable',
  );
  config.emit({
    type: 'token_issued',
    grantType: 'client_credentials',
    clientId: client.clientId,
    subject: client.clientId,
    scope: [...client.scope],
    accessTokenJti: tokens.accessTokenJti,
  });
  return {
    access_token: tokens.accessToken,
    scope: client.scope.join(' '),
    token_type: tokenType(dpopJkt),
    expires_in: Math.floor((tokens.accessTokenExpiresAt * 1000 - nowMs) / 1000),
  };
}

/** RFC 9449 §5: "token_type": "DPoP" for an access token bound to a key, else RFC 6750's Bearer. */
function tokenType(dpopJkt: string | undefined): 'Bearer' | 'DPoP' {
  return dpopJkt === undefined ? 'Bearer' : 'DPoP';
}
