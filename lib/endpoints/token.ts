import type { Request } from 'express';
import { checkGrantAllowed } from '../clients/client-grants.js';
import { findRegisteredClient } from '../clients/registry.js';
import type { RouterConfig } from '../config/configuration.js';
import type { AnySigningKey, AtomicCodeExchange } from '../contracts.js';
import { checkStoreSigningKey } from '../crypto/signing-key-check.js';
import { exchangeCode } from '../grants/authorization-code.js';
import { exchangeClientCredentials } from '../grants/client-credentials.js';
import { exchangeRefreshToken } from '../grants/refresh-token.js';
import { type ParsedForm, rejectAmbiguous } from '../request/form-body.js';
import { parametersOfGrant, TOKEN_PARAMETERS, validateTokenRequest } from '../request/validation.js';
import { guard, RequestError } from '../response/request-error.js';
import type { ClientCredentialsTokenResponse, TokenResponse } from '../tokens/issuance.js';
import { formWithClientId, requireClientAuthentication } from './client-authentication.js';
import { formPostEndpoint, type RequestState } from './form-post.js';
import { checkTokenDpop } from './token-dpop.js';

/** The token endpoint: `POST {tokenPath}`, plus its CORS preflight. */
export function tokenEndpoint(config: RouterConfig) {
  // Asked once: whether the code store can redeem a code and store its first refresh token in one
  // atomic step with this refresh-token store (the same backend and server).
  const codeExchange = config.codeStore.atomicExchange?.(config.refreshTokenStore);
  return formPostEndpoint(config, {
    endpoint: 'token',
    parameters: TOKEN_PARAMETERS,
    handle: (form, state, authorization, req) => exchange(config, codeExchange, form, state, authorization, req),
    // RFC 9449 §8: a browser client reads the nonce only when it is exposed; the proof is a header of its own.
    ...(config.dpop === undefined
      ? {}
      : { exposeHeaders: 'DPoP-Nonce', preflight: { methods: 'POST', headers: 'Content-Type, DPoP' } }),
  });
}

/**
 * docs/contract.md "Order of checks", after step 1's method, content type and body; the first
 * failure answers. Steps 1 to 6 (5a included) are the same for every grant type; from step 7 on, each grant has its
 * own module.
 */
async function exchange(
  config: RouterConfig,
  codeExchange: AtomicCodeExchange | undefined,
  form: ParsedForm,
  state: RequestState,
  authorization: string | undefined,
  req: Request,
): Promise<TokenResponse | ClientCredentialsTokenResponse> {
  const { trail } = state;
  // 1. Repeated or bracketed parameters, of those this request's grant type reads.
  rejectAmbiguous(form, parametersOfGrant(form.params.grant_type));
  // 2–4. Parameters present (client_id in the body, or in a Basic header), within limits,
  // well-formed; grant type supported.
  const params = formWithClientId(form.params, authorization);
  const validated = await validateTokenRequest(params);
  if ('failure' in validated) {
    Object.assign(trail, validated.known);
    throw new RequestError(validated.failure);
  }
  const { request } = validated;
  trail.clientId = request.client_id;
  trail.grantType = request.grant_type;
  // 5. The client, when a registry is configured.
  const client = await findRegisteredClient(config.clients, request.client_id);
  if (client !== undefined) state.client = client;
  // 5a. The client authenticated by its registered method: before the code or token is spent.
  await requireClientAuthentication(config, params, authorization, client, config.tokenPath);
  // 5b. The grant type (after the client authenticated, 5a), one the client may use (RFC 6749 §5.2 unauthorized_client).
  checkGrantAllowed(client, request.grant_type);
  // 6. A signing key, before the code or token is spent: a key outage must not cost the user it.
  const key = await signingKey(config);
  // 6a. The DPoP proof (RFC 9449 §4.3), before the code or token is spent: its key binds the tokens.
  const dpop = await checkTokenDpop(config, req, client, state);
  switch (request.grant_type) {
    case 'authorization_code':
      return exchangeCode(config, codeExchange, request, client, key, trail, dpop);
    case 'refresh_token':
      return exchangeRefreshToken(config, request, key, trail, dpop);
    case 'client_credentials':
      // checkGrantAllowed refuses client_credentials without a registered client.
      // biome-ignore lint/style/noNonNullAssertion: step 5b passed, so the client is registered
      return exchangeClientCredentials(config, request, client!, key, dpop?.jkt);
  }
}

/**
 * The key store's signing key; any failure, even a synchronous throw, is `key_unavailable`, and
 * so is a key the router cannot sign with (signing-key-check.ts), found here rather than at step 7.
 */
async function signingKey(config: RouterConfig): Promise<AnySigningKey> {
  const key = await guard(
    Promise.resolve().then(() => config.keyStore.signingKey()),
    'key_unavailable',
  );
  const problem = checkStoreSigningKey(key);
  if (problem !== undefined) throw new RequestError('key_unavailable', { cause: new TypeError(problem) });
  return key;
}
