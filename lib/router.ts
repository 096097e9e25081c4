import express, { type Router } from 'express';
import { type RouterConfig, resolveOptions } from './config/configuration.js';
import type { TokenRouterOptions } from './config/options.js';
import { discoveryEndpoint } from './endpoints/discovery.js';
import { introspectionEndpoint } from './endpoints/introspection.js';
import { jwksEndpoint } from './endpoints/jwks.js';
import { logoutEndpoint } from './endpoints/logout.js';
import { revocationEndpoint } from './endpoints/revocation.js';
import { tokenEndpoint } from './endpoints/token.js';
import { userInfoEndpoint } from './endpoints/userinfo.js';
import { answerFor } from './response/error-profiles.js';
import { sendError } from './response/respond.js';
import { MemoryCodeStore } from './stores/memory/memory-code-store.js';
import { MemoryRefreshTokenStore } from './stores/memory/memory-refresh-token-store.js';

type Endpoint = (req: express.Request, res: express.Response, next: express.NextFunction) => Promise<void>;

/**
 * An Express router serving the token endpoint and, unless turned off, the JWKS, revocation and
 * discovery endpoints at the configured paths. It answers only its own paths, with its own body
 * parser, CORS and error answers; every other request passes through to the host app untouched.
 */
export function createTokenRouter(options: TokenRouterOptions): Router {
  const config = resolveOptions(options);
  const warnOnce = productionWarning(config);
  const token = tokenEndpoint(config);
  const endpoints = new Map<string, Endpoint>([
    [
      config.tokenPath,
      (req, res) => {
        warnOnce(req.app.get('env'));
        return token(req, res);
      },
    ],
  ]);
  if (config.jwksPath !== false) endpoints.set(config.jwksPath, jwksEndpoint(config));
  if (config.revocationPath !== false) endpoints.set(config.revocationPath, revocationEndpoint(config));
  if (config.introspectionPath !== false) {
    endpoints.set(config.introspectionPath, introspectionEndpoint(config, config.introspectionPath));
  }
  if (config.logout !== undefined) endpoints.set(config.logout.path, logoutEndpoint(config, config.logout.endSession));
  if (config.userInfo !== undefined)
    endpoints.set(config.userInfo.path, userInfoEndpoint(config, config.userInfo.lookup));
  const discovery = discoveryEndpoint(config);
  if (config.discoveryPath !== false) endpoints.set(config.discoveryPath, discovery);
  if (config.authorizationServerMetadataPath !== false)
    endpoints.set(config.authorizationServerMetadataPath, discovery);
  // RFC 8414 §3.1's location for an issuer with a path lies outside the router's mount; a host
  // routes it here (docs/discovery.md "RFC 8414 metadata"), so it is matched on the whole path.
  const byWholePath = new Map<string, Endpoint>();
  if (config.authorizationServerMetadataLocation !== undefined) {
    byWholePath.set(config.authorizationServerMetadataLocation, discovery);
  }
  const router = express.Router();
  router.use((req, res, next) => {
    const endpoint = endpoints.get(req.path) ?? byWholePath.get(`${req.baseUrl}${req.path}`);
    if (endpoint === undefined) {
      next();
      return;
    }
    // The host's `x-powered-by` setting (Express sets the header before any router runs) is its
    // own: the router's answers leave it out, without touching the setting.
    res.removeHeader('X-Powered-By');
    // `next` only for what a host callback (endSession) throws: the host's own errors.
    endpoint(req, res, next).catch(() => answerUnexpectedFailure(config, res));
  });
  return router;
}

/**
 * The endpoints answer every failure they foresee; this is the net under them, so nothing can
 * reach the host's error handlers or end the process as an unhandled rejection.
 */
function answerUnexpectedFailure(config: RouterConfig, res: express.Response): void {
  if (res.headersSent) res.destroy();
  else sendError(res, answerFor(config.errorProfile, 'store_unavailable'), { realm: config.issuer });
}

/**
 * The in-process stores are single-process by nature; say so once if the host runs in
 * production. The host's own `env` setting is read, never changed.
 */
function productionWarning(config: RouterConfig): (env: unknown) => void {
  let checked = false;
  return (env) => {
    if (checked) return;
    checked = true;
    if (env !== 'production') return;
    const inMemory = [
      config.codeStore instanceof MemoryCodeStore ? 'MemoryCodeStore' : undefined,
      config.refreshTokenStore instanceof MemoryRefreshTokenStore ? 'MemoryRefreshTokenStore' : undefined,
    ].filter((name) => name !== undefined);
    if (inMemory.length > 0) {
      process.emitWarning(
        `${inMemory.join(' and ')} keep state in this process only: it is lost on restart and not shared between instances. Use a shared store in production.`,
        { code: 'PKCE_TOKEN_ROUTER_MEMORY_STORE' },
      );
    }
  };
}
