import { authMethodOf } from '../clients/client-auth-fields.js';
import { findRegisteredClient } from '../clients/registry.js';
import type { RouterConfig } from '../config/configuration.js';
import { type ParsedForm, rejectAmbiguous } from '../request/form-body.js';
import { INTROSPECTION_PARAMETERS, validateIntrospectionRequest } from '../request/validation.js';
import { RequestError } from '../response/request-error.js';
import { formWithClientId, requireClientAuthentication } from './client-authentication.js';
import { formPostEndpoint, type RequestState } from './form-post.js';
import { type IntrospectionResponse, introspectionVerifier, introspectToken } from './introspection-answer.js';

/**
 * The introspection endpoint (RFC 7662): `POST {introspectionPath}` with `token` and an optional
 * `token_type_hint`, for confidential clients that authenticate (resource servers). Its order of
 * checks (docs/machine-clients.md "Introspection"): step 1 as the token endpoint's; the
 * parameters; the client, registered; its authentication (5a), and a confidential one; then the
 * answer of introspection-answer.ts. Server to server: no CORS, so no preflight is answered.
 *
 * RFC 7662 §4 lets the server decide which protected resources may learn about which tokens:
 * every authenticated confidential client may introspect any token issued here, as a resource
 * server must for the tokens of the clients calling it (docs/machine-clients.md).
 */
export function introspectionEndpoint(config: RouterConfig, path: string) {
  const verifier = introspectionVerifier(config);
  return formPostEndpoint(config, {
    endpoint: 'introspection',
    parameters: INTROSPECTION_PARAMETERS,
    cors: false,
    handle: (form, state, authorization) => introspect(config, verifier, path, form, state, authorization),
  });
}

async function introspect(
  config: RouterConfig,
  verifier: ReturnType<typeof introspectionVerifier>,
  path: string,
  form: ParsedForm,
  state: RequestState,
  authorization: string | undefined,
): Promise<IntrospectionResponse> {
  // 1. Repeated or bracketed parameters.
  rejectAmbiguous(form, INTROSPECTION_PARAMETERS);
  // 2–4. client_id (from the body or the Basic header), token present, the hint within limits.
  const params = formWithClientId(form.params, authorization);
  const validated = await validateIntrospectionRequest(params);
  if ('failure' in validated) {
    Object.assign(state.trail, validated.known);
    throw new RequestError(validated.failure);
  }
  const { request } = validated;
  state.trail.clientId = request.client_id;
  // 5. The client: only a registered one can be known to be confidential.
  if (config.clients === undefined) throw new RequestError('client_not_confidential');
  const client = await findRegisteredClient(config.clients, request.client_id);
  if (client === undefined) throw new RequestError('client_unknown');
  // 5a. RFC 7662 §2.1: "the endpoint MUST also require some form of authorization".
  await requireClientAuthentication(config, params, authorization, client, path);
  if (authMethodOf(client) === 'none') throw new RequestError('client_not_confidential');
  const answer = await introspectToken(config, verifier, request.token);
  config.emit({ type: 'token_introspected', clientId: client.clientId, active: answer.active });
  return answer;
}
