import type { Request, Response } from 'express';
import type { ClientRegistry } from './adapters/interfaces.js';

/**
 * CORS for the token endpoint (SPEC "Browsers and apps"): an allowed origin is echoed back,
 * never `*` and never with credentials; `null` is never allowed.
 */
export class CorsPolicy {
  readonly #origins: ReadonlySet<string>;
  readonly #registry: ClientRegistry | undefined;

  constructor(origins: ReadonlySet<string>, registry: ClientRegistry | undefined) {
    this.#origins = origins;
    this.#registry = registry;
  }

  async isAllowed(origin: string): Promise<boolean> {
    if (origin === 'null') return false;
    if (this.#origins.has(origin)) return true;
    if (this.#registry?.isAllowedOrigin === undefined) return false;
    try {
      return (await this.#registry.isAllowedOrigin(origin)) === true;
    } catch {
      // An unreachable registry allows nothing extra; the request itself still gets its answer.
      return false;
    }
  }

  /** Add the CORS headers an actual (non-preflight) request gets. */
  async applyToResponse(req: Request, res: Response): Promise<void> {
    res.vary('Origin');
    const origin = req.headers.origin;
    if (origin !== undefined && (await this.isAllowed(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
    }
  }

  /** Answer a preflight: 204, with CORS headers only for an allowed origin. */
  async answerPreflight(req: Request, res: Response): Promise<void> {
    res.vary('Origin');
    const origin = req.headers.origin;
    if (origin !== undefined && (await this.isAllowed(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.statusCode = 204;
    res.end();
  }
}
