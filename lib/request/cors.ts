import type { Request, Response } from 'express';
import type { Client, ClientRegistry } from '../contracts.js';
import { clientOrigins } from './origins.js';

/** What a preflight from an allowed origin is told the endpoint takes. */
export interface PreflightAnswer {
  /** `Access-Control-Allow-Methods`. */
  methods: string;
  /** `Access-Control-Allow-Headers`. */
  headers: string;
}

const FORM_POST: PreflightAnswer = { methods: 'POST', headers: 'Content-Type' };

/**
 * CORS for the form-POST endpoints (and UserInfo, whose preflight also allows GET and Authorization) (docs/contract.md "Browsers and apps"): an allowed origin is echoed back,
 * never `*` and never with credentials; `null` is never allowed.
 *
 * Allowed: the configured origins (the router's `allowedOrigins` and, for a client list, its
 * clients' redirect-URI origins and `allowedOrigins`); the origins of the client a request named,
 * once it was found in a registry; and what a registry's `isAllowedOrigin` allows. A form POST
 * is a CORS "simple request" that browsers send without a preflight, so a registry's clients work
 * from their own origins without `isAllowedOrigin`; a preflight, which names no client, is
 * allowed only for the configured origins and `isAllowedOrigin`.
 */
export class CorsPolicy {
  readonly #origins: ReadonlySet<string>;
  readonly #registry: ClientRegistry | undefined;
  readonly #preflight: PreflightAnswer;

  /** `preflight`: what a preflight allows; by default a form POST (the token and revocation endpoints). */
  constructor(
    origins: ReadonlySet<string>,
    registry: ClientRegistry | undefined,
    preflight: PreflightAnswer = FORM_POST,
  ) {
    this.#origins = origins;
    this.#registry = registry;
    this.#preflight = preflight;
  }

  /**
   * Whether `origin` may read the answer. Never throws: whatever fails (a registry's
   * `isAllowedOrigin` throwing or rejecting) allows nothing extra, so the answer, tokens
   * included, is still sent: tokens are delivered or not issued, never issued and lost to a throw.
   */
  async isAllowed(origin: string, client?: Client): Promise<boolean> {
    try {
      if (origin === 'null') return false;
      if (this.#origins.has(origin)) return true;
      // `client` is a record findRegisteredClient checked before anything was spent.
      if (client !== undefined && clientOrigins(client).includes(origin)) return true;
      const registry = this.#registry;
      if (registry === undefined || typeof registry.isAllowedOrigin !== 'function') return false;
      return (await registry.isAllowedOrigin(origin)) === true;
    } catch {
      // An unreachable registry allows nothing extra; the request itself still gets its answer.
      return false;
    }
  }

  /**
   * Add the CORS headers an actual (non-preflight) request gets, once its client is known;
   * `exposeHeaders`, when given, is the answer's `Access-Control-Expose-Headers` for an allowed origin.
   */
  async applyToResponse(
    req: Request,
    res: Response,
    client: Client | undefined,
    exposeHeaders?: string,
  ): Promise<void> {
    res.vary('Origin');
    const origin = req.headers.origin;
    if (typeof origin === 'string' && (await this.isAllowed(origin, client))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      if (exposeHeaders !== undefined) res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
    }
  }

  /** Answer a preflight: 204, with CORS headers only for an allowed origin. */
  async answerPreflight(req: Request, res: Response): Promise<void> {
    res.vary('Origin');
    const origin = req.headers.origin;
    if (typeof origin === 'string' && (await this.isAllowed(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Methods', this.#preflight.methods);
      res.setHeader('Access-Control-Allow-Headers', this.#preflight.headers);
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.statusCode = 204;
    res.end();
  }
}
