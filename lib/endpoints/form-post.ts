import type { Request, Response } from 'express';
import { readBasicCredentials } from '../clients/authenticate.js';
import type { RouterConfig } from '../config/configuration.js';
import type { Client } from '../contracts.js';
import { detachedCopy } from '../crypto/detached-string.js';
import type { RequestRejectedEvent, RequestTrail } from '../events.js';
import { CorsPolicy, type PreflightAnswer } from '../request/cors.js';
import { isFormUtf8, type ParsedForm, readFormParams } from '../request/form-body.js';
import type { GrantType } from '../request/validation.js';
import { RequestError } from '../response/request-error.js';
import { sendEmptyJsonOk, sendJson, sendRejection } from '../response/respond.js';

/** What a request has established so far: for the rejection event, and for CORS. */
export interface RequestState {
  trail: RequestTrail;
  /** The registered client the request named, once found. */
  client?: Client;
  /** Headers the answer carries, success or refusal (RFC 9449 §8: `DPoP-Nonce`). */
  headers?: Record<string, string>;
}

/** How a form-POST endpoint handles a request once step 1 (method, content type, body) passed. */
export interface FormPostHandler {
  /** Which endpoint, for `request_rejected` events. */
  endpoint: RequestRejectedEvent['endpoint'];
  /** The body parameters it reads; all others are ignored (RFC 6749 §3.2). */
  parameters: ReadonlySet<string>;
  /**
   * `false` for a server-to-server endpoint (introspection): no preflight is answered (OPTIONS is
   * a 405) and no answer carries CORS headers. Default: the CORS of docs/contract.md "Browsers and apps".
   */
  cors?: false;
  /** What a preflight allows; default a form POST (`Content-Type`). */
  preflight?: PreflightAnswer;
  /**
   * The answer's JSON body, or `undefined` for an empty 200. Throws a RequestError to refuse.
   * `authorization` is the request's Authorization header, for client authentication; `req` the
   * request, for what else its headers carry (a DPoP proof).
   */
  handle(form: ParsedForm, state: RequestState, authorization: string | undefined, req: Request): Promise<unknown>;
  /** `Access-Control-Expose-Headers` of an answer to an allowed origin (a browser reads `DPoP-Nonce` only then). */
  exposeHeaders?: string;
}

const METHODS = 'POST, OPTIONS';

/**
 * The plumbing the token and revocation endpoints share: the CORS preflight, docs/contract.md
 * "Order of checks", step 1, CORS on the answer, and one JSON answer per request, success or
 * refusal.
 */
export function formPostEndpoint(
  config: RouterConfig,
  handler: FormPostHandler,
): (req: Request, res: Response) => Promise<void> {
  const cors = new CorsPolicy(config.staticOrigins, config.clients, handler.preflight);
  const withCors = handler.cors !== false;
  const methods = withCors ? METHODS : 'POST';
  return async (req, res) => {
    if (req.method === 'OPTIONS' && withCors) {
      await cors.answerPreflight(req, res);
      return;
    }
    const state: RequestState = { trail: {} };
    let outcome: { body: unknown } | { refusal: unknown };
    try {
      // 1. Method, content type, body size and parse.
      if (req.method !== 'POST') throw new RequestError('method_not_allowed', { allow: methods });
      if (!isFormUtf8(req.headers['content-type'])) throw new RequestError('unsupported_content_type');
      const form = await readFormParams(req, handler.parameters, config.bodyLimit);
      outcome = { body: await handler.handle(form, state, req.headers.authorization, req) };
    } catch (refusal) {
      outcome = { refusal };
    }
    // Decided after the request, so a registry's client is allowed from its own origins.
    if (withCors) await cors.applyToResponse(req, res, state.client, handler.exposeHeaders);
    for (const [name, value] of Object.entries(state.headers ?? {})) res.setHeader(name, value);
    if ('body' in outcome) {
      if (outcome.body === undefined) sendEmptyJsonOk(res);
      else sendJson(res, 200, outcome.body);
      return;
    }
    // RFC 6749 §5.2: a client that tried HTTP Basic gets a Basic challenge with its 401.
    const basicTried = readBasicCredentials(req.headers.authorization) !== undefined;
    const { status, error, reason } = sendRejection(res, config, outcome.refusal, basicTried);
    config.emit({
      type: 'request_rejected',
      endpoint: handler.endpoint,
      reason,
      status,
      error,
      ...detachedTrail(state.trail),
    });
  };
}

/**
 * The trail as the event carries it: its client_id and grant_type were cut from the request's
 * body, and a host may keep events; copies keep the body (and its secrets) out of them.
 */
function detachedTrail(trail: RequestTrail): RequestTrail {
  const detached: RequestTrail = { ...trail };
  if (trail.clientId !== undefined) detached.clientId = detachedCopy(trail.clientId);
  if (trail.grantType !== undefined) detached.grantType = detachedCopy(trail.grantType) as GrantType;
  return detached;
}
