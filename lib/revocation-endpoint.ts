import type { Request, Response } from 'express';
import type { RefreshTokenRecord, RefreshTokenStore } from './adapters/interfaces.js';
import { findRegisteredClient } from './clients.js';
import { CorsPolicy } from './cors.js';
import type { RequestTrail } from './events.js';
import { isFormUtf8, readFormParams, rejectAmbiguous } from './form-body.js';
import type { RouterConfig } from './options.js';
import { guard, RequestError } from './request-error.js';
import { sendRejection } from './respond.js';
import { hashSecret } from './secrets.js';
import { REVOCATION_PARAMETERS, validateRevocationRequest } from './validation.js';

const REVOCATION_PATH_METHODS = 'POST, OPTIONS';

/**
 * The revocation endpoint (RFC 7009): `POST {revocationPath}` with `client_id`, `token` and an
 * optional `token_type_hint`, plus its CORS preflight (the same origins as the token path).
 *
 * Every well-formed request gets 200, whatever the token: unknown, expired, an access token (a
 * JWT that simply runs out), or another client's (refused silently, RFC 7009 §2.1). A refresh
 * token of the asking client is revoked with its whole family.
 */
export function revocationEndpoint(config: RouterConfig): (req: Request, res: Response) => Promise<void> {
  const cors = new CorsPolicy(config.staticOrigins, config.clients);
  return async (req, res) => {
    const trail: RequestTrail = {};
    try {
      if (req.method === 'OPTIONS') return await cors.answerPreflight(req, res);
      await cors.applyToResponse(req, res);
      await revoke(config, req, trail);
      // RFC 7009 §2.2: the body is ignored; none is sent.
      res.statusCode = 200;
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Pragma', 'no-cache');
      res.setHeader('Content-Length', 0);
      res.end();
    } catch (error) {
      const { status, error: code, reason } = sendRejection(res, config.errorProfile, error);
      config.emit({ type: 'request_rejected', endpoint: 'revocation', reason, status, error: code, ...trail });
    }
  };
}

/** The same first steps as the token endpoint; then the token is looked up by its hash. */
async function revoke(config: RouterConfig, req: Request, trail: RequestTrail): Promise<void> {
  if (req.method !== 'POST') throw new RequestError('method_not_allowed', { allow: REVOCATION_PATH_METHODS });
  if (!isFormUtf8(req.headers['content-type'])) throw new RequestError('unsupported_content_type');
  const form = await readFormParams(req, REVOCATION_PARAMETERS, config.bodyLimit);
  rejectAmbiguous(form, REVOCATION_PARAMETERS);
  const { params } = form;
  const validated = await validateRevocationRequest(params);
  if ('failure' in validated) {
    if (validated.failure !== 'client_id_invalid') trail.clientId = params.client_id!;
    throw new RequestError(validated.failure);
  }
  const { request } = validated;
  trail.clientId = request.client_id;
  await findRegisteredClient(config.clients, request.client_id);
  // The hint is only a hint (RFC 7009 §2.1): refresh tokens are the only ones kept, so every
  // token is looked up as one.
  const record = await findRefreshToken(config.refreshTokenStore, hashSecret(request.token));
  if (record === undefined || record.clientId !== request.client_id) return;
  await guard(config.refreshTokenStore.revokeFamily(record.familyId), 'store_unavailable');
  config.emit({ type: 'token_revoked', clientId: record.clientId, subject: record.subject, familyId: record.familyId });
}

/**
 * The record of a refresh token, without spending it when the store can look it up; otherwise
 * by spending it (see `RefreshTokenStore.find`).
 */
async function findRefreshToken(store: RefreshTokenStore, key: string): Promise<RefreshTokenRecord | undefined> {
  if (store.find !== undefined) return guard(store.find(key), 'store_unavailable');
  const result = await guard(store.rotate(key), 'store_unavailable');
  return result.outcome === 'unknown' ? undefined : result.record;
}
