import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { answerFor, type ErrorAnswer, type ErrorProfile } from './error-profiles.js';
import { type RejectReason, RequestError } from './request-error.js';

/** docs/contract.md "Success": the content type of every JSON answer, success or error. */
const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/**
 * Write a JSON body with the headers every token answer carries: no caching anywhere
 * (RFC 6749 §5.1). Works the same on Express 4 and 5, and touches no app setting
 * (`res.json` would consult the host's `json spaces` and `json replacer`).
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

/**
 * The revocation answer: 200 with the no-store headers and an empty JSON object. RFC 7009 §2.2
 * has the client ignore the body; `{}` rather than none, because clients that read every answer
 * as JSON (simple-oauth2's strict reader) reject an empty one after the token was revoked.
 */
export function sendEmptyJsonOk(res: Response): void {
  sendJson(res, 200, {});
}

/**
 * Write a public JSON document (JWKS, discovery) that caches may keep for `maxAge` seconds, with a
 * strong `ETag` so a cache can revalidate cheaply: a matching `If-None-Match` gets 304, no body.
 * A `HEAD` gets the same status and headers, `Content-Length` included, and no body (RFC 9110 §9.3.2).
 */
export function sendCacheableJson(req: Request, res: Response, payload: string, maxAge: number): void {
  const etag = `"${createHash('sha256').update(payload).digest('base64url')}"`;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Cache-Control', `public, max-age=${maxAge}`);
  res.setHeader('ETag', etag);
  if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  // Node would drop a HEAD's body by itself; not writing it says so here.
  if (req.method === 'HEAD') res.end();
  else res.end(payload);
}

/** RFC 9110 §13.1.2: `*`, or any listed tag equal by weak comparison. */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** What an error answer needs besides the answer itself. */
export interface ErrorContext {
  /** The realm of a 401's challenge: the issuer. */
  realm: string;
  /** For a 405: the methods the path does allow. */
  allow?: string | undefined;
  /** The client tried HTTP Basic: a 401 challenges `Basic` (RFC 6749 §5.2). */
  basic?: boolean;
}

/**
 * Write an error answer: `{"error", "error_description"}`; for a 405, `Allow`; for a 401, a
 * `WWW-Authenticate` challenge, which RFC 9110 §15.5.2 requires on every 401. Every error the
 * router sends is written here, so no 401 can leave without one.
 */
export function sendError(res: Response, answer: ErrorAnswer, context: ErrorContext): void {
  if (context.allow !== undefined) res.setHeader('Allow', context.allow);
  if (answer.status === 401) {
    res.setHeader(
      'WWW-Authenticate',
      context.basic === true ? basicChallenge(context.realm) : challenge(context.realm, answer),
    );
  }
  sendJson(res, answer.status, { error: answer.error, error_description: answer.description });
}

/**
 * The challenge of a 401 when the client did not use HTTP Basic (RFC 9110 §11.6.1: a scheme,
 * then auth-params). Such a client authenticated with no HTTP scheme (a public client, or one
 * posting its secret or assertion in the body), so RFC 6749 §5.2's rule (answer with the scheme
 * the client used) names none, and any scheme only stands in for the one RFC 9110 requires.
 * `Bearer` is the one that harms no one: a browser answers a `Basic` challenge to a same-origin
 * `fetch` with a sign-in dialog (Fetch §4.5, "HTTP-network-or-cache fetch"), which the `ciam`
 * profile would raise for every wrong code. The challenge carries the body's `error` and
 * description as RFC 6750 §3 attributes, for clients that read challenges rather than bodies
 * (oauth4webapi / openid-client report a challenge first).
 */
function challenge(realm: string, answer: ErrorAnswer): string {
  return `Bearer realm=${quoted(realm)}, error=${quoted(answer.error)}, error_description=${quoted(answer.description)}`;
}

/**
 * RFC 6749 §5.2: "If the client attempted to authenticate via the Authorization request header
 * field, the authorization server MUST … include the WWW-Authenticate response header field
 * matching the authentication scheme used by the client." RFC 7617 §2.1 allows `realm` and
 * `charset` only; the OAuth error is in the body.
 */
function basicChallenge(realm: string): string {
  return `Basic realm=${quoted(realm)}, charset="UTF-8"`;
}

/** RFC 9110 §5.6.4: a quoted-string, `"` and `\` escaped. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * One place turns a refused request into its HTTP answer under the chosen profile. Returns what
 * was answered, for the audit event.
 */
export function sendRejection(
  res: Response,
  config: { errorProfile: ErrorProfile; issuer: string },
  error: unknown,
  basicTried = false,
): { status: number; error: string; reason: RejectReason } {
  // Anything not already a RequestError escaped an adapter: the store is what is unavailable.
  const rejection = error instanceof RequestError ? error : new RequestError('store_unavailable', { cause: error });
  const table = answerFor(config.errorProfile, rejection.reason);
  const answer =
    rejection.detail === undefined ? table : { ...table, description: `${table.description} (${rejection.detail})` };
  sendError(res, answer, { realm: config.issuer, allow: rejection.allow, basic: basicTried });
  return { status: table.status, error: table.error, reason: rejection.reason };
}
