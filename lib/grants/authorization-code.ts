import { isDeepStrictEqual } from 'node:util';
import type { RouterConfig } from '../config/configuration.js';
import type { AnySigningKey, AtomicCodeExchange, AuthorizationCodeGrant, Client, RedeemResult } from '../contracts.js';
import { dpopKeyOfCode, familyIdFor, hashSecret } from '../crypto/secrets.js';
import { isExternal } from '../crypto/signing-key-check.js';
import type { RequestTrail } from '../events.js';
import type { AuthorizationCodeParams } from '../request/validation.js';
import { guard, type RejectReason, RequestError } from '../response/request-error.js';
import { firstRefreshTokenRecord } from '../stores/refresh-records.js';
import type { SignedTokens } from '../tokens/claims.js';
import {
  issueTokens,
  type NewRefreshToken,
  newRefreshTokenOf,
  signGrantTokens,
  type TokenResponse,
} from '../tokens/issuance.js';
import { familyBinding, requireProofOfKey, type TokenDpop } from './dpop-binding.js';
import { verifierMatchesChallenge } from './pkce.js';

/**
 * The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6), from docs/contract.md
 * "Order of checks", step 7 on: the client and the signing key are already in hand.
 *
 * With the stores' atomic exchange (`exchange`), step 7 redeems the code and stores the family's
 * first refresh token in one store call: a store failure (503) leaves the code as it was, and a
 * redeemed code always has its refresh token stored. Without one, the token is stored after the
 * redeem, beside the signing, and a store failure then costs the code (docs/contract.md "When a
 * store fails").
 */
export async function exchangeCode(
  config: RouterConfig,
  exchange: AtomicCodeExchange | undefined,
  request: AuthorizationCodeParams,
  client: Client | undefined,
  key: AnySigningKey,
  trail: RequestTrail,
  dpop: TokenDpop | undefined,
): Promise<TokenResponse> {
  const nowMs = config.now();
  // 6a (end). RFC 9449 §10: a code bound to a key (dpop_jkt) names it, so a proof of another key,
  // or none, is refused before the code is spent (secrets.ts newAuthorizationCode).
  requireProofOfKey(dpopKeyOfCode(request.code), dpop);
  // 7. Redeem: from here on the code is spent, whatever happens next.
  const codeKey = hashSecret(request.code);
  const refresh = newRefreshTokenOf(config, familyIdFor(codeKey), nowMs, undefined, familyBinding(client, dpop));
  const signedFirst = isExternal(key)
    ? await signBeforeRedeem(config, codeKey, request, client, key, refresh, nowMs, dpop?.jkt)
    : undefined;
  const redeemed = exchange === undefined ? config.codeStore.redeem(codeKey) : exchange(codeKey, refresh);
  const grant = await redeemedGrant(
    config,
    await guard(redeemed, 'store_unavailable'),
    request,
    client,
    refresh.familyId,
  );
  trail.subject = grant.subject;
  // 8. The code's bindings: client, redirect URI, then the PKCE verifier.
  const failure = bindingFailure(grant, request, client);
  if (failure !== undefined) throw new RequestError(failure);
  // RFC 9449 §10: the grant's own dpop_jkt has the last word. A code issued by
  // issueAuthorizationCode named it and was checked before the redeem; one saved otherwise is
  // spent by a wrong proof, as by a wrong verifier.
  requireProofOfKey(grant.dpopJkt, dpop);
  config.emit({ type: 'code_redeemed', clientId: grant.clientId, subject: grant.subject, familyId: refresh.familyId });
  return issueTokens(
    config,
    key,
    {
      grantType: 'authorization_code',
      tokens: grant,
      refresh,
      dpopJkt: dpop?.jkt,
      ...(exchange === undefined ? { store: () => storeFirst(config, grant, refresh) } : {}),
      // The grant redeemed is the one read: the tokens signed from it are this grant's.
      ...(signedFirst !== undefined && isDeepStrictEqual(signedFirst.grant, grant)
        ? { signed: signedFirst.tokens }
        : {}),
    },
    nowMs,
  );
}

/**
 * docs/external-signers.md "Nothing spent": with an external signer, which can fail or time out
 * like any remote call, the tokens are signed before step 7, from the grant read with the code
 * store's read-only `find`, so a signer outage answers 503 with the code as it was. Only a code
 * this request would redeem, and whose step-8 bindings hold, is signed for; any other takes the
 * usual way (redeemed, then refused), so what a wrong verifier or a replay costs is unchanged. A
 * store without `find`: `undefined`, and the tokens are signed after the redeem.
 */
async function signBeforeRedeem(
  config: RouterConfig,
  codeKey: string,
  request: AuthorizationCodeParams,
  client: Client | undefined,
  key: AnySigningKey,
  refresh: NewRefreshToken,
  nowMs: number,
  dpopJkt: string | undefined,
): Promise<{ grant: AuthorizationCodeGrant; tokens: SignedTokens } | undefined> {
  const { codeStore } = config;
  if (codeStore.find === undefined) return undefined;
  const found = await guard(
    Promise.resolve().then(() => codeStore.find?.(codeKey)),
    'store_unavailable',
  );
  if (found === undefined || found.redeemed || found.grant.expiresAt * 1000 <= config.now()) return undefined;
  if (bindingFailure(found.grant, request, client) !== undefined) return undefined;
  return {
    grant: found.grant,
    tokens: await signGrantTokens(config, key, found.grant, refresh.familyId, nowMs, dpopJkt),
  };
}

/** The grant of a code this request redeemed; any other outcome is refused. */
async function redeemedGrant(
  config: RouterConfig,
  result: RedeemResult,
  request: AuthorizationCodeParams,
  client: Client | undefined,
  familyId: string,
): Promise<AuthorizationCodeGrant> {
  if (result.outcome === 'unknown') throw new RequestError('code_invalid');
  if (result.outcome === 'replayed') {
    // RFC 6749 §4.1.2: a replayed code revokes what was issued from it; but only a replay that
    // passes the code's bindings (its client, redirect URI and verifier) may, or anyone who saw a
    // used code (in a log, a referrer) could sign its user out.
    if (bindingFailure(result.grant, request, client) === undefined) {
      await guard(config.refreshTokenStore.revokeFamily(familyId), 'store_unavailable');
      const { clientId, subject } = result.grant;
      config.emit({ type: 'code_replayed', clientId, subject, familyId });
    }
    throw new RequestError('code_invalid');
  }
  // A store may keep a code past its expiry; the router's own clock has the last word.
  if (result.grant.expiresAt * 1000 <= config.now()) throw new RequestError('code_invalid');
  return result.grant;
}

/** Step 8: why the code's bindings refuse this request, if they do. */
function bindingFailure(
  grant: AuthorizationCodeGrant,
  request: AuthorizationCodeParams,
  client: Client | undefined,
): RejectReason | undefined {
  if (grant.clientId !== request.client_id) return 'client_mismatch';
  if (grant.redirectUri !== request.redirect_uri) return 'redirect_uri_mismatch';
  if (grant.codeChallengeMethod === 'plain' && client?.allowPlainPkce !== true) return 'pkce_method_not_allowed';
  if (!verifierMatchesChallenge(request.code_verifier, grant.codeChallenge, grant.codeChallengeMethod))
    return 'pkce_mismatch';
  return undefined;
}

/** Without an atomic exchange: store the family's first token, as the exchange would have. */
function storeFirst(config: RouterConfig, grant: AuthorizationCodeGrant, refresh: NewRefreshToken): Promise<void> {
  return config.refreshTokenStore.save(refresh.key, firstRefreshTokenRecord(grant, refresh), refresh.expiresAt);
}
