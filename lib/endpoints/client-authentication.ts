import { authenticateClient, clientIdOfRequest } from '../clients/authenticate.js';
import type { RouterConfig } from '../config/configuration.js';
import type { Client } from '../contracts.js';
import type { FormParams } from '../request/form-body.js';
import { RequestError } from '../response/request-error.js';

/*
 * What the form-POST endpoints that authenticate clients share (token, revocation):
 * docs/contract.md "Order of checks", steps 2 and 5a, on top of lib/clients/authenticate.ts.
 */

/**
 * Step 2's client_id: the body's, or the Basic header's when the body has none. The form is
 * returned with it, so validation judges it as it judges a body's; a malformed Basic header, or
 * one naming another client than the body, is `client_auth_malformed` (401 invalid_client).
 */
export function formWithClientId(params: FormParams, authorization: string | undefined): FormParams {
  const identified = clientIdOfRequest({ authorization, params });
  if ('failure' in identified) throw new RequestError(identified.failure);
  if (identified.clientId === undefined || identified.clientId === params.client_id) return params;
  return { ...params, client_id: identified.clientId };
}

/**
 * Step 5a: the client (found at step 5) authenticates by its registered method, before anything
 * is spent. `endpointPath` is the path asked: an assertion may name its URL as its audience.
 */
export async function requireClientAuthentication(
  config: RouterConfig,
  params: FormParams,
  authorization: string | undefined,
  client: Client | undefined,
  endpointPath: string,
): Promise<void> {
  const base = config.issuer.replace(/\/$/, '');
  const result = await authenticateClient({ authorization, params }, client, {
    audiences: [config.issuer, `${base}${config.tokenPath}`, `${base}${endpointPath}`],
    replayStore: config.replayStore,
    now: config.now,
  });
  if (!result.ok) throw new RequestError(result.reason);
}
