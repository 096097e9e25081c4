import express from 'express';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { baseUrl, WEB_CALLBACK_PATH, WEB_CLIENT_ID, WEB_HOME_PATH } from './clients.js';
import { createCookieMap } from './cookie-map.js';
import { sendPage } from './pages.js';
import { renderRelyingPartyError, renderRelyingPartyHome, renderRelyingPartySignedIn } from './relying-party-pages.js';

const SCOPE = 'openid profile email';
/** A sign-in left unfinished longer than the code's own lifetime (600 s) cannot finish anyway. */
const SIGN_IN_TTL_SECONDS = 600;
const SESSION_TTL_SECONDS = 3600;

/**
 * The demo web app: a server-side relying party built on openid-client, the way a web app
 * would use this product. It is a separate application that happens to share the process: it
 * reaches the token endpoint over HTTP at the issuer's URL, like any client.
 *
 * `GET /rp/` home or signed-in page · `GET /rp/login` starts a sign-in · `GET /rp/callback` the
 * redirect URI · `POST /rp/logout` ends the web app's own session, then sends the browser to the
 * host's logout endpoint (RP-Initiated Logout 1.0), which ends the host session and sends it back.
 *
 * @param {object} options
 * @param {string} options.issuer  the authorization server's issuer; its endpoints are below it
 * @param {string} [options.clientId]  default `example-web`
 * @param {string} options.clientSecret  its client secret: it authenticates with client_secret_basic (RFC 6749 §2.3.1)
 * @param {string} [options.appBaseUrl]  where this web app is served, for its redirect URI; default the issuer's base URL
 */
export function relyingPartyRoutes({ issuer, clientId = WEB_CLIENT_ID, clientSecret, appBaseUrl = baseUrl(issuer) }) {
  const redirectUri = `${baseUrl(appBaseUrl)}${WEB_CALLBACK_PATH}`;
  const postLogoutRedirectUri = `${baseUrl(appBaseUrl)}${WEB_HOME_PATH}`;
  const secure = redirectUri.startsWith('https:');
  const pendingSignIns = createCookieMap({
    name: 'example_rp_signin',
    path: '/rp',
    ttlSeconds: SIGN_IN_TTL_SECONDS,
    secure,
  });
  const sessions = createCookieMap({ name: 'example_rp_sid', path: '/rp', ttlSeconds: SESSION_TTL_SECONDS, secure });
  const configuration = lazyConfiguration({ issuer, clientId, clientSecret, redirectUri });

  const router = express.Router();

  router.get('/rp/', (req, res) => {
    const session = sessions.get(req);
    sendPage(res, 200, session === undefined ? renderRelyingPartyHome() : renderRelyingPartySignedIn(session));
  });

  router.get(
    '/rp/login',
    handle(async (req, res) => {
      const config = await configuration();
      // RFC 7636 §4.1–4.2 and OIDC Core §3.1.2.1: a fresh verifier, state and nonce per sign-in,
      // kept on the server; the browser carries only the random id of this pending sign-in.
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      pendingSignIns.put(req, res, { verifier, state, nonce });
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: SCOPE,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      res.set('Cache-Control', 'no-store').redirect(302, url.href);
    }),
  );

  router.get(
    WEB_CALLBACK_PATH,
    handle(async (req, res) => {
      // One use only: a reloaded or replayed callback finds nothing to finish.
      const pending = pendingSignIns.take(req, res);
      if (pending === undefined) {
        const description = 'no sign-in of this browser is waiting here (it expired, finished, or was never started)';
        sendPage(res, 400, renderRelyingPartyError({ error: 'no_pending_sign_in', description }));
        return;
      }
      // The URL the authorization server sent the browser to, rebuilt from our own redirect URI
      // rather than from Host headers: openid-client sends it (without the query) as redirect_uri.
      const currentUrl = new URL(redirectUri);
      currentUrl.search = new URL(req.originalUrl, redirectUri).search;
      let tokens;
      try {
        tokens = await oidc.authorizationCodeGrant(await configuration(), currentUrl, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        const refusal = describeRefusal(error);
        if (refusal === undefined) throw error;
        sendPage(res, 400, renderRelyingPartyError(refusal));
        return;
      }
      sessions.put(req, res, {
        // Kept on the server, for the logout's id_token_hint; the pages show claims only.
        idToken: tokens.id_token,
        idTokenClaims: tokens.claims(),
        accessTokenClaims: decodeJwt(tokens.access_token),
        scope: tokens.scope,
        tokenType: tokens.token_type,
        expiresIn: tokens.expiresIn(),
      });
      // Post/redirect/get: the code leaves the address bar and the history.
      res.set('Cache-Control', 'no-store').redirect(303, '/rp/');
    }),
  );

  router.post(
    '/rp/logout',
    handle(async (req, res) => {
      const session = sessions.get(req);
      sessions.drop(req, res);
      if (session === undefined) {
        res.redirect(303, WEB_HOME_PATH);
        return;
      }
      // The end_session_endpoint of discovery, with client_id, the ID token as a hint and where
      // to come back (registered on the client as a postLogoutRedirectUri).
      const url = oidc.buildEndSessionUrl(await configuration(), {
        id_token_hint: session.idToken,
        post_logout_redirect_uri: postLogoutRedirectUri,
      });
      res.set('Cache-Control', 'no-store').redirect(303, url.href);
    }),
  );

  return router;
}

/**
 * openid-client's `Configuration`, made on first use (by discovery) and kept.
 */
function lazyConfiguration({ issuer, clientId, clientSecret, redirectUri }) {
  const clientMetadata = {
    redirect_uris: [redirectUri],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
  const execute = [
    // Check the ID token's signature against the JWKS too. Over https a client may skip this
    // (OIDC Core §3.1.3.7), but the demo runs on plain http, where only the signature vouches.
    oidc.enableNonRepudiationChecks,
    // openid-client refuses plain http by default, rightly. The example app runs on
    // http://localhost, where there is no TLS to be had, so allow http for a loopback issuer
    // and for nothing else: any other issuer must be https (the token router insists too).
    ...(isLoopbackHttp(issuer) ? [oidc.allowInsecureRequests] : []),
  ];

  function configure() {
    // A confidential client: its secret in a Basic header (RFC 6749 §2.3.1) on the token and
    // revocation requests; PKCE still binds the code to the sign-in that asked for it.
    return oidc.discovery(new URL(issuer), clientId, clientMetadata, oidc.ClientSecretBasic(clientSecret), {
      execute,
    });
  }

  let made;
  return () => {
    // A failed attempt is not kept, so the next request tries again (as discovery would need).
    made ??= configure().catch((error) => {
      made = undefined;
      throw error;
    });
    return made;
  };
}

function isLoopbackHttp(issuer) {
  const { protocol, hostname } = new URL(issuer);
  return protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
}

/** openid-client's codes for a response that failed a check, and how this page names them. */
const CHECK_FAILURES = {
  OAUTH_INVALID_RESPONSE: 'invalid_response',
  OAUTH_JWT_CLAIM_COMPARISON_FAILED: 'invalid_id_token',
  OAUTH_JWT_TIMESTAMP_CHECK_FAILED: 'invalid_id_token',
  OAUTH_KEY_SELECTION_FAILED: 'invalid_id_token',
};

/**
 * A refusal worth showing the user, from an openid-client error: the server's own error
 * (at the callback or at the token endpoint), or a check of the response that failed.
 * Anything else (the token endpoint unreachable, a bug) is left to the host's error handler.
 */
function describeRefusal(error) {
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError) {
    return { error: error.error, description: error.error_description };
  }
  // A 401 carries a challenge (RFC 9110 §15.5.2), which openid-client reports before the body;
  // the router's challenge repeats the body's error (docs/contract.md "Errors").
  const challenge =
    error instanceof oidc.WWWAuthenticateChallengeError
      ? error.cause.find((c) => typeof c.parameters.error === 'string')
      : undefined;
  if (challenge !== undefined)
    return { error: challenge.parameters.error, description: challenge.parameters.error_description };
  const code =
    error instanceof oidc.ClientError && Object.hasOwn(CHECK_FAILURES, error.code)
      ? CHECK_FAILURES[error.code]
      : undefined;
  if (code === undefined) return undefined;
  // openid-client's own message is generic; its cause says which check failed.
  return { error: code, description: error.cause instanceof Error ? error.cause.message : error.message };
}

/** Pass a rejected promise to Express's error handling (Express 4 does not on its own). */
function handle(handler) {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}
