import type { Request, Response } from 'express';
import { answerFor } from './error-profiles.js';
import type { RouterConfig } from './options.js';
import { sendCacheableJson, sendError } from './respond.js';

/**
 * `GET {jwksPath}`: the public keys, readable from any origin (they are public by definition).
 * Caches may keep them `jwksMaxAge` seconds, which is why a new key is published before it signs.
 */
export function jwksEndpoint(config: RouterConfig): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method !== 'GET') {
      sendError(res, answerFor(config.errorProfile, 'method_not_allowed'), 'GET');
      return;
    }
    let jwks: unknown;
    try {
      jwks = await config.keyStore.publicJwks();
    } catch {
      sendError(res, answerFor(config.errorProfile, 'key_unavailable'));
      return;
    }
    sendCacheableJson(req, res, jwks, config.jwksMaxAge);
  };
}
