import { findRegisteredClient } from '../clients/registry.js';
import type { RouterConfig } from '../config/configuration.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../contracts.js';
import { familyNamedBy, hashSecret } from '../crypto/secrets.js';
import { type ParsedForm, rejectAmbiguous } from '../request/form-body.js';
import { REVOCATION_PARAMETERS, validateRevocationRequest } from '../request/validation.js';
import { guard, RequestError } from '../response/request-error.js';
import { formWithClientId, requireClientAuthentication } from './client-authentication.js';
import { formPostEndpoint, type RequestState } from './form-post.js';

/**
 * The revocation endpoint (RFC 7009): `POST {revocationPath}` with `client_id`, `token` and an
 * optional `token_type_hint`, plus its CORS preflight (the same origins as the token path).
 *
 * Every well-formed request gets 200, whatever the token: unknown, expired, an access token (a
 * JWT that simply runs out), or another client's (refused silently, RFC 7009 §2.1). A refresh
 * token of the asking client is revoked with its whole family.
 */
export function revocationEndpoint(config: RouterConfig) {
  return formPostEndpoint(config, {
    endpoint: 'revocation',
    parameters: REVOCATION_PARAMETERS,
    // RFC 7009 §2.2: the answer has no body.
    handle: async (form, state, authorization) => void (await revoke(config, form, state, authorization)),
  });
}

/** The same first steps as the token endpoint; then the token is looked up by its hash. */
async function revoke(
  config: RouterConfig,
  form: ParsedForm,
  state: RequestState,
  authorization: string | undefined,
): Promise<void> {
  rejectAmbiguous(form, REVOCATION_PARAMETERS);
  const params = formWithClientId(form.params, authorization);
  const validated = await validateRevocationRequest(params);
  if ('failure' in validated) {
    Object.assign(state.trail, validated.known);
    throw new RequestError(validated.failure);
  }
  const { request } = validated;
  state.trail.clientId = request.client_id;
  const client = await findRegisteredClient(config.clients, request.client_id);
  if (client !== undefined) state.client = client;
  // 5a. RFC 7009 §2.1: "The authorization server first validates the client credentials (in case of a confidential client)".
  await requireClientAuthentication(config, params, authorization, client, config.revocationPath as string);
  // The hint is only a hint (RFC 7009 §2.1): refresh tokens are the only ones kept, so every
  // token is looked up as one.
  const record = await findRefreshToken(
    config.refreshTokenStore,
    hashSecret(request.token),
    familyNamedBy(request.token),
  );
  if (record === undefined || record.clientId !== request.client_id) return;
  await guard(config.refreshTokenStore.revokeFamily(record.familyId), 'store_unavailable');
  config.emit({ type: 'token_revoked', clientId: record.clientId, subject: record.subject, familyId: record.familyId });
}

/**
 * The record of a refresh token, without spending it when the store can look it up; otherwise
 * by spending it (see `RefreshTokenStore.find`).
 */
async function findRefreshToken(
  store: RefreshTokenStore,
  key: string,
  familyHint: string | undefined,
): Promise<RefreshTokenRecord | undefined> {
  if (store.find !== undefined) return guard(store.find(key, familyHint), 'store_unavailable');
  const result = await guard(store.rotate(key, familyHint), 'store_unavailable');
  return result.outcome === 'unknown' ? undefined : result.record;
}
