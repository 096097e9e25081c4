import type { Request, Response } from 'express';
import { findRegisteredClient } from './clients.js';
import { exchangeCode } from './code-grant.js';
import { CorsPolicy } from './cors.js';
import type { RequestTrail } from './events.js';
import { isFormUtf8, readFormParams, rejectAmbiguous } from './form-body.js';
import type { RouterConfig } from './options.js';
import { exchangeRefreshToken } from './refresh-grant.js';
import { guard, RequestError } from './request-error.js';
import { sendJson, sendRejection } from './respond.js';
import type { TokenResponse } from './token-issuance.js';
import { parametersOfGrant, TOKEN_PARAMETERS, validateTokenRequest } from './validation.js';

export type { TokenResponse } from './token-issuance.js';

const TOKEN_PATH_METHODS = 'POST, OPTIONS';

/** The token endpoint: `POST {tokenPath}`, plus its CORS preflight. */
export function tokenEndpoint(config: RouterConfig): (req: Request, res: Response) => Promise<void> {
  const cors = new CorsPolicy(config.staticOrigins, config.clients);
  return async (req, res) => {
    const trail: RequestTrail = {};
    try {
      if (req.method === 'OPTIONS') return await cors.answerPreflight(req, res);
      await cors.applyToResponse(req, res);
      sendJson(res, 200, await exchange(config, req, trail));
    } catch (error) {
      const { status, error: code, reason } = sendRejection(res, config.errorProfile, error);
      config.emit({ type: 'request_rejected', endpoint: 'token', reason, status, error: code, ...trail });
    }
  };
}

/**
 * SPEC "Order of checks", one step after another; the first failure answers. Steps 1 to 6 are
 * the same for every grant type; from step 7 on, each grant has its own module.
 */
async function exchange(config: RouterConfig, req: Request, trail: RequestTrail): Promise<TokenResponse> {
  // 1. Method, content type, body size and parse, repeated or bracketed known parameters.
  if (req.method !== 'POST') throw new RequestError('method_not_allowed', { allow: TOKEN_PATH_METHODS });
  if (!isFormUtf8(req.headers['content-type'])) throw new RequestError('unsupported_content_type');
  const { params, ambiguous } = await readFormParams(req, TOKEN_PARAMETERS, config.bodyLimit);
  rejectAmbiguous({ params, ambiguous }, parametersOfGrant(params.grant_type));
  // 2–4. Parameters present, within limits, well-formed; grant type supported.
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
  // 6. A signing key, before the code or token is spent: a key outage must not cost the user it.
  const key = await guard(config.keyStore.signingKey(), 'key_unavailable');
  switch (request.grant_type) {
    case 'authorization_code':
      return exchangeCode(config, request, client, key, trail);
    case 'refresh_token':
      return exchangeRefreshToken(config, request, key, trail);
  }
}
