import type { Request, Response } from 'express';
import { StaticClientRegistry } from '../clients/client-list.js';
import { findRegisteredClient } from '../clients/registry.js';
import type { RouterConfig } from '../config/configuration.js';
import type { UserInfoCallback, UserInfoClaims } from '../config/options.js';
import type { Client } from '../contracts.js';
import { DpopProofError, DpopReplayStoreError } from '../dpop/dpop-error.js';
import { dpopHeaderValues } from '../dpop/proof-header.js';
import { DEFAULT_DPOP_ALGORITHMS, verifyDpopProof } from '../dpop/verify-proof.js';
import { CorsPolicy } from '../request/cors.js';
import { type AuthenticationScheme, challengeHeader, type ResourceErrorCode } from '../resource/challenge.js';
import { DEFAULT_DPOP_CLOCK_SKEW, DEFAULT_DPOP_MAX_AGE } from '../resource/dpop-option.js';
import { refreshFamilyOf, resolveVerifierOptions, verifyWith } from '../resource/verify-access-token.js';
import { RequestError } from '../response/request-error.js';
import { sendJson } from '../response/respond.js';
import { userInfoResponse } from './userinfo-claims.js';
import { userInfoCredentials } from './userinfo-request.js';

/*
 * `GET|POST {userinfoPath}`: the UserInfo endpoint, OpenID Connect Core §5.3, answered per
 * RFC 6750 §3. docs/userinfo-and-logout.md "UserInfo".
 */

const METHODS = 'GET, HEAD, POST, OPTIONS';

/** An answer other than the claims: status, RFC 6750 error (none for §3.1's "no token"), fixed text. */
interface Refusal {
  status: 400 | 401 | 403 | 405 | 413 | 503;
  error: ResourceErrorCode | 'temporarily_unavailable' | undefined;
  description: string;
  /** RFC 9449 §7.2: the token was DPoP-bound and came as Bearer; the answer names the DPoP scheme too. */
  dpopBound?: boolean;
  /** RFC 9449 §7.1: the request used the DPoP scheme; the error goes in the DPoP challenge. */
  dpopScheme?: boolean;
  /** RFC 9449 §8: the nonce for the `DPoP-Nonce` header, with use_dpop_nonce. */
  nonce?: string | undefined;
}

const refusal = (status: Refusal['status'], error: Refusal['error'], description: string): Refusal => ({
  status,
  error,
  description,
});

export function userInfoEndpoint(config: RouterConfig, lookup: UserInfoCallback) {
  // The access tokens this router issues, checked as requireAccessToken checks them.
  const verifier = resolveVerifierOptions(
    {
      keyStore: config.keyStore,
      issuer: config.issuer,
      accessTokenFormat: config.accessTokenFormat,
      audience: config.accessTokenAudience,
      now: config.now,
    },
    'createTokenRouter',
  );
  const cors = new CorsPolicy(config.staticOrigins, config.clients, {
    methods: 'GET, POST',
    headers: 'Authorization, Content-Type, DPoP',
  });
  const realm = config.issuer;
  // RFC 9449 §4.3 check 9: a proof's htu is the endpoint's URL as discovery publishes it.
  const userInfoUrl = `${config.issuer.replace(/\/$/, '')}${config.userInfo?.path ?? ''}`;
  const { replayStore } = config;

  /** RFC 9449 §7.1: a DPoP-scheme request's proof, for this token and its key. A Refusal, or undefined when it passed. */
  async function proofRefusal(req: Request, accessToken: string, boundJkt: string): Promise<Refusal | undefined> {
    if (replayStore === undefined) return undefined;
    const dpop = (status: 401, error: ResourceErrorCode, description: string, nonce?: string): Refusal => ({
      ...refusal(status, error, description),
      dpopScheme: true,
      nonce,
    });
    let jkt: string;
    try {
      ({ jkt } = await verifyDpopProof(dpopHeaderValues(req), {
        method: req.method,
        url: userInfoUrl,
        accessToken,
        algorithms: DEFAULT_DPOP_ALGORITHMS,
        maxAge: DEFAULT_DPOP_MAX_AGE,
        clockSkew: DEFAULT_DPOP_CLOCK_SKEW,
        now: config.now,
        replayStore,
      }));
    } catch (error) {
      if (error instanceof DpopReplayStoreError) return refusal(503, 'temporarily_unavailable', 'try again later');
      if (error instanceof DpopProofError) {
        return dpop(401, error.error, `The DPoP proof is refused (${error.reason})`, error.nonce);
      }
      throw error;
    }
    if (jkt !== boundJkt) {
      return dpop(401, 'invalid_dpop_proof', 'The DPoP proof is signed by a key the access token is not bound to');
    }
    return undefined;
  }

  async function answer(req: Request): Promise<{ claims: Record<string, unknown>; clientId: string } | Refusal> {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
      return refusal(405, 'invalid_request', 'method not allowed');
    }
    let credentials: Awaited<ReturnType<typeof userInfoCredentials>>;
    try {
      credentials = await userInfoCredentials(req, config.bodyLimit);
    } catch (error) {
      if (error instanceof RequestError && error.reason === 'body_too_large') {
        return refusal(413, 'invalid_request', 'request body too large');
      }
      return refusal(400, 'invalid_request', 'request body is not valid form data');
    }
    // RFC 6750 §3.1: "If the request lacks any authentication information … SHOULD NOT include an error code".
    // Without a replay store (a code store without markSeen), no proof can be checked once only:
    // the DPoP scheme is then one this endpoint does not accept.
    if (credentials.kind === 'none' || (credentials.kind === 'dpop' && replayStore === undefined)) {
      return refusal(401, undefined, 'An access token is required');
    }
    if (credentials.kind === 'malformed') return refusal(400, 'invalid_request', credentials.description);
    const dpopScheme = credentials.kind === 'dpop';
    const verified = await verifyWith(verifier, credentials.token);
    if (verified.kind === 'unavailable') return refusal(503, 'temporarily_unavailable', verified.description);
    if (verified.kind === 'invalid') {
      return { ...refusal(401, 'invalid_token', verified.description), dpopScheme };
    }
    if (dpopScheme) {
      // RFC 9449 §7.1: the DPoP scheme is for a DPoP-bound token; an unbound one has no key to match.
      if (verified.dpopJkt === undefined) {
        return {
          ...refusal(401, 'invalid_token', 'The access token is not bound to a DPoP key; present it as Bearer'),
          dpopScheme,
        };
      }
      const refused = await proofRefusal(req, credentials.token, verified.dpopJkt);
      if (refused !== undefined) return refused;
    } else if (verified.dpopJkt !== undefined) {
      // RFC 9449 §7.2: a DPoP-bound access token received as a bearer token is refused.
      return {
        ...refusal(401, 'invalid_token', 'The access token is bound to a DPoP key; present it with a DPoP proof'),
        dpopBound: true,
      };
    }
    // The vendor's revoke API promises that revoking a refresh token revokes its access tokens:
    // one store lookup, where the store can answer it (docs/protecting-an-api.md "Revocation").
    const family = refreshFamilyOf(verified.claims);
    if (family !== undefined && typeof config.refreshTokenStore.isFamilyRevoked === 'function') {
      let revoked: boolean;
      try {
        revoked = (await config.refreshTokenStore.isFamilyRevoked(family)) === true;
      } catch {
        return refusal(503, 'temporarily_unavailable', 'try again later');
      }
      if (revoked) return refusal(401, 'invalid_token', 'The access token was revoked');
    }
    // OIDC Core §5.3: UserInfo answers for tokens of an OpenID Connect request.
    if (!verified.scopes.includes('openid')) {
      return refusal(403, 'insufficient_scope', 'The access token lacks the openid scope');
    }
    let claims: UserInfoClaims | undefined;
    try {
      claims = await lookup(verified.subject, [...verified.scopes]);
    } catch {
      // The host's user lookup failed, as a store can: the client may retry.
      return refusal(503, 'temporarily_unavailable', 'try again later');
    }
    if (claims === undefined || claims === null) {
      return refusal(401, 'invalid_token', "The access token's user is unknown");
    }
    if (typeof claims !== 'object' || Array.isArray(claims)) {
      return refusal(503, 'temporarily_unavailable', 'try again later');
    }
    return { claims: userInfoResponse(verified.subject, verified.scopes, claims), clientId: verified.clientId };
  }

  return async (req: Request, res: Response): Promise<void> => {
    if (req.method === 'OPTIONS') {
      await cors.answerPreflight(req, res);
      return;
    }
    const outcome = await answer(req);
    const client = 'clientId' in outcome ? await clientForCors(config, req, outcome.clientId) : undefined;
    await cors.applyToResponse(req, res, client);
    // A browser client reads the RFC 6750 challenge only if it is exposed to it.
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate, DPoP-Nonce');
    if ('claims' in outcome) {
      let payload: unknown;
      try {
        // What the host gave must be JSON; a BigInt or a cycle is its bug, answered as a failure.
        payload = JSON.parse(JSON.stringify(outcome.claims));
      } catch {
        refuse(res, realm, refusal(503, 'temporarily_unavailable', 'try again later'));
        return;
      }
      sendJson(res, 200, payload);
      return;
    }
    refuse(res, realm, outcome);
  };
}

/**
 * CORS like the token endpoint: a registry's client is allowed from its own origins once found.
 * Looked up only when a browser asks and the configured origins did not already allow it.
 */
async function clientForCors(config: RouterConfig, req: Request, clientId: string): Promise<Client | undefined> {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || config.staticOrigins.has(origin)) return undefined;
  if (config.clients === undefined || config.clients instanceof StaticClientRegistry) return undefined;
  try {
    return await findRegisteredClient(config.clients, clientId);
  } catch {
    return undefined;
  }
}

/** RFC 6750 §3: the challenge with the error (and, for insufficient_scope, the scope needed); the same as JSON. */
function refuse(
  res: Response,
  realm: string,
  { status, error, description, dpopBound, dpopScheme, nonce }: Refusal,
): void {
  if (status === 405) res.setHeader('Allow', METHODS);
  if (nonce !== undefined) res.setHeader('DPoP-Nonce', nonce);
  const errorScheme: AuthenticationScheme = dpopScheme === true ? 'DPoP' : 'Bearer';
  if (
    (status === 401 || status === 403 || (status === 400 && error === 'invalid_request')) &&
    error !== 'temporarily_unavailable'
  ) {
    const challenge = challengeHeader({
      realm,
      schemes: dpopBound === true || dpopScheme === true ? ['Bearer', 'DPoP'] : ['Bearer'],
      ...(dpopScheme === true ? { dpopAlgorithms: DEFAULT_DPOP_ALGORITHMS } : {}),
      ...(error === undefined
        ? {}
        : {
            error: {
              scheme: errorScheme,
              code: error,
              description,
              ...(error === 'insufficient_scope' ? { scope: 'openid' } : {}),
            },
          }),
    });
    res.setHeader('WWW-Authenticate', challenge);
  }
  sendJson(
    res,
    status,
    error === undefined ? { error_description: description } : { error, error_description: description },
  );
}
