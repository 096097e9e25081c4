import type { ReplayStore } from '../contracts.js';
import { DpopNonces } from '../dpop/nonce.js';
import { DEFAULT_DPOP_ALGORITHMS, DPOP_ALGORITHMS } from '../dpop/verify-proof.js';
import { ConfigurationError } from './configuration-error.js';
import { boundedPositiveInteger, checkOptionsObject, invalidOption } from './option-checks.js';

/** Server nonces at the token endpoint (RFC 9449 §8): see {@link DpopOptions.nonces}. */
export interface DpopNonceOptions {
  /**
   * The secret the nonces are HMACs under: a Uint8Array of at least 32 random bytes, the same on
   * every instance (a nonce one instance issued is accepted by the others, with no store).
   */
  secret: Uint8Array;
  /** How long one nonce is current, in seconds; the previous one is accepted as long again. Default 300, at most 3600. */
  lifetime?: number;
}

/**
 * The router's `dpop` option: DPoP-bound tokens (RFC 9449) at the token endpoint. Without it the
 * router issues Bearer tokens only and ignores a `DPoP` header (docs/dpop.md "Turning it on").
 */
export interface DpopOptions {
  /** Accepted proof algorithms, asymmetric only (RFC 9449 §4.2). Default `DEFAULT_DPOP_ALGORITHMS`. */
  algorithms?: readonly string[];
  /** How long after its `iat` a proof is accepted, in seconds (§11.1). Default 60, at most 300. */
  maxAge?: number;
  /** How far ahead of the router's clock a proof's `iat` may be, in seconds. Default 5, at most 60. */
  clockSkew?: number;
  /** Server nonces (§8): with them, every proof must carry a nonce the router issued. */
  nonces?: DpopNonceOptions;
}

/** The checked `dpop` option, as the token endpoint runs on it. */
export interface DpopConfig {
  algorithms: readonly string[];
  maxAge: number;
  clockSkew: number;
  nonces: DpopNonces | undefined;
  /** Where proof `jti`s are remembered (§11.1): the router's replay store, shared by every instance. */
  replayStore: ReplayStore;
}

export const DEFAULT_TOKEN_DPOP_MAX_AGE = 60;
export const DEFAULT_TOKEN_DPOP_CLOCK_SKEW = 5;
const DEFAULT_NONCE_LIFETIME = 300;

/**
 * Check the `dpop` option: `undefined` when absent (DPoP off). A proof's jti must be remembered
 * by every instance (§11.1), so the router's replay store (the `replayStore` option, or a code
 * store with `markSeen`) is required.
 */
export function resolveDpopOptions(value: unknown, replayStore: ReplayStore | undefined): DpopConfig | undefined {
  if (value === undefined) return undefined;
  const given = checkOptionsObject('createTokenRouter dpop', value, ['algorithms', 'maxAge', 'clockSkew', 'nonces']);
  if (replayStore === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'replayStore',
      'option replayStore is required with dpop: the code store has no markSeen to remember proof jtis in (RFC 9449 §11.1); pass a shipped code store or a ReplayStore',
    );
  }
  return {
    algorithms: dpopAlgorithmsOption(given.algorithms),
    // A token request's proof is made just before it is sent: a minute is room for a slow network,
    // and a shorter window is a shorter replay window (§11.1).
    maxAge: boundedPositiveInteger(
      given.maxAge,
      'dpop.maxAge',
      DEFAULT_TOKEN_DPOP_MAX_AGE,
      'seconds',
      300,
      'five minutes',
    ),
    clockSkew: boundedPositiveInteger(
      given.clockSkew,
      'dpop.clockSkew',
      DEFAULT_TOKEN_DPOP_CLOCK_SKEW,
      'seconds',
      60,
      'one minute',
    ),
    nonces: dpopNoncesOption(given.nonces),
    replayStore,
  };
}

/**
 * A `dpop.algorithms` option (the router's or requireAccessToken's): a non-empty list of the
 * asymmetric algorithms the library knows (RFC 9449 §4.2: never `none`, never symmetric).
 */
export function dpopAlgorithmsOption(value: unknown, owner?: string): readonly string[] {
  const algorithms = value ?? DEFAULT_DPOP_ALGORITHMS;
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    !algorithms.every((alg) => typeof alg === 'string' && DPOP_ALGORITHMS.includes(alg))
  ) {
    throw invalidOption(
      'dpop.algorithms',
      `a non-empty array of asymmetric algorithms among ${DPOP_ALGORITHMS.join(', ')} (RFC 9449 §4.2)`,
      algorithms,
      owner,
    );
  }
  return Object.freeze([...new Set(algorithms as string[])]);
}

/** A `dpop.nonces` option (the router's or requireAccessToken's): `owner` names the function, `undefined` for the router. */
export function dpopNoncesOption(value: unknown, owner?: string): DpopNonces | undefined {
  if (value === undefined) return undefined;
  const given = checkOptionsObject(`${owner ?? 'createTokenRouter'} dpop.nonces`, value, ['secret', 'lifetime']);
  if (!(given.secret instanceof Uint8Array) || given.secret.byteLength < 32) {
    // Never quoted: it is a secret.
    throw invalidOption(
      'dpop.nonces.secret',
      'a Uint8Array of at least 32 random bytes, the same on every instance',
      '(hidden)',
      owner,
    );
  }
  const lifetime = boundedPositiveInteger(
    given.lifetime,
    'dpop.nonces.lifetime',
    DEFAULT_NONCE_LIFETIME,
    'seconds',
    3600,
    'one hour',
    owner,
  );
  // A copy: a host that reuses its buffer cannot change the nonces later.
  return new DpopNonces({ secret: new Uint8Array(given.secret), lifetime });
}
