import express from 'express';
import { requireAccessToken } from '../dist/index.js';
import { SPA_CLIENT_ID, STATUS_SCOPE } from './clients.js';

/**
 * The host's own API: `GET /api/profile`, behind `requireAccessToken({ scopes: ['profile'] })`,
 * answers the signed-in user's profile to a client holding an access token with the `profile`
 * scope. The demo SPA calls it from its origin, so the route answers CORS for the origins of the
 * SPA's redirect URIs (the middleware does no CORS: the API's CORS is the host's to decide).
 *
 * @param {object} options
 * @param {string} options.issuer  the router's issuer
 * @param {import('../dist/index.js').KeyStore} options.keyStore  the router's key store
 * @param {import('../dist/index.js').RefreshTokenStore} options.refreshTokenStore  the router's refresh-token store
 * @param {(clientId: string) => Promise<import('../dist/index.js').Client | undefined>} options.findClient
 * @param {{ findBySubject(subject: string): object | undefined }} options.users
 * @param {import('../dist/index.js').ReplayStore} options.replayStore  where DPoP proof jtis are remembered: the code store
 */
export function apiRoutes({ issuer, keyStore, refreshTokenStore, findClient, users, replayStore }) {
  // checkRevocation: a token whose refresh token was revoked (the SPA's sign-out) stops working
  // at once, for one store lookup a call.
  const profileScope = requireAccessToken({
    issuer,
    keyStore,
    scopes: ['profile'],
    checkRevocation: true,
    refreshTokenStore,
    // RFC 9449 §7.1: the SPA may present a DPoP-bound token with a proof; the API is served beside
    // the issuer, so its public origin is the issuer's. Proof jtis go in the shared code store, so
    // a proof replayed to another instance is refused too.
    dpop: { publicOrigin: new URL(issuer).origin, replayStore },
  });

  /** The SPA's origins: those of its registered redirect URIs. */
  async function isSpaOrigin(origin) {
    if (typeof origin !== 'string') return false;
    const spa = await findClient(SPA_CLIENT_ID);
    return (spa?.redirectUris ?? []).some((uri) => URL.canParse(uri) && new URL(uri).origin === origin);
  }

  /** CORS (Fetch standard) for the SPA's origins: the Authorization header makes a preflight. */
  async function cors(req, res, next) {
    try {
      if (await isSpaOrigin(req.headers.origin)) {
        res.set({
          'Access-Control-Allow-Origin': req.headers.origin,
          // The SPA reads the DPoP challenge and a new server nonce (RFC 9449 §8) from these.
          'Access-Control-Expose-Headers': 'WWW-Authenticate, DPoP-Nonce',
          Vary: 'Origin',
        });
        if (req.method === 'OPTIONS') {
          res.set({
            'Access-Control-Allow-Methods': 'GET',
            'Access-Control-Allow-Headers': 'Authorization, DPoP',
            'Access-Control-Max-Age': '600',
          });
        }
      }
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      next();
    } catch (error) {
      next(error);
    }
  }

  // GET /api/status: for the machine client's client_credentials token (docs/machine-clients.md);
  // server to server, so no CORS.
  const statusScope = requireAccessToken({ issuer, keyStore, scopes: [STATUS_SCOPE] });

  const router = express.Router();
  router.get('/api/status', statusScope, (req, res) => {
    res
      .set('Cache-Control', 'no-store')
      .json({ status: 'ok', caller: req.auth.clientId, scope: req.auth.scopes.join(' ') });
  });
  router.options('/api/profile', cors);
  router.get('/api/profile', cors, profileScope, (req, res) => {
    const profile = users.findBySubject(req.auth.subject);
    res.set('Cache-Control', 'no-store').json({
      sub: req.auth.subject,
      client_id: req.auth.clientId,
      scope: req.auth.scopes.join(' '),
      name: profile?.name,
      preferred_username: profile?.username,
    });
  });
  return router;
}
