import type { RefreshTokenRecord, SigningKey } from './adapters/interfaces.js';
import type { RequestTrail } from './events.js';
import type { RouterConfig } from './options.js';
import { guard, RequestError, type RejectReason } from './request-error.js';
import { hashSecret } from './secrets.js';
import { carriedForward, issueTokens, type TokenResponse } from './token-issuance.js';
import type { RefreshTokenParams } from './validation.js';

/**
 * The refresh grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2), from SPEC "Order of checks"
 * step 7 on: the client and the signing key are already in hand, so a key outage never costs
 * the user a token.
 *
 * 7. Rotate: the store spends the token atomically. From here on it is spent, whatever happens
 *    next; a token spent before is reuse, and revokes its whole family.
 * 8. The token's client, its idle and absolute lifetimes by the router's clock, then the scope.
 *    A refusal here revokes the family too: the presented token is already spent, and a family
 *    left with no live token would only turn the client's retry into a false reuse alarm.
 */
export async function exchangeRefreshToken(
  config: RouterConfig,
  request: RefreshTokenParams,
  key: SigningKey,
  trail: RequestTrail,
): Promise<TokenResponse> {
  const result = await guard(config.refreshTokenStore.rotate(hashSecret(request.refresh_token)), 'store_unavailable');
  if (result.outcome === 'unknown') throw new RequestError('refresh_token_invalid');
  const { record } = result;
  trail.subject = record.subject;
  trail.familyId = record.familyId;
  if (result.outcome === 'reused') {
    // Both the thief and the victim lose the family: whoever presents its newest token next is refused.
    await revokeFamily(config, record);
    config.emit({ type: 'refresh_reuse_detected', clientId: record.clientId, subject: record.subject, familyId: record.familyId });
    throw new RequestError('refresh_token_reused');
  }
  const checked = checkRecord(config, record, request);
  if ('failure' in checked) {
    await revokeFamily(config, record);
    throw new RequestError(checked.failure);
  }
  config.emit({ type: 'refresh_rotated', clientId: record.clientId, subject: record.subject, familyId: record.familyId });
  // OIDC Core §12.2: the same iss, sub and aud, auth_time of the original authentication, no nonce.
  const carried = carriedForward(record);
  return issueTokens(config, key, {
    grantType: 'refresh_token',
    tokens: { ...carried, scope: checked.scope },
    // RFC 6749 §6: the new refresh token keeps the family's scope, whatever this request narrowed.
    refresh: { ...carried, familyId: record.familyId, familyExpiresAt: record.familyExpiresAt },
  });
}

/** Step 8: the failure to answer, or the scopes the new access token carries. */
function checkRecord(
  config: RouterConfig,
  record: RefreshTokenRecord,
  request: RefreshTokenParams,
): { failure: RejectReason } | { scope: string[] } {
  if (record.clientId !== request.client_id) return { failure: 'refresh_client_mismatch' };
  // A store may keep a token past its expiry; the router's own clock has the last word.
  const nowMs = config.now();
  const expired = (at: number | undefined): boolean => at !== undefined && at * 1000 <= nowMs;
  if (expired(record.expiresAt) || expired(record.familyExpiresAt)) return { failure: 'refresh_token_invalid' };
  if (request.scope === undefined || request.scope === '') return { scope: [...record.scope] };
  // RFC 6749 §6: the scope may narrow the original grant, never widen it.
  const requested = [...new Set(request.scope.split(' '))];
  if (!requested.every((scope) => record.scope.includes(scope))) return { failure: 'scope_widened' };
  return { scope: requested };
}

function revokeFamily(config: RouterConfig, record: RefreshTokenRecord): Promise<void> {
  return guard(config.refreshTokenStore.revokeFamily(record.familyId), 'store_unavailable');
}
