import type { IncomingMessage } from 'node:http';

/**
 * Every value of the request's `DPoP` header, each as it arrived. Node joins repeated unknown
 * headers with ", " in `req.headers`; `headersDistinct` keeps them apart, so two headers are seen
 * as two (RFC 9449 §4.3 check 1: "not more than one DPoP HTTP request header field").
 */
export function dpopHeaderValues(req: IncomingMessage): readonly string[] {
  const distinct = req.headersDistinct?.dpop;
  if (distinct !== undefined) return distinct;
  const joined = req.headers.dpop;
  if (joined === undefined) return [];
  return Array.isArray(joined) ? joined : [joined];
}
