import type { EpochSeconds, RefreshTokenRecord, SigningKey } from './adapters/interfaces.js';
import type { RouterConfig } from './options.js';
import { guard } from './request-error.js';
import { hashSecret, randomSecret, REFRESH_TOKEN_BYTES } from './secrets.js';
import { signTokens, type TokenSubject } from './tokens.js';
import type { GrantType } from './validation.js';

/** RFC 6749 §5.1: the success body. */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  scope: string;
  id_token?: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** What the next refresh token of a family stands for. */
export type NextRefreshToken = Omit<RefreshTokenRecord, 'expiresAt' | 'familyExpiresAt'> & {
  /** The family's absolute end; absent for a new family, which then lives `refreshTokenMaxAge`. */
  familyExpiresAt?: EpochSeconds;
};

/** What a grant decided to issue. */
export interface Issuance {
  grantType: GrantType;
  /** Who the access and ID tokens are for, with the scopes the access token carries. */
  tokens: TokenSubject;
  /** The new refresh token's record. Its scope is the family's, whatever the access token got. */
  refresh: NextRefreshToken;
}

/**
 * The common end of every grant: sign the tokens, store the new refresh token (only as a hash),
 * raise `token_issued` and build the answer.
 */
export async function issueTokens(config: RouterConfig, key: SigningKey, issuance: Issuance): Promise<TokenResponse> {
  const nowMs = config.now();
  const iat = Math.floor(nowMs / 1000);
  const refreshToken = randomSecret(REFRESH_TOKEN_BYTES);
  const familyExpiresAt = issuance.refresh.familyExpiresAt ?? iat + config.refreshTokenMaxAge;
  // Idle lifetime, never past the family's end.
  const expiresAt = Math.min(iat + config.refreshTokenTtl, familyExpiresAt);
  const record: RefreshTokenRecord = { ...issuance.refresh, familyExpiresAt, expiresAt };
  const [tokens] = await Promise.all([
    signTokens(issuance.tokens, {
      issuer: config.issuer,
      key,
      iat,
      accessTokenTtl: config.accessTokenTtl,
      idTokenTtl: config.idTokenTtl,
      accessTokenFormat: config.accessTokenFormat,
      accessTokenAudience: config.accessTokenAudience,
      idTokenAtHash: config.idTokenAtHash,
    }),
    guard(config.refreshTokenStore.save(hashSecret(refreshToken), record, expiresAt), 'store_unavailable'),
  ]);
  config.emit({
    type: 'token_issued',
    grantType: issuance.grantType,
    clientId: issuance.tokens.clientId,
    subject: issuance.tokens.subject,
    scope: [...issuance.tokens.scope],
    accessTokenJti: tokens.accessTokenJti,
    ...(tokens.idTokenJti === undefined ? {} : { idTokenJti: tokens.idTokenJti }),
    familyId: record.familyId,
  });
  return {
    access_token: tokens.accessToken,
    refresh_token: refreshToken,
    scope: issuance.tokens.scope.join(' '),
    ...(tokens.idToken === undefined ? {} : { id_token: tokens.idToken }),
    token_type: 'Bearer',
    // Whole seconds left at issuance: 299 for a 300 s token issued mid-second, as in the seed.
    expires_in: Math.floor((tokens.accessTokenExpiresAt * 1000 - nowMs) / 1000),
  };
}

/** The facts a refresh token carries forward from a grant or from the token it replaces. */
export function carriedForward(source: TokenSubject & { scope: readonly string[] }): Omit<NextRefreshToken, 'familyId' | 'familyExpiresAt'> {
  const record: Omit<NextRefreshToken, 'familyId' | 'familyExpiresAt'> = {
    clientId: source.clientId,
    subject: source.subject,
    scope: [...source.scope],
  };
  if (source.authTime !== undefined) record.authTime = source.authTime;
  if (source.acr !== undefined) record.acr = source.acr;
  if (source.amr !== undefined) record.amr = [...source.amr];
  if (source.idTokenClaims !== undefined) record.idTokenClaims = source.idTokenClaims;
  if (source.accessTokenClaims !== undefined) record.accessTokenClaims = source.accessTokenClaims;
  return record;
}
