import express from 'express';
import {
  authorizationErrorUrl,
  authorizationResponseUrl,
  checkAuthorizationRequest,
  issueAuthorizationCode,
} from '../dist/index.js';
import { renderError, renderSignIn, sendPage } from './pages.js';

/** The scopes this host grants. Others in a request are dropped (OIDC Core §3.1.2.1); none means openid. */
const SCOPES = ['openid', 'profile', 'email'];

/** Titles of the error page, by the parameter at fault. */
const ERROR_TITLES = { client_id: 'Unknown client', redirect_uri: 'Invalid redirect URI' };

/** The login form is small; anything bigger is not a sign-in. */
const loginForm = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });

/**
 * The host's authorization step: `GET /authorize` checks the request, asks the user to sign in
 * when needed (`POST /login`), then issues a code with the library and sends the browser back
 * to the client. `POST /logout` ends the host session.
 */
export function authorizationRoutes({ issuer, codeStore, findClient, users, sessions, demoUsers }) {
  const router = express.Router();
  // The same clients the token router has, as a registry over the host's lookup.
  const options = {
    issuer,
    clients: { findClient },
    scopes: SCOPES,
    defaultScope: ['openid'],
    ignoreUnknownScopes: true,
  };
  const check = (authorizeQuery) => checkAuthorizationRequest(new URLSearchParams(authorizeQuery), options);

  router.get(
    '/authorize',
    handle(async (req, res) => {
      await continueAuthorization(res, rawQuery(req), sessions.current(req), { signedInNow: false });
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
        const checked = await check(authorizeQuery);
        const clientId = checked.kind === 'valid' ? checked.request.clientId : undefined;
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
      await continueAuthorization(res, authorizeQuery, session, { signedInNow: true });
    }),
  );

  router.post('/logout', (req, res) => {
    sessions.end(req, res);
    res.redirect(303, '/');
  });

  /** Answer an authorization request for whoever is signed in (or ask them to sign in). */
  async function continueAuthorization(res, authorizeQuery, session, { signedInNow }) {
    const checked = await check(authorizeQuery);
    if (checked.kind === 'show-error') {
      // The client or its redirect URI is not known good: tell the user, never redirect.
      if (checked.cause !== undefined) console.error(checked.cause);
      const title = ERROR_TITLES[checked.parameter] ?? 'Try again later';
      sendPage(res, checked.status, renderError({ title, message: checked.description }));
      return;
    }
    if (checked.kind === 'redirect-error') {
      redirectToClient(res, checked.redirectUrl);
      return;
    }
    const { request, grant } = checked;
    const user = session === undefined ? undefined : users.findBySubject(session.subject);
    if (user === undefined || (!signedInNow && mustSignInAgain(request, session))) {
      if (request.prompt.includes('none')) {
        // OIDC Core §3.1.2.6: prompt=none may not show a page; the client is told instead.
        redirectToClient(res, authorizationErrorUrl(request, 'login_required', { issuer }));
        return;
      }
      sendPage(res, 200, renderSignIn({ authorizeQuery, clientId: request.clientId, demoUsers }));
      return;
    }
    // A real host would ask for consent here, once per client and scope.
    const code = await issueAuthorizationCode(codeStore, {
      ...grant,
      subject: user.subject,
      authTime: session.authTime,
      idTokenClaims: profileClaims(user, grant.scope),
    });
    redirectToClient(res, authorizationResponseUrl(request, code, { issuer }));
  }

  return router;
}

/** OIDC Core §3.1.2.1: `prompt=login`, or a sign-in older than `max_age` seconds, asks for a fresh one. */
function mustSignInAgain(request, session) {
  if (request.prompt.includes('login')) return true;
  return request.maxAge !== undefined && Math.floor(Date.now() / 1000) - session.authTime > request.maxAge;
}

/** OIDC Core §5.4: the standard claims the `profile` and `email` scopes ask for. */
function profileClaims(user, scope) {
  return {
    ...(scope.includes('profile') ? { name: user.name, preferred_username: user.username } : {}),
    ...(scope.includes('email') ? { email: user.email, email_verified: true } : {}),
  };
}

/** The answer, a URL the library built on the registered redirect URI; never cached, never in a Referer. */
function redirectToClient(res, location) {
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
