import type { Request, Response } from 'express';
import type { AuthorizationCodeGrant, Client, RefreshTokenRecord, SigningKey } from './adapters/interfaces.js';
import { CorsPolicy } from './cors.js';
import { answerFor } from './error-profiles.js';
import { isFormUtf8, readFormParams } from './form-body.js';
import type { RouterConfig } from './options.js';
import { verifierMatchesChallenge } from './pkce.js';
import { RequestError, type RejectReason } from './request-error.js';
import { sendError, sendJson } from './respond.js';
import { familyIdFor, hashSecret, randomSecret, REFRESH_TOKEN_BYTES } from './secrets.js';
import { signTokens } from './tokens.js';
import { firstValidationFailure, TOKEN_PARAMETERS, type AuthorizationCodeParams } from './validation.js';

/** RFC 6749 §5.1: the success body. */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  scope: string;
  id_token?: string;
  token_type: 'Bearer';
  expires_in: number;
}

const TOKEN_PATH_METHODS = 'POST, OPTIONS';

/** The token endpoint: `POST {tokenPath}`, plus its CORS preflight. */
export function tokenEndpoint(config: RouterConfig): (req: Request, res: Response) => Promise<void> {
  const cors = new CorsPolicy(config.staticOrigins, config.clients);
  return async (req, res) => {
    try {
      if (req.method === 'OPTIONS') return await cors.answerPreflight(req, res);
      await cors.applyToResponse(req, res);
      sendJson(res, 200, await exchange(config, req));
    } catch (error) {
      sendRejection(res, config, error);
    }
  };
}

/** One place turns a refused request into its HTTP answer under the chosen profile. */
export function sendRejection(res: Response, config: RouterConfig, error: unknown): void {
  // Anything not already a RequestError escaped an adapter: the store is what is unavailable.
  const rejection = error instanceof RequestError ? error : new RequestError('store_unavailable', { cause: error });
  sendError(res, answerFor(config.errorProfile, rejection.reason), rejection.allow);
}

/** SPEC "Order of checks", one step after another; the first failure answers. */
async function exchange(config: RouterConfig, req: Request): Promise<TokenResponse> {
  // 1. Method, content type, body size and parse, repeated or bracketed known parameters.
  if (req.method !== 'POST') throw new RequestError('method_not_allowed', { allow: TOKEN_PATH_METHODS });
  if (!isFormUtf8(req.headers['content-type'])) throw new RequestError('unsupported_content_type');
  const params = await readFormParams(req, TOKEN_PARAMETERS, config.bodyLimit);
  // 2–4. Parameters present, within limits, well-formed; grant type supported.
  const failure = await firstValidationFailure(params);
  if (failure !== undefined) throw new RequestError(failure);
  const request = params as unknown as AuthorizationCodeParams;
  // 5. The client, when a registry is configured.
  const client = await findClient(config, request.client_id);
  // 6. A signing key, before the code is spent: a key outage must not cost the user the code.
  const key = await guard(config.keyStore.signingKey(), 'key_unavailable');
  // 7. Redeem: from here on the code is spent, whatever happens next.
  const codeKey = hashSecret(request.code);
  const grant = await redeemCode(config, codeKey);
  // 8. The code's bindings: client, redirect URI, then the PKCE verifier.
  checkBindings(grant, request, client);
  return issueTokens(config, grant, codeKey, key);
}

async function findClient(config: RouterConfig, clientId: string): Promise<Client | undefined> {
  if (config.clients === undefined) return undefined;
  const client = await guard(config.clients.findClient(clientId), 'store_unavailable');
  if (client === undefined) throw new RequestError('client_unknown');
  return client;
}

async function redeemCode(config: RouterConfig, codeKey: string): Promise<AuthorizationCodeGrant> {
  const result = await guard(config.codeStore.redeem(codeKey), 'store_unavailable');
  if (result.outcome === 'unknown') throw new RequestError('code_invalid');
  if (result.outcome === 'replayed') {
    // RFC 6749 §4.1.2: a replayed code revokes what was issued from it.
    await guard(config.refreshTokenStore.revokeFamily(familyIdFor(codeKey)), 'store_unavailable');
    throw new RequestError('code_invalid');
  }
  // A store may keep a code past its expiry; the router's own clock has the last word.
  if (result.grant.expiresAt * 1000 <= config.now()) throw new RequestError('code_invalid');
  return result.grant;
}

function checkBindings(grant: AuthorizationCodeGrant, request: AuthorizationCodeParams, client: Client | undefined): void {
  if (grant.clientId !== request.client_id) throw new RequestError('client_mismatch');
  if (grant.redirectUri !== request.redirect_uri) throw new RequestError('redirect_uri_mismatch');
  if (grant.codeChallengeMethod === 'plain' && client?.allowPlainPkce !== true) {
    throw new RequestError('pkce_method_not_allowed');
  }
  if (!verifierMatchesChallenge(request.code_verifier, grant.codeChallenge, grant.codeChallengeMethod)) {
    throw new RequestError('pkce_mismatch');
  }
}

async function issueTokens(
  config: RouterConfig,
  grant: AuthorizationCodeGrant,
  codeKey: string,
  key: SigningKey,
): Promise<TokenResponse> {
  const nowMs = config.now();
  const iat = Math.floor(nowMs / 1000);
  const refreshToken = randomSecret(REFRESH_TOKEN_BYTES);
  const familyExpiresAt = iat + config.refreshTokenMaxAge;
  const [tokens] = await Promise.all([
    signTokens(grant, {
      issuer: config.issuer,
      key,
      iat,
      accessTokenTtl: config.accessTokenTtl,
      idTokenTtl: config.idTokenTtl,
    }),
    guard(
      config.refreshTokenStore.save(
        hashSecret(refreshToken),
        refreshRecord(grant, familyIdFor(codeKey), familyExpiresAt),
        Math.min(iat + config.refreshTokenTtl, familyExpiresAt),
      ),
      'store_unavailable',
    ),
  ]);
  return {
    access_token: tokens.accessToken,
    refresh_token: refreshToken,
    scope: grant.scope.join(' '),
    ...(tokens.idToken === undefined ? {} : { id_token: tokens.idToken }),
    token_type: 'Bearer',
    // Whole seconds left at issuance: 299 for a 300 s token issued mid-second, as in the seed.
    expires_in: Math.floor((tokens.accessTokenExpiresAt * 1000 - nowMs) / 1000),
  };
}

/** What the refresh token stands for: the grant, minus what only the first response needs. */
function refreshRecord(grant: AuthorizationCodeGrant, familyId: string, familyExpiresAt: number): RefreshTokenRecord {
  const record: RefreshTokenRecord = {
    clientId: grant.clientId,
    subject: grant.subject,
    scope: grant.scope,
    familyId,
    familyExpiresAt,
  };
  if (grant.authTime !== undefined) record.authTime = grant.authTime;
  if (grant.idTokenClaims !== undefined) record.idTokenClaims = grant.idTokenClaims;
  if (grant.accessTokenClaims !== undefined) record.accessTokenClaims = grant.accessTokenClaims;
  return record;
}

/** Await an adapter call; a rejection becomes `reason` (503), with the cause kept off the wire. */
async function guard<T>(promise: Promise<T>, reason: RejectReason): Promise<T> {
  try {
    return await promise;
  } catch (cause) {
    throw new RequestError(reason, { cause });
  }
}
