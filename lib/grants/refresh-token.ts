import { isDeepStrictEqual } from 'node:util';
import type { RouterConfig } from '../config/configuration.js';
import type { AnySigningKey, GraceRotateResult, RefreshTokenRecord } from '../contracts.js';
import { dpopKeyOfRefreshToken, familyNamedBy, hashSecret } from '../crypto/secrets.js';
import { isExternal } from '../crypto/signing-key-check.js';
import type { RequestTrail } from '../events.js';
import type { RefreshTokenParams } from '../request/validation.js';
import { guard, type RejectReason, RequestError } from '../response/request-error.js';
import { carriedFacts } from '../stores/refresh-records.js';
import type { SignedTokens } from '../tokens/claims.js';
import {
  issueTokens,
  type NewRefreshToken,
  newRefreshTokenOf,
  signGrantTokens,
  type TokenResponse,
} from '../tokens/issuance.js';
import { requireProofOfKey, type TokenDpop } from './dpop-binding.js';

/**
 * The refresh grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2), from docs/contract.md
 * "Order of checks", step 7 on: the client and the signing key are already in hand, so a key outage never costs
 * the user a token.
 *
 * 7. Rotate: the store spends the token atomically. From here on it is spent, whatever happens
 *    next; a token spent before is reuse, and revokes its whole family. With the store's
 *    `rotateAndSave`, the successor is stored in the same atomic step, so a store failure (503)
 *    leaves the presented token as it was, and a rotated token always has its successor. With
 *    `refreshTokenReuseInterval`, a token spent within the window is reissued a new sibling
 *    instead, in the same atomic step, and goes on as a rotation (docs/refresh.md "The grace window").
 * 8. The token's client, its DPoP binding as stored, its idle and absolute lifetimes by the
 *    router's clock, then the scope. A refusal here revokes the family too: the presented token is
 *    already spent, and a family left with no live token would only turn the client's retry into a
 *    false reuse alarm.
 *
 * Before 7, RFC 9449 §5: a token bound to a DPoP key names it (secrets.ts), so a request without
 * a proof of that key is refused with nothing spent. The successor (or a reissued sibling) is
 * bound to the same key; an unbound family stays unbound, whatever key a later request proves (a
 * binding added later would protect nothing: whoever holds an unbound token could bind it to
 * their own key).
 */
export async function exchangeRefreshToken(
  config: RouterConfig,
  request: RefreshTokenParams,
  key: AnySigningKey,
  trail: RequestTrail,
  dpop: TokenDpop | undefined,
): Promise<TokenResponse> {
  const nowMs = config.now();
  const binding = dpopKeyOfRefreshToken(request.refresh_token);
  requireProofOfKey(binding, dpop);
  const signedFirst = isExternal(key)
    ? await signBeforeRotate(config, request, key, nowMs, binding, dpop?.jkt)
    : undefined;
  const rotation = await rotate(config, request.refresh_token, nowMs, binding);
  const { result } = rotation;
  if (result.outcome === 'unknown') throw new RequestError('refresh_token_invalid');
  const { record } = result;
  trail.subject = record.subject;
  trail.familyId = record.familyId;
  if (result.outcome === 'reused') {
    // Both the thief and the victim lose the family: whoever presents its newest token next is refused.
    await revokeFamily(config, record);
    config.emit({
      type: 'refresh_reuse_detected',
      clientId: record.clientId,
      subject: record.subject,
      familyId: record.familyId,
    });
    throw new RequestError('refresh_token_reused');
  }
  const checked = checkRecord(config, record, request, rotation.successor?.familyId, binding);
  if ('failure' in checked) {
    await revokeFamily(config, record);
    throw new RequestError(checked.failure, checked.detail === undefined ? {} : { detail: checked.detail });
  }
  config.emit({
    type: 'refresh_rotated',
    clientId: record.clientId,
    subject: record.subject,
    familyId: record.familyId,
    ...(result.outcome === 'reissued' ? { graceReissue: true as const } : {}),
  });
  // OIDC Core §12.2: the same iss, sub and aud, auth_time of the original authentication, no nonce.
  const tokens = { ...carriedFacts(record), scope: checked.scope };
  // The record rotated is the one read, and the scope the same: the tokens signed from them are these.
  const signed =
    signedFirst !== undefined &&
    isDeepStrictEqual(signedFirst.record, record) &&
    isDeepStrictEqual(signedFirst.scope, checked.scope)
      ? { signed: signedFirst.tokens }
      : {};
  if (rotation.successor !== undefined) {
    return issueTokens(
      config,
      key,
      { grantType: 'refresh_token', tokens, refresh: rotation.successor, dpopJkt: dpop?.jkt, ...signed },
      nowMs,
    );
  }
  // RFC 6749 §6: the new refresh token keeps the family's scope, whatever this request narrowed.
  const refresh = newRefreshTokenOf(config, record.familyId, nowMs, record.familyExpiresAt, binding);
  const next: RefreshTokenRecord = {
    ...carriedFacts(record),
    familyId: record.familyId,
    familyExpiresAt: refresh.familyExpiresAt,
    expiresAt: refresh.expiresAt,
  };
  const store = (): Promise<void> => config.refreshTokenStore.save(refresh.key, next, refresh.expiresAt);
  return issueTokens(
    config,
    key,
    { grantType: 'refresh_token', tokens, refresh, store, dpopJkt: dpop?.jkt, ...signed },
    nowMs,
  );
}

/**
 * docs/external-signers.md "Nothing spent": with an external signer, the tokens are signed before
 * step 7, from the record read with the store's read-only `inspect`, so a signer that fails or
 * times out answers 503 with the refresh token as it was. Only a token this request would rotate,
 * and whose step-8 checks pass, is signed for; any other takes the usual way (rotated, then
 * refused or its reuse answered), so what reuse or a wrong client costs is unchanged. A store
 * without `inspect`: `undefined`, and the tokens are signed after the rotation. So is a token
 * already spent that the grace window may reissue (docs/refresh.md "The grace window"): whether
 * it gets a sibling is the store's atomic answer, so there is nothing to sign for beforehand.
 */
async function signBeforeRotate(
  config: RouterConfig,
  request: RefreshTokenParams,
  key: AnySigningKey,
  nowMs: number,
  binding: string | undefined,
  dpopJkt: string | undefined,
): Promise<{ record: RefreshTokenRecord; scope: string[]; tokens: SignedTokens } | undefined> {
  const store = config.refreshTokenStore;
  if (store.inspect === undefined) return undefined;
  const familyHint = familyNamedBy(request.refresh_token);
  const found = await guard(
    Promise.resolve().then(() => store.inspect?.(hashSecret(request.refresh_token), familyHint)),
    'store_unavailable',
  );
  if (found === undefined || found.spent) return undefined;
  const { record } = found;
  // The successor's family, as rotate() makes it on an atomic store: the hinted one. On any other
  // store the check is stricter than step 8's, which only means signing after the rotation.
  const checked = checkRecord(config, record, request, familyHint, binding);
  if ('failure' in checked) return undefined;
  const tokens = await signGrantTokens(
    config,
    key,
    { ...carriedFacts(record), scope: checked.scope },
    record.familyId,
    nowMs,
    dpopJkt,
  );
  return { record, scope: checked.scope, tokens };
}

/**
 * How many new siblings one spent token may be given within its grace window. Each is one more
 * live token of the family, and a thief who replays within the window holds one of them: kept
 * small. Two covers what the window is for (a second tab or a service worker, and one retry
 * after a lost answer); a 20-way race within the window ends as 1 rotation, 2 reissues and 17
 * reuses, and the reuses revoke the family (docs/refresh.md "The grace window").
 */
export const GRACE_REISSUES = 2;

/**
 * Step 7. A token that names its family, on a store with `rotateAndSave`: the rotation and the
 * successor's save in one atomic call (the successor is the rotated record, as the store keeps
 * it); with a grace window, `rotateWithinGrace` instead, which may reissue a spent token a new
 * sibling in the same way. Otherwise (a store without either, or a token of an earlier version
 * that names no family, which gets no window) the rotation alone; the successor is stored after it.
 */
async function rotate(
  config: RouterConfig,
  token: string,
  nowMs: number,
  binding: string | undefined,
): Promise<{ result: GraceRotateResult; successor?: NewRefreshToken }> {
  const store = config.refreshTokenStore;
  const key = hashSecret(token);
  const familyHint = familyNamedBy(token);
  const atomic = familyHint === undefined ? undefined : atomicRotation(config, key, familyHint, nowMs, binding);
  if (atomic === undefined) return { result: await guard(store.rotate(key, familyHint), 'store_unavailable') };
  const { successor, call } = atomic;
  const result = await guard(call, 'store_unavailable');
  if (result.outcome === 'unknown' || result.outcome === 'reused') return { result };
  return { result, successor: { ...successor, familyExpiresAt: result.record.familyExpiresAt } };
}

/**
 * The store's one atomic call that spends the token and saves its successor, with the grace
 * window when one is set; `undefined` for a store that has no such call.
 */
function atomicRotation(
  config: RouterConfig,
  key: string,
  familyHint: string,
  nowMs: number,
  binding: string | undefined,
): { successor: NewRefreshToken; call: Promise<GraceRotateResult> } | undefined {
  const store = config.refreshTokenStore;
  const grace = config.refreshTokenReuseInterval > 0 && store.rotateWithinGrace !== undefined;
  if (!grace && store.rotateAndSave === undefined) return undefined;
  // The family's end is the store's to apply: the successor is kept until the earlier of the two.
  const successor = newRefreshTokenOf(config, familyHint, nowMs, Number.POSITIVE_INFINITY, binding);
  const next = { key: successor.key, expiresAt: successor.expiresAt };
  const window = { now: nowMs, interval: config.refreshTokenReuseInterval, maxReissues: GRACE_REISSUES };
  const call = grace
    ? store.rotateWithinGrace?.(key, next, window, familyHint)
    : store.rotateAndSave?.(key, next, familyHint);
  return call === undefined ? undefined : { successor, call };
}

/** Step 8: the failure to answer, or the scopes the new access token carries. */
function checkRecord(
  config: RouterConfig,
  record: RefreshTokenRecord,
  request: RefreshTokenParams,
  successorFamily: string | undefined,
  binding: string | undefined,
): { failure: RejectReason; detail?: string } | { scope: string[] } {
  if (record.clientId !== request.client_id) return { failure: 'refresh_client_mismatch' };
  // RFC 9449 §5: the stored binding is the token's own (a store's record of another key, or a
  // bound record behind a token that names none, is never honoured).
  if ((record.dpopJkt ?? undefined) !== binding) return { failure: 'dpop_proof_invalid', detail: 'dpop_key_mismatch' };
  // The token names its family; a store that found it in another is answered as if unknown.
  if (successorFamily !== undefined && successorFamily !== record.familyId) return { failure: 'refresh_token_invalid' };
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
