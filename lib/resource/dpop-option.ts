import type { Request } from 'express';
import { ConfigurationError } from '../config/configuration-error.js';
import { dpopAlgorithmsOption, dpopNoncesOption } from '../config/dpop-options.js';
import { boundedPositiveInteger, checkOptionsObject, invalidOption } from '../config/option-checks.js';
import type { Clock, ReplayStore } from '../contracts.js';
import type { DpopNonces } from '../dpop/nonce.js';
import { dpopHeaderValues } from '../dpop/proof-header.js';
import { type DpopProof, verifyDpopProof } from '../dpop/verify-proof.js';

/** The `dpop` option of `requireAccessToken`: how proofs (RFC 9449 §4, §7.1) are checked. */
export interface ResourceDpopOptions {
  /**
   * The API's public origin, as clients call it (`https://api.example.com`): a proof's `htu` must be
   * this origin and the request's path (RFC 9449 §4.3 check 9). Never read from `Host` or
   * `X-Forwarded-*`, which the client controls.
   */
  publicOrigin: string;
  /** Where proof `jti`s are remembered (§11.1): a code store shipped with the router, shared by every instance. */
  replayStore: ReplayStore;
  /** Accepted proof algorithms, asymmetric only (§4.2). Default `DEFAULT_DPOP_ALGORITHMS`. */
  algorithms?: readonly string[];
  /** How long after its `iat` a proof is accepted, in seconds (§11.1). Default 300, at most 3600. */
  maxAge?: number;
  /** How far ahead of the clock a proof's `iat` may be, in seconds. Default 5, at most 300. */
  clockSkew?: number;
  /** Server nonces (§8): a secret of at least 32 bytes shared by every instance, and a lifetime in seconds. */
  nonces?: { secret: Uint8Array; lifetime?: number };
}

/** The checked `dpop` option. */
export interface ResourceDpopConfig {
  publicOrigin: string;
  replayStore: ReplayStore;
  algorithms: readonly string[];
  maxAge: number;
  clockSkew: number;
  nonces: DpopNonces | undefined;
}

const OWNER = 'requireAccessToken';
export const DEFAULT_DPOP_MAX_AGE = 300;
export const DEFAULT_DPOP_CLOCK_SKEW = 5;

/** Check the `dpop` option at creation: every mistake is a ConfigurationError now, not a 500 later. */
export function resolveDpopOption(value: unknown): ResourceDpopConfig | undefined {
  if (value === undefined) return undefined;
  const given = checkOptionsObject(`${OWNER} dpop`, value, [
    'publicOrigin',
    'replayStore',
    'algorithms',
    'maxAge',
    'clockSkew',
    'nonces',
  ]);
  const publicOrigin = originOf(given.publicOrigin);
  const replayStore = given.replayStore as ReplayStore | undefined;
  if (replayStore === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'dpop.replayStore',
      `${OWNER}: option dpop.replayStore is required: the router's code store (every shipped one is a ReplayStore), shared by every instance`,
    );
  }
  if (typeof replayStore !== 'object' || replayStore === null || typeof replayStore.markSeen !== 'function') {
    throw invalidOption('dpop.replayStore', 'a ReplayStore (an object with markSeen)', replayStore, OWNER);
  }
  const maxAge = boundedPositiveInteger(
    given.maxAge,
    'dpop.maxAge',
    DEFAULT_DPOP_MAX_AGE,
    'seconds',
    3600,
    'one hour',
    OWNER,
  );
  const clockSkew = boundedPositiveInteger(
    given.clockSkew,
    'dpop.clockSkew',
    DEFAULT_DPOP_CLOCK_SKEW,
    'seconds',
    300,
    'five minutes',
    OWNER,
  );
  return {
    publicOrigin,
    replayStore: replayStore as ReplayStore,
    algorithms: dpopAlgorithmsOption(given.algorithms, OWNER),
    maxAge,
    clockSkew,
    nonces: dpopNoncesOption(given.nonces, OWNER),
  };
}

function originOf(value: unknown): string {
  if (value === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'dpop.publicOrigin',
      `${OWNER}: option dpop.publicOrigin is required: the API's public origin, e.g. "https://api.example.com"`,
    );
  }
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
  // An origin only: the path of each request is added to it, so a path here would be counted twice.
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.origin !== (value as string).replace(/\/$/, '')
  ) {
    throw invalidOption(
      'dpop.publicOrigin',
      'an http(s) origin without path, query or credentials, e.g. "https://api.example.com"',
      value,
      OWNER,
    );
  }
  return url.origin;
}

/**
 * RFC 9449 §7.1: check the proof of a DPoP-scheme request for `accessToken`. The URL is the public
 * origin and the path the request arrived on (`originalUrl`, so a mounted router's prefix counts),
 * without the query (§4.3 check 9); the method is the request's own.
 */
export function checkResourceProof(
  config: ResourceDpopConfig,
  req: Request,
  accessToken: string,
  now: Clock,
): Promise<DpopProof> {
  const raw = req.originalUrl ?? req.url ?? '/';
  const query = raw.indexOf('?');
  const path = query === -1 ? raw : raw.slice(0, query);
  return verifyDpopProof(dpopHeaderValues(req), {
    method: req.method,
    url: config.publicOrigin + (path.startsWith('/') ? path : `/${path}`),
    accessToken,
    algorithms: config.algorithms,
    maxAge: config.maxAge,
    clockSkew: config.clockSkew,
    now,
    replayStore: config.replayStore,
    nonces: config.nonces,
  });
}
