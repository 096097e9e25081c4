import type { Response } from 'express';
import type { ErrorAnswer } from './error-profiles.js';

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

/** Write an error answer: `{"error", "error_description"}` and, for a 405, `Allow`. */
export function sendError(res: Response, answer: ErrorAnswer, allow?: string): void {
  if (allow !== undefined) res.setHeader('Allow', allow);
  sendJson(res, answer.status, { error: answer.error, error_description: answer.description });
}
