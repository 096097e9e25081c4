import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { answerFor, type ErrorAnswer, type ErrorProfile } from './error-profiles.js';
import { RequestError, type RejectReason } from './request-error.js';

/** SPEC "Success": the content type of every JSON answer, success or error. */
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

/** A 200 with no body and the no-store headers (RFC 7009 §2.2: the revocation answer). */
export function sendEmptyOk(res: Response): void {
  res.statusCode = 200;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Content-Length', 0);
  res.end();
}

/**
 * Write a public JSON document (JWKS, discovery) that caches may keep for `maxAge` seconds, with a
 * strong `ETag` so a cache can revalidate cheaply: a matching `If-None-Match` gets 304, no body.
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
  res.end(payload);
}

/** RFC 9110 §13.1.2: `*`, or any listed tag equal by weak comparison. */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** Write an error answer: `{"error", "error_description"}` and, for a 405, `Allow`. */
export function sendError(res: Response, answer: ErrorAnswer, allow?: string): void {
  if (allow !== undefined) res.setHeader('Allow', allow);
  sendJson(res, answer.status, { error: answer.error, error_description: answer.description });
}

/**
 * One place turns a refused request into its HTTP answer under the chosen profile. Returns what
 * was answered, for the audit event.
 */
export function sendRejection(
  res: Response,
  profile: ErrorProfile,
  error: unknown,
): { status: number; error: string; reason: RejectReason } {
  // Anything not already a RequestError escaped an adapter: the store is what is unavailable.
  const rejection = error instanceof RequestError ? error : new RequestError('store_unavailable', { cause: error });
  const answer = answerFor(profile, rejection.reason);
  sendError(res, answer, rejection.allow);
  return { status: answer.status, error: answer.error, reason: rejection.reason };
}
