import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ConfigurationError } from '../config/configuration-error.js';
import { booleanOption, checkOptionsObject, invalidOption } from '../config/option-checks.js';
import type { RefreshTokenStore } from '../contracts.js';
import { DpopProofError, DpopReplayStoreError } from '../dpop/dpop-error.js';
import { sendJson } from '../response/respond.js';
import { bearerCredentials } from './bearer-request.js';
import { type AuthenticationScheme, challengeHeader, type ResourceErrorCode } from './challenge.js';
import {
  checkResourceProof,
  type ResourceDpopConfig,
  type ResourceDpopOptions,
  resolveDpopOption,
} from './dpop-option.js';
import {
  refreshFamilyOf,
  resolveVerifierOptions,
  VERIFY_OPTION_NAMES,
  type VerifiedAccessToken,
  type VerifierConfig,
  type VerifyAccessTokenOptions,
  verifyWith,
} from './verify-access-token.js';

/** Options of {@link requireAccessToken}. */
export interface RequireAccessTokenOptions extends VerifyAccessTokenOptions {
  /** Scopes the route needs (RFC 6749 §3.3 scope tokens). Default none: any valid token passes. */
  scopes?: readonly string[];
  /** `'all'` (default): the token must hold every one of `scopes`; `'any'`: at least one. */
  scopeMode?: 'all' | 'any';
  /** The `realm` of the `WWW-Authenticate` challenge (RFC 6750 §3). Default: `issuer`. */
  realm?: string;
  /**
   * `true`: refuse a token whose refresh-token family was revoked, with one
   * `refreshTokenStore.isFamilyRevoked()` call a request. Default `false`.
   */
  checkRevocation?: boolean;
  /** The router's refresh-token store; required with `checkRevocation: true`. */
  refreshTokenStore?: RefreshTokenStore;
  /**
   * Accept `Authorization: DPoP <token>` with a proof (RFC 9449 §7.1). Default: not given, and a
   * DPoP-scheme request is answered as an unaccepted scheme (401, no error code).
   */
  dpop?: ResourceDpopOptions;
}

/** What a request that passed {@link requireAccessToken} carries on `req.auth`. */
export interface AccessTokenAuth extends VerifiedAccessToken {}

declare global {
  // Express's own declaration merging point for Request (@types/express-serve-static-core).
  namespace Express {
    interface Request {
      /** The verified access token, set by `requireAccessToken` (pkce-token-router). */
      auth?: AccessTokenAuth;
    }
  }
}

const OPTION_NAMES = [
  ...VERIFY_OPTION_NAMES,
  'scopes',
  'scopeMode',
  'realm',
  'checkRevocation',
  'refreshTokenStore',
  'dpop',
] as const;

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** RFC 9110 §5.6.4 quoted-string content without escapes: what a realm may hold here. */
const QUOTABLE = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

interface MiddlewareConfig {
  verifier: VerifierConfig;
  scopes: readonly string[];
  scopeMode: 'all' | 'any';
  realm: string;
  revocationStore: (RefreshTokenStore & Required<Pick<RefreshTokenStore, 'isFamilyRevoked'>>) | undefined;
  dpop: ResourceDpopConfig | undefined;
}

function resolve(options: unknown): MiddlewareConfig {
  const given = checkOptionsObject('requireAccessToken', options, OPTION_NAMES);
  const verifier = resolveVerifierOptions(given, 'requireAccessToken');
  const scopes = given.scopes ?? [];
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope))) {
    throw invalidOption(
      'scopes',
      'an array of scope strings (RFC 6749 §3.3), e.g. ["profile"]',
      scopes,
      'requireAccessToken',
    );
  }
  const scopeMode = given.scopeMode ?? 'all';
  if (scopeMode !== 'all' && scopeMode !== 'any') {
    throw invalidOption('scopeMode', '"all" or "any"', scopeMode, 'requireAccessToken');
  }
  if (scopeMode === 'any' && scopes.length === 0) {
    throw invalidOption(
      'scopeMode',
      'left out when scopes is empty ("any" of none would refuse every token)',
      scopeMode,
      'requireAccessToken',
    );
  }
  const realm = given.realm ?? verifier.issuer;
  if (typeof realm !== 'string' || realm === '' || !QUOTABLE.test(realm)) {
    throw invalidOption('realm', 'a non-empty string of printable ASCII without " or \\', realm, 'requireAccessToken');
  }
  const dpop = resolveDpopOption(given.dpop);
  const checkRevocation = booleanOption(given.checkRevocation, 'checkRevocation', false, 'requireAccessToken');
  const store = given.refreshTokenStore as RefreshTokenStore | undefined;
  if (!checkRevocation) {
    if (store !== undefined) {
      throw invalidOption(
        'refreshTokenStore',
        'given only with checkRevocation: true (it is read for nothing else)',
        store,
        'requireAccessToken',
      );
    }
    return { verifier, scopes: [...scopes], scopeMode, realm, revocationStore: undefined, dpop };
  }
  if (store === undefined || store === null) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'refreshTokenStore',
      'requireAccessToken: option refreshTokenStore is required with checkRevocation: true: the refreshTokenStore given to createTokenRouter',
    );
  }
  if (typeof store !== 'object' || store === null || typeof store.isFamilyRevoked !== 'function') {
    throw invalidOption(
      'refreshTokenStore',
      'a refresh-token store with isFamilyRevoked() for checkRevocation (the memory, Redis and PostgreSQL stores have it)',
      store,
      'requireAccessToken',
    );
  }
  return {
    verifier,
    scopes: [...scopes],
    scopeMode,
    realm,
    revocationStore: store as MiddlewareConfig['revocationStore'],
    dpop,
  };
}

/**
 * Express middleware for the host's own API routes (RFC 6750): the request must carry, in its
 * Authorization header, an access token the router issued, holding `scopes`; the verified token
 * goes on `req.auth`. Every refusal is answered here, with the RFC 6750 §3 challenge and a JSON
 * body; nothing reaches the host's error handler. Options are checked now, at creation.
 */
export function requireAccessToken(options: RequireAccessTokenOptions): RequestHandler {
  const config = resolve(options);
  return (req: Request, res: Response, next: NextFunction): void => {
    guard(config, req, res, next).catch(() => {
      // Nothing in guard rejects by design; should something, the answer is still RFC 6750's.
      if (!res.headersSent) unavailable(res, 'The access token could not be checked; try again later');
    });
  };
}

async function guard(config: MiddlewareConfig, req: Request, res: Response, next: NextFunction): Promise<void> {
  const credentials = bearerCredentials(req);
  // RFC 9449 §7.1: without the dpop option, the DPoP scheme is one this middleware does not
  // accept (RFC 6750 §3.1, no error code).
  if (credentials.kind === 'none' || (credentials.kind === 'dpop' && config.dpop === undefined)) {
    // RFC 6750 §3.1: a request with no authentication information gets no error code.
    refuse(res, config, 401, undefined, 'An access token is required');
    return;
  }
  if (credentials.kind === 'malformed') {
    refuse(res, config, 400, 'invalid_request', credentials.description);
    return;
  }
  // The scheme whose challenge carries the error: the one the request used (RFC 9449 §7.1).
  const scheme: AuthenticationScheme = credentials.kind === 'dpop' ? 'DPoP' : 'Bearer';
  const verified = await verifyWith(config.verifier, credentials.token);
  if (verified.kind === 'unavailable') {
    unavailable(res, verified.description);
    return;
  }
  if (verified.kind === 'invalid') {
    refuse(res, config, 401, 'invalid_token', verified.description, scheme);
    return;
  }
  const { kind: _kind, ...token } = verified;
  if (scheme === 'Bearer' && token.dpopJkt !== undefined) {
    // RFC 9449 §7.2: a resource that knows DPoP "MUST reject a DPoP-bound access token received
    // as a bearer token": without its proof, a stolen bound token would work anywhere.
    refuse(
      res,
      config,
      401,
      'invalid_token',
      'The access token is bound to a DPoP key; present it with a DPoP proof',
      'Bearer',
      ['Bearer', 'DPoP'],
    );
    return;
  }
  if (scheme === 'DPoP' && config.dpop !== undefined) {
    // RFC 9449 §7.1: the DPoP scheme is for a DPoP-bound token; an unbound one has no key a proof
    // could match, so its proof proves nothing about the token.
    if (token.dpopJkt === undefined) {
      refuse(
        res,
        config,
        401,
        'invalid_token',
        'The access token is not bound to a DPoP key; present it as Bearer',
        'DPoP',
      );
      return;
    }
    if (!(await proofAccepted(config, config.dpop, req, res, credentials.token, token.dpopJkt))) return;
  }
  if (config.revocationStore !== undefined) {
    const family = refreshFamilyOf(token.claims);
    if (family === undefined) {
      refuse(res, config, 401, 'invalid_token', 'The access token names no refresh-token family to check', scheme);
      return;
    }
    let revoked: boolean;
    try {
      revoked = (await config.revocationStore.isFamilyRevoked(family)) === true;
    } catch {
      unavailable(res, 'The revocation of the access token could not be checked; try again later');
      return;
    }
    if (revoked) {
      refuse(res, config, 401, 'invalid_token', 'The access token was revoked', scheme);
      return;
    }
  }
  if (!hasScopes(token.scopes, config)) {
    refuse(res, config, 403, 'insufficient_scope', 'The access token lacks a scope this resource needs', scheme);
    return;
  }
  req.auth = token;
  next();
}

/**
 * RFC 9449 §7.1: the request's proof, for this token (`ath`) and this token's key (`cnf.jkt`).
 * Answers the request and resolves false when refused. The proof itself is never echoed: the
 * answer names only the check that failed.
 */
async function proofAccepted(
  config: MiddlewareConfig,
  dpop: ResourceDpopConfig,
  req: Request,
  res: Response,
  accessToken: string,
  boundJkt: string,
): Promise<boolean> {
  let jkt: string;
  let nextNonce: string | undefined;
  try {
    ({ jkt, nextNonce } = await checkResourceProof(dpop, req, accessToken, config.verifier.now));
  } catch (error) {
    if (error instanceof DpopReplayStoreError) {
      unavailable(res, 'The DPoP proof could not be checked; try again later');
      return false;
    }
    if (error instanceof DpopProofError) {
      // §8: use_dpop_nonce comes with the nonce to use.
      if (error.nonce !== undefined) res.setHeader('DPoP-Nonce', error.nonce);
      refuse(res, config, 401, error.error, proofDescription(error), 'DPoP');
      return false;
    }
    throw error;
  }
  // §7.1 / §6.1: the proof's key must be the key the token is bound to.
  if (jkt !== boundJkt) {
    refuse(
      res,
      config,
      401,
      'invalid_dpop_proof',
      'The DPoP proof is signed by a key the access token is not bound to',
      'DPoP',
    );
    return false;
  }
  if (nextNonce !== undefined) res.setHeader('DPoP-Nonce', nextNonce);
  return true;
}

/** What the client is told of a refused proof: the failed check, in words, never the proof. */
function proofDescription(error: DpopProofError): string {
  if (error.error === 'use_dpop_nonce') return 'Resource server requires nonce in DPoP proof';
  return `The DPoP proof is refused (${error.reason})`;
}

function hasScopes(granted: readonly string[], { scopes, scopeMode }: MiddlewareConfig): boolean {
  if (scopes.length === 0) return true;
  return scopeMode === 'all'
    ? scopes.every((scope) => granted.includes(scope))
    : scopes.some((scope) => granted.includes(scope));
}

/**
 * RFC 6750 §3: the challenge, and the same error as JSON. With no error code (§3.1, no token),
 * the body holds only the description. `scope` on insufficient_scope says what is needed.
 */
function refuse(
  res: Response,
  config: MiddlewareConfig,
  status: 400 | 401 | 403,
  error: ResourceErrorCode | undefined,
  description: string,
  errorScheme: AuthenticationScheme = 'Bearer',
  schemes: readonly AuthenticationScheme[] = config.dpop === undefined ? ['Bearer'] : ['Bearer', 'DPoP'],
): void {
  const challenge = challengeHeader({
    realm: config.realm,
    schemes,
    ...(config.dpop === undefined ? {} : { dpopAlgorithms: config.dpop.algorithms }),
    ...(error === undefined
      ? {}
      : {
          error: {
            scheme: errorScheme,
            code: error,
            description,
            ...(error === 'insufficient_scope' ? { scope: config.scopes.join(' ') } : {}),
          },
        }),
  });
  res.setHeader('WWW-Authenticate', challenge);
  sendJson(
    res,
    status,
    error === undefined ? { error_description: description } : { error, error_description: description },
  );
}

/** A key store or refresh-token store that failed: 503, no challenge (the token was not judged). */
function unavailable(res: Response, description: string): void {
  sendJson(res, 503, { error: 'temporarily_unavailable', error_description: description });
}
