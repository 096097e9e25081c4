import type { NextFunction, Request, Response } from 'express';
import { redirectUriDanger } from '../clients/client-list.js';
import { findRegisteredClient } from '../clients/registry.js';
import type { RouterConfig } from '../config/configuration.js';
import type { EndSession, EndSessionContext } from '../config/options.js';
import { detachedCopy } from '../crypto/detached-string.js';
import { isFormUtf8, type ParsedForm, parseForm, readFormParams } from '../request/form-body.js';
import { CLIENT_ID_PARAMETER, MAX_REDIRECT_URI_LENGTH } from '../request/limits.js';
import type { ErrorAnswer } from '../response/error-profiles.js';
import { RequestError } from '../response/request-error.js';
import { sendError } from '../response/respond.js';
import { verifyIdTokenHint } from './id-token-hint.js';

/*
 * `GET|POST {logoutPath}`: OpenID Connect RP-Initiated Logout 1.0, and the Tencent Cloud CIAM
 * logout API's shape (`client_id`, `logout_redirect_uri`). docs/userinfo-and-logout.md "Logout".
 */

const METHODS = 'GET, POST';

/** The parameters read; others are ignored (`ui_locales`, `logout_hint`: the host's page may read them). */
const PARAMETERS: ReadonlySet<string> = new Set([
  'id_token_hint',
  'client_id',
  'post_logout_redirect_uri',
  'logout_redirect_uri',
  'state',
]);

/** An ID token is a few kilobytes at most; the limit leaves room for large extra claims. */
const MAX_ID_TOKEN_HINT_LENGTH = 8192;
/** RFC 6749 Appendix A.5: state = 1*VSCHAR. */
const STATE_FORMAT = /^[\x20-\x7E]{1,2048}$/;

/** Why a logout request was refused: its answer. Fixed text, never an echo of the request. */
const ANSWERS = {
  method_not_allowed: answer(405, 'invalid_request', 'method not allowed'),
  unsupported_content_type: answer(
    400,
    'invalid_request',
    'content type must be application/x-www-form-urlencoded (UTF-8)',
  ),
  body_too_large: answer(413, 'invalid_request', 'request body too large'),
  malformed: answer(400, 'invalid_request', 'a parameter is repeated or malformed'),
  client_missing: answer(400, 'invalid_request', 'client_id or id_token_hint is required'),
  client_unknown: answer(400, 'invalid_request', 'client_id is missing or invalid'),
  hint_invalid: answer(400, 'invalid_request', 'id_token_hint is invalid'),
  hint_client_mismatch: answer(400, 'invalid_request', 'id_token_hint was not issued to client_id'),
  redirect_conflict: answer(400, 'invalid_request', 'post_logout_redirect_uri and logout_redirect_uri differ'),
  redirect_unregistered: answer(400, 'invalid_request', 'post_logout_redirect_uri is not registered for the client'),
  unavailable: answer(503, 'temporarily_unavailable', 'try again later'),
} as const satisfies Record<string, ErrorAnswer>;

type Refusal = keyof typeof ANSWERS;

class LogoutRefused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal);
  }
}

function answer(status: number, error: string, description: string): ErrorAnswer {
  return { status, error, description };
}

/** The logout endpoint, ending the session through the host's `endSession`. */
export function logoutEndpoint(config: RouterConfig, endSession: EndSession) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    let context: EndSessionContext;
    try {
      context = await checkRequest(config, req);
    } catch (error) {
      const refusal = error instanceof LogoutRefused ? error.refusal : refusalOf(error);
      sendError(res, ANSWERS[refusal], {
        realm: config.issuer,
        allow: refusal === 'method_not_allowed' ? METHODS : undefined,
      });
      return;
    }
    try {
      await endSession(req, res, context);
    } catch (error) {
      // The host's own code failed: its error handlers, not a router answer, deal with it (and
      // log it). The router adds nothing of its own to what they send.
      next(error);
      return;
    }
    // Copies: the values were cut from the request, and a host may keep events (crypto/detached-string.ts).
    config.emit({
      type: 'session_ended',
      clientId: detachedCopy(context.clientId),
      ...(context.subject === undefined ? {} : { subject: detachedCopy(context.subject) }),
      redirected: context.redirectTo !== undefined,
    });
    if (res.headersSent || res.writableEnded) return;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    res.setHeader('Content-Length', 0);
    if (context.redirectTo === undefined) {
      // Signed out, nowhere to go: the host's endSession renders a page if it wants one.
      res.statusCode = 204;
    } else {
      // 303: the browser follows with a GET, whether the logout came as a GET or a POST.
      res.statusCode = 303;
      res.setHeader('Location', context.redirectTo);
    }
    res.end();
  };
}

/** What the token endpoint's helpers refused with, as a logout answer. */
function refusalOf(error: unknown): Refusal {
  if (!(error instanceof RequestError)) return 'unavailable';
  switch (error.reason) {
    case 'body_too_large':
      return 'body_too_large';
    case 'body_malformed':
      return 'malformed';
    case 'client_unknown':
      return 'client_unknown';
    default:
      // store_unavailable, key_unavailable, client_record_invalid.
      return 'unavailable';
  }
}

/** The request checked, in RP-Initiated Logout 1.0 §2 and §3's order; throws a LogoutRefused. */
async function checkRequest(config: RouterConfig, req: Request): Promise<EndSessionContext> {
  const form = await readParameters(config, req);
  for (const name of PARAMETERS) if (form.ambiguous.has(name)) throw new LogoutRefused('malformed');
  // Empty counts as missing, as on the token endpoint (docs/contract.md "Request").
  const param = (name: string): string | undefined => (form.params[name] === '' ? undefined : form.params[name]);
  const [hint, clientIdParam, state] = [param('id_token_hint'), param('client_id'), param('state')];
  // The CIAM logout API names it `logout_redirect_uri`; sent both ways it must say one thing.
  const post = param('post_logout_redirect_uri');
  const vendor = param('logout_redirect_uri');
  if (post !== undefined && vendor !== undefined && post !== vendor) throw new LogoutRefused('redirect_conflict');
  const redirectUri = post ?? vendor;
  if (clientIdParam !== undefined && !CLIENT_ID_PARAMETER.test(clientIdParam))
    throw new LogoutRefused('client_unknown');
  if (hint !== undefined && hint.length > MAX_ID_TOKEN_HINT_LENGTH) throw new LogoutRefused('hint_invalid');
  if (state !== undefined && !STATE_FORMAT.test(state)) throw new LogoutRefused('malformed');
  if (redirectUri !== undefined && redirectUri.length > MAX_REDIRECT_URI_LENGTH) {
    throw new LogoutRefused('redirect_unregistered');
  }

  let clientId = clientIdParam;
  let subject: string | undefined;
  if (hint !== undefined) {
    // §2: "the OP MUST validate that it was the issuer of the ID Token".
    const verified = await verifyIdTokenHint(hint, config.keyStore, config.issuer);
    if (verified === undefined) throw new LogoutRefused('hint_invalid');
    if (clientId === undefined) {
      // §2: client_id may be left out when the hint names its client.
      clientId = verified.authorizedParty ?? (verified.audience.length === 1 ? verified.audience[0] : undefined);
      if (clientId === undefined || !CLIENT_ID_PARAMETER.test(clientId)) throw new LogoutRefused('hint_invalid');
    } else if (!verified.audience.includes(clientId)) {
      // §2: "the OP MUST verify that the Client Identifier matches the one used when issuing the ID Token".
      throw new LogoutRefused('hint_client_mismatch');
    }
    subject = verified.subject;
  }
  if (clientId === undefined) throw new LogoutRefused('client_missing');

  const client = await findRegisteredClient(config.clients, clientId);
  const context: EndSessionContext = { clientId };
  if (subject !== undefined) context.subject = subject;
  if (redirectUri !== undefined) {
    // §3: redirect only to a URI "previously registered", compared exactly; without a client
    // list nothing is registered, so nothing is redirected to.
    if (client?.postLogoutRedirectUris?.includes(redirectUri) !== true)
      throw new LogoutRefused('redirect_unregistered');
    // A registry's records are not checked when the router starts (a clients array is): a URI
    // that would run script, has a fragment or cannot be parsed is never redirected to.
    if (!URL.canParse(redirectUri) || redirectUriDanger(redirectUri, true) !== undefined) {
      throw new LogoutRefused('redirect_unregistered');
    }
    // As the URL parser writes it: percent-encoded, so any registered URI is a valid Location
    // header (RFC 9110 §10.2.2), and checked before endSession runs.
    const target = new URL(redirectUri).href;
    context.redirectTo = state === undefined ? target : withState(target, state);
  }
  return context;
}

/** §3: "state … passed back to the RP … as a query parameter", after any query the URI has. */
function withState(uri: string, state: string): string {
  const query = new URLSearchParams({ state }).toString();
  return `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
}

/**
 * §2: "The OP MUST support the use of the HTTP GET and POST methods". A GET's parameters are
 * read from the raw query (not the host's query parser, whose settings are its own); a POST's
 * from the form body, with the router's own parser and limit.
 */
async function readParameters(config: RouterConfig, req: Request): Promise<ParsedForm> {
  // Not HEAD: a HEAD is asked for headers, and must not sign anyone out (RFC 9110 §9.2.1).
  if (req.method === 'GET') {
    const start = req.url.indexOf('?');
    return parseForm(start === -1 ? '' : req.url.slice(start + 1), PARAMETERS);
  }
  if (req.method !== 'POST') throw new LogoutRefused('method_not_allowed');
  if (!isFormUtf8(req.headers['content-type'])) throw new LogoutRefused('unsupported_content_type');
  return readFormParams(req, PARAMETERS, config.bodyLimit);
}
