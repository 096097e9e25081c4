import { fileURLToPath } from 'node:url';
import express from 'express';
import { baseUrl, SPA_CALLBACK_PATH, SPA_CLIENT_ID, SPA_HOME_PATH } from './clients.js';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

/**
 * The demo SPA: one static page served at `/spa/` and at its redirect URI, its scripts, and
 * `/spa/config.json` telling it where the issuer's endpoints are (`revocationPath` defaults to the
 * library's `/oauth2/revoke`, `userinfoPath` the router's `/userinfo`). Also the shared stylesheet.
 * `appBaseUrl` is where these routes are served, when that is not the issuer (a test serves
 * the SPA from another origin, so its token request is a real cross-origin one).
 */
export function spaRoutes({
  issuer,
  tokenPath,
  jwksPath,
  revocationPath = '/oauth2/revoke',
  logoutPath = '/logout',
  userinfoPath = '/userinfo',
  appBaseUrl = issuer,
}) {
  const base = baseUrl(issuer);
  const config = {
    issuer,
    clientId: SPA_CLIENT_ID,
    redirectUri: `${baseUrl(appBaseUrl)}${SPA_CALLBACK_PATH}`,
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}${tokenPath}`,
    revocationEndpoint: `${base}${revocationPath}`,
    // RP-Initiated Logout 1.0: the SPA's sign-out ends the host session there, and comes back.
    endSessionEndpoint: `${base}${logoutPath}`,
    userinfoEndpoint: `${base}${userinfoPath}`,
    postLogoutRedirectUri: `${baseUrl(appBaseUrl)}${SPA_HOME_PATH}`,
    jwksUri: `${base}${jwksPath}`,
    // The host's own API (example-app/api-routes.js), served beside the issuer.
    apiEndpoint: `${base}/api/profile`,
    scope: 'openid profile email',
  };
  const pageHeaders = {
    'Cache-Control': 'no-store',
    // Only our own scripts; fetch only to ourselves and the issuer (the same host unless ISSUER says otherwise).
    'Content-Security-Policy': `default-src 'none'; script-src 'self'; connect-src 'self' ${new URL(issuer).origin}; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'X-Frame-Options': 'DENY',
    // The callback URL carries the authorization code until the script removes it.
    'Referrer-Policy': 'no-referrer',
  };
  const sendPublic =
    (name, headers = {}) =>
    (_req, res, next) => {
      res.set({ 'X-Content-Type-Options': 'nosniff', ...headers });
      res.sendFile(name, { root: PUBLIC_DIR }, (error) => {
        if (error && !res.headersSent) next(error);
      });
    };

  const router = express.Router();
  router.get(['/spa/', SPA_CALLBACK_PATH], sendPublic('spa.html', pageHeaders));
  router.get('/spa/spa.js', sendPublic('spa.js'));
  router.get('/spa/oidc-client.js', sendPublic('oidc-client.js'));
  router.get('/spa/api-call.js', sendPublic('api-call.js'));
  router.get('/spa/dpop.js', sendPublic('dpop.js'));
  router.get('/spa/config.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(config);
  });
  router.get('/style.css', sendPublic('style.css'));
  return router;
}
