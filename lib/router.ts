import express, { type Router } from 'express';
import { MemoryCodeStore } from './adapters/memory-code-store.js';
import { MemoryRefreshTokenStore } from './adapters/memory-refresh-token-store.js';
import { jwksEndpoint } from './jwks-endpoint.js';
import { resolveOptions, type RouterConfig, type TokenRouterOptions } from './options.js';
import { tokenEndpoint } from './token-endpoint.js';

/**
 * An Express router serving the token endpoint and the JWKS endpoint at the configured paths.
 * It answers only its own paths, with its own body parser, CORS and error answers; every other
 * request passes through to the host app untouched.
 */
export function createTokenRouter(options: TokenRouterOptions): Router {
  const config = resolveOptions(options);
  const token = tokenEndpoint(config);
  const jwks = config.jwksPath === false ? undefined : jwksEndpoint(config);
  const warnOnce = productionWarning(config);
  const router = express.Router();
  router.use((req, res, next) => {
    if (req.path === config.tokenPath) {
      warnOnce(req.app.get('env'));
      void token(req, res);
    } else if (jwks !== undefined && req.path === config.jwksPath) {
      void jwks(req, res);
    } else {
      next();
    }
  });
  return router;
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
