import type { Request } from 'express';

/*
 * RFC 6750 §2: where a request carries its access token. Only the Authorization header is
 * accepted (§2.1); a token in the query (§2.3) or a form body (§2.2) is refused, since both end
 * up in logs, histories and caches. The body is looked at only if the host's own parser already
 * read it: this middleware reads no body and installs no parser.
 */

/** What the request carries. */
export type BearerCredentials =
  | { kind: 'token'; token: string }
  /** RFC 9449 §7.1: `Authorization: DPoP <token>`, a token to be presented with a proof. */
  | { kind: 'dpop'; token: string }
  /** RFC 6750 §3.1: no token at all, or an authentication scheme other than Bearer. */
  | { kind: 'none' }
  /** RFC 6750 §3.1 invalid_request: malformed, repeated, or in a place this API refuses. */
  | { kind: 'malformed'; description: string };

/**
 * RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`; the scheme is case-insensitive
 * (RFC 9110 §11.1), and b64token is RFC 6750's character set.
 */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** RFC 9449 §7.1: `"DPoP" 1*SP token68` (RFC 9110 §11.2), the scheme case-insensitive too. */
const DPOP = /^dpop +([A-Za-z0-9\-._~+/]+=*)$/i;
/** Any scheme, for telling "another scheme" (no error code) from a malformed Bearer header. */
const SCHEME = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: |$)/;

/** Read the access token of `req`, per RFC 6750 §2. */
export function bearerCredentials(req: Request): BearerCredentials {
  if (tokenInQuery(req)) {
    return {
      kind: 'malformed',
      description: 'The access token must be sent in the Authorization header, not the query',
    };
  }
  if (tokenInParsedBody(req)) {
    return {
      kind: 'malformed',
      description: 'The access token must be sent in the Authorization header, not the body',
    };
  }
  return authorizationHeaderCredentials(req);
}

/**
 * The token of the request's Authorization header (RFC 6750 §2.1, RFC 9449 §7.1): shared by
 * requireAccessToken and the UserInfo endpoint, which also reads a form body.
 */
export function authorizationHeaderCredentials(req: Request): BearerCredentials {
  const count = authorizationHeaderCount(req);
  if (count === 0) return { kind: 'none' };
  // Node keeps only the first of repeated Authorization headers; the raw headers show them all.
  if (count > 1) return { kind: 'malformed', description: 'The request has more than one Authorization header' };
  const header = req.headers.authorization ?? '';
  const bearer = BEARER.exec(header);
  if (bearer !== null) return { kind: 'token', token: bearer[1] as string };
  const dpop = DPOP.exec(header);
  if (dpop !== null) return { kind: 'dpop', token: dpop[1] as string };
  const scheme = SCHEME.exec(header)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'bearer' && scheme !== 'dpop') return { kind: 'none' };
  return {
    kind: 'malformed',
    description: `The Authorization header is not "${scheme === 'dpop' ? 'DPoP' : 'Bearer'}" and an access token`,
  };
}

/** RFC 6750 §2.3: `access_token` in the query, read from the raw URL (not the host's query parser). */
function tokenInQuery(req: Request): boolean {
  const url = req.originalUrl ?? req.url ?? '';
  const start = url.indexOf('?');
  if (start === -1) return false;
  const query = url.slice(start + 1);
  // The cheap test first: most queries never mention it.
  if (!query.includes('access_token')) return false;
  for (const name of new URLSearchParams(query).keys()) {
    if (name === 'access_token' || name.startsWith('access_token[')) return true;
  }
  return false;
}

/** RFC 6750 §2.2: `access_token` in a body the host's parser already read. */
function tokenInParsedBody(req: Request): boolean {
  const body: unknown = req.body;
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token');
}

function authorizationHeaderCount(req: Request): number {
  if (req.headers.authorization === undefined) return 0;
  let count = 0;
  const raw = req.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    if ((raw[index] as string).length === 13 && (raw[index] as string).toLowerCase() === 'authorization') count++;
  }
  return count;
}
