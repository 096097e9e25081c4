import type { Request, Response } from 'express';
import type { RouterConfig } from '../config/configuration.js';
import { answerFor } from '../response/error-profiles.js';
import { sendCacheableJson, sendError } from '../response/respond.js';

/** RFC 9110 §9.3.2: whatever answers GET answers HEAD the same way, without a body. */
const METHODS = 'GET, HEAD';

/**
 * A `GET` (and `HEAD`) endpoint serving a public, cacheable JSON document (the JWKS, the
 * discovery metadata), readable from any origin. `load` asks the key store; when it fails, or gives something that
 * cannot be served, the answer is 503 `temporarily_unavailable`.
 */
export function publicJsonEndpoint(
  config: RouterConfig,
  load: () => Promise<unknown>,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, answerFor(config.errorProfile, 'method_not_allowed'), { realm: config.issuer, allow: METHODS });
      return;
    }
    let payload: string;
    try {
      payload = JSON.stringify(await load());
    } catch {
      sendError(res, answerFor(config.errorProfile, 'key_unavailable'), { realm: config.issuer });
      return;
    }
    // Caches may keep it `jwksMaxAge` seconds, which is why a new key is published before it signs.
    sendCacheableJson(req, res, payload, config.jwksMaxAge);
  };
}
