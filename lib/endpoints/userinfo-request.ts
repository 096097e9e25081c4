import type { Request } from 'express';
import { isFormUtf8, readFormParams } from '../request/form-body.js';
import { authorizationHeaderCredentials } from '../resource/bearer-request.js';

/*
 * Where a UserInfo request carries its access token. OIDC Core §5.3.1: "The Access Token … MUST
 * be sent as a Bearer Token, per Section 2 of OAuth 2.0 Bearer Token Usage"; the Authorization
 * header (RFC 6750 §2.1) is recommended, and a POST's form body (§2.2) is accepted too. Not the
 * query (§2.3): it ends up in logs and histories.
 */

/** What the request carries. */
export type UserInfoCredentials =
  | { kind: 'token'; token: string }
  /** RFC 9449 §7.1: `Authorization: DPoP <token>`, a DPoP-bound token to be checked with its proof. */
  | { kind: 'dpop'; token: string }
  /** RFC 6750 §3.1: no authentication information (or another scheme than Bearer). */
  | { kind: 'none' }
  /** RFC 6750 §3.1 invalid_request. */
  | { kind: 'malformed'; description: string };

/** RFC 6750 §2.1's b64token, for a token from the body. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BODY_PARAMETERS: ReadonlySet<string> = new Set(['access_token']);

/** Read the access token of a GET or POST to the UserInfo endpoint. Rejects with a RequestError for a bad body. */
export async function userInfoCredentials(req: Request, bodyLimit: number): Promise<UserInfoCredentials> {
  if (queryHasToken(req.url)) {
    return { kind: 'malformed', description: 'The access token must not be sent in the query' };
  }
  const header = authorizationHeaderCredentials(req);
  // §2.2: only a form-encoded POST body carries a token.
  if (req.method !== 'POST' || !isFormUtf8(req.headers['content-type'])) return header;
  const form = await readFormParams(req, BODY_PARAMETERS, bodyLimit);
  if (form.ambiguous.has('access_token')) {
    return { kind: 'malformed', description: 'The access_token parameter is repeated' };
  }
  const bodyToken = form.params.access_token;
  if (bodyToken === undefined || bodyToken === '') return header;
  // §3.1 invalid_request: "uses more than one method for including an access token".
  if (header.kind !== 'none' || req.headers.authorization !== undefined) {
    return { kind: 'malformed', description: 'The access token must be sent in one place only' };
  }
  if (!B64TOKEN.test(bodyToken)) return { kind: 'malformed', description: 'The access_token parameter is malformed' };
  return { kind: 'token', token: bodyToken };
}

function queryHasToken(url: string): boolean {
  const start = url.indexOf('?');
  if (start === -1 || !url.includes('access_token', start)) return false;
  for (const name of new URLSearchParams(url.slice(start + 1)).keys()) {
    if (name === 'access_token' || name.startsWith('access_token[')) return true;
  }
  return false;
}
