import express from 'express';
import { issueAuthorizationCode } from '../dist/index.js';
import { checkAuthorizationRequest } from './authorization-request.js';
import { renderError, renderSignIn, sendPage } from './pages.js';

/** The login form is small; anything bigger is not a sign-in. */
const loginForm = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });

/**
 * The host's authorization step: `GET /authorize` checks the request, asks the user to sign in
 * when needed (`POST /login`), then issues a code with the library and sends the browser back
 * to the client. `POST /logout` ends the host session.
 */
export function authorizationRoutes({ issuer, codeStore, findClient, users, sessions, demoUsers }) {
  const router = express.Router();

  router.get(
    '/authorize',
    handle(async (req, res) => {
      await continueAuthorization(req, res, rawQuery(req), sessions.current(req));
    }),
  );

  router.post(
    '/login',
    loginForm,
    handle(async (req, res) => {
      const authorizeQuery = field(req.body, 'authorize_query') ?? '';
      const username = field(req.body, 'username');
      const user = await users.authenticate(username, field(req.body, 'password'));
      if (user === undefined) {
        const checked = await checkAuthorizationRequest(new URLSearchParams(authorizeQuery), findClient);
        const clientId =
          checked.outcome === 'show-error' ? undefined : new URLSearchParams(authorizeQuery).get('client_id');
        sendPage(
          res,
          401,
          renderSignIn({ authorizeQuery, clientId, error: 'Wrong username or password.', demoUsers, username }),
        );
        return;
      }
      const session = sessions.start(req, res, user);
      if (authorizeQuery === '') {
        res.redirect(303, '/');
        return;
      }
      await continueAuthorization(req, res, authorizeQuery, session);
    }),
  );

  router.post('/logout', (req, res) => {
    sessions.end(req, res);
    res.redirect(303, '/');
  });

  /** Answer an authorization request for whoever is signed in (or ask them to sign in). */
  async function continueAuthorization(_req, res, authorizeQuery, session) {
    const checked = await checkAuthorizationRequest(new URLSearchParams(authorizeQuery), findClient);
    if (checked.outcome === 'show-error') {
      sendPage(res, 400, renderError({ title: checked.title, message: checked.message }));
      return;
    }
    if (checked.outcome === 'redirect-error') {
      const { redirectUri, error, description, state } = checked;
      redirectToClient(res, redirectUri, { error, error_description: description, state, iss: issuer });
      return;
    }
    const { request } = checked;
    const user = session === undefined ? undefined : users.findBySubject(session.subject);
    if (user === undefined) {
      sendPage(res, 200, renderSignIn({ authorizeQuery, clientId: request.clientId, demoUsers }));
      return;
    }
    // A real host would ask for consent here, once per client and scope.
    const code = await issueAuthorizationCode(codeStore, {
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: 'S256',
      subject: user.subject,
      scope: request.scope,
      ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
      authTime: session.authTime,
      idTokenClaims: profileClaims(user, request.scope),
    });
    redirectToClient(res, request.redirectUri, { code, state: request.state, iss: issuer });
  }

  return router;
}

/** OIDC Core §5.4: the standard claims the `profile` and `email` scopes ask for. */
function profileClaims(user, scope) {
  return {
    ...(scope.includes('profile') ? { name: user.name, preferred_username: user.username } : {}),
    ...(scope.includes('email') ? { email: user.email, email_verified: true } : {}),
  };
}

/**
 * RFC 6749 §4.1.2: the answer goes in the redirect URI's query, keeping any query the
 * registered URI has. `iss` is RFC 9207's mix-up defence. Undefined values are left out.
 */
function redirectToClient(res, redirectUri, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.append(name, value);
  const location = `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query}`;
  res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }).redirect(302, location);
}

/** The query string exactly as sent, so it can be carried through the sign-in form unchanged. */
function rawQuery(req) {
  const start = req.originalUrl.indexOf('?');
  return start === -1 ? '' : req.originalUrl.slice(start + 1);
}

/** A single string field of a parsed form; repeated fields are not a single string. */
function field(body, name) {
  const value = body?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** Pass a rejected promise to Express's error handling (Express 4 does not on its own). */
function handle(handler) {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}
