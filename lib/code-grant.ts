import type { AuthorizationCodeGrant, Client, SigningKey } from './adapters/interfaces.js';
import type { RequestTrail } from './events.js';
import type { RouterConfig } from './options.js';
import { verifierMatchesChallenge } from './pkce.js';
import { guard, RequestError } from './request-error.js';
import { familyIdFor, hashSecret } from './secrets.js';
import { carriedForward, issueTokens, type TokenResponse } from './token-issuance.js';
import type { AuthorizationCodeParams } from './validation.js';

/**
 * The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6), from SPEC "Order of checks"
 * step 7 on: the client and the signing key are already in hand.
 */
export async function exchangeCode(
  config: RouterConfig,
  request: AuthorizationCodeParams,
  client: Client | undefined,
  key: SigningKey,
  trail: RequestTrail,
): Promise<TokenResponse> {
  // 7. Redeem: from here on the code is spent, whatever happens next.
  const codeKey = hashSecret(request.code);
  const familyId = familyIdFor(codeKey);
  const grant = await redeemCode(config, codeKey, familyId);
  trail.subject = grant.subject;
  // 8. The code's bindings: client, redirect URI, then the PKCE verifier.
  checkBindings(grant, request, client);
  config.emit({ type: 'code_redeemed', clientId: grant.clientId, subject: grant.subject, familyId });
  return issueTokens(config, key, {
    grantType: 'authorization_code',
    tokens: grant,
    refresh: { ...carriedForward(grant), familyId },
  });
}

async function redeemCode(config: RouterConfig, codeKey: string, familyId: string): Promise<AuthorizationCodeGrant> {
  const result = await guard(config.codeStore.redeem(codeKey), 'store_unavailable');
  if (result.outcome === 'unknown') throw new RequestError('code_invalid');
  if (result.outcome === 'replayed') {
    // RFC 6749 §4.1.2: a replayed code revokes what was issued from it.
    await guard(config.refreshTokenStore.revokeFamily(familyId), 'store_unavailable');
    const { clientId, subject } = result.grant;
    config.emit({ type: 'code_replayed', clientId, subject, familyId });
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
