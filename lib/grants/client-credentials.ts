import type { RouterConfig } from '../config/configuration.js';
import type { AnySigningKey, Client } from '../contracts.js';
import type { ClientCredentialsParams } from '../request/validation.js';
import { RequestError } from '../response/request-error.js';
import { type ClientCredentialsTokenResponse, issueClientAccessToken } from '../tokens/issuance.js';

/**
 * The client credentials grant (RFC 6749 §4.4), from docs/contract.md "Order of checks", step 7
 * on: the client is registered, confidential and allowed the grant (step 5b), and a signing key
 * is in hand. Nothing is stored or spent: the answer is one access token for the client itself.
 *
 * 7. The scope: RFC 6749 §3.3, the registered scopes when the request names none; a scope the
 *    client is not registered for is `invalid_scope`.
 */
export function exchangeClientCredentials(
  config: RouterConfig,
  request: ClientCredentialsParams,
  client: Client,
  key: AnySigningKey,
  dpopJkt?: string,
): Promise<ClientCredentialsTokenResponse> {
  const registered = client.scopes ?? [];
  let scope: readonly string[] = registered;
  if (request.scope !== undefined && request.scope !== '') {
    scope = [...new Set(request.scope.split(' '))];
    if (!scope.every((name) => registered.includes(name))) throw new RequestError('scope_not_registered');
  }
  // A registry's record without scopes: nothing to grant (RFC 6749 §3.3: fail with invalid_scope).
  if (scope.length === 0) throw new RequestError('scope_not_registered');
  // RFC 9449 §5: with a proof, the access token is bound to its key (no refresh token to bind).
  return issueClientAccessToken(config, key, { clientId: client.clientId, scope }, config.now(), dpopJkt);
}
