import express from 'express';
import {
  createTokenRouter,
  hashClientSecret,
  MemoryCodeStore,
  MemoryKeyStore,
  MemoryRefreshTokenStore,
} from '../dist/index.js';
import { apiRoutes } from './api-routes.js';
import { authorizationRoutes } from './authorize.js';
import {
  clientLookup,
  DEV_CLIENT_SECRET_HASHES,
  DEV_MACHINE_CLIENT_SECRET,
  DEV_WEB_CLIENT_SECRET,
  demoClients,
} from './clients.js';
import { renderError, renderHome, sendPage } from './pages.js';
import { relyingPartyRoutes } from './relying-party.js';
import { createSessionStore } from './sessions.js';
import { spaRoutes } from './spa-routes.js';
import { createUserDirectory, DEMO_USERS } from './users.js';

/** The library's default paths, which this host keeps. */
const TOKEN_PATH = '/oauth2/token';
const JWKS_PATH = '/oauth2/jwks';
const REVOCATION_PATH = '/oauth2/revoke';
/**
 * RP-initiated logout, beside the token endpoint: this host's own `POST /logout` is its sign-out
 * form (authorize.js), so the router's logout endpoint is not at its default `/logout`.
 */
export const LOGOUT_PATH = '/oauth2/logout';

const KNOWN_OPTIONS = [
  'issuer',
  'codeStore',
  'keyStore',
  'refreshTokenStore',
  'clients',
  'onEvent',
  'webClientSecret',
  'machineClientSecret',
  'refreshTokenReuseInterval',
];

/** A demo user's UserInfo claims (OIDC Core §5.1), or `undefined` for a user who is gone. */
function userInfoClaims(user) {
  if (user === undefined) return undefined;
  return { name: user.name, preferred_username: user.username, email: user.email, email_verified: true };
}

/**
 * The example host app: demo users and sessions, the authorization step, the demo SPA, and the
 * library's token router. Stores default to the in-process ones; pass others to swap them.
 *
 * @param {object} options
 * @param {string} options.issuer  the `iss` of the tokens and the base of every URL, e.g. `http://localhost:3000`
 * @param {import('../dist/index.js').AuthorizationCodeStore} [options.codeStore]  default `new MemoryCodeStore()`
 * @param {import('../dist/index.js').KeyStore} [options.keyStore]  default `await MemoryKeyStore.generate()` (RS256);
 *   `server.js` gives the one of KEY_STORE (example-app/key-store.js): SIGNING_JWKS's, or a shared store's
 * @param {import('../dist/index.js').RefreshTokenStore} [options.refreshTokenStore]  default `new MemoryRefreshTokenStore()`
 * @param {import('../dist/index.js').Client[] | import('../dist/index.js').ClientRegistry} [options.clients]  default the demo clients
 * @param {import('../dist/index.js').TokenRouterEventListener} [options.onEvent]  the router's audit events; `server.js` logs them as JSON lines
 * @param {string} [options.webClientSecret]  the web app's client secret; default the development one of clients.js
 * @param {string} [options.machineClientSecret]  the machine client's secret; default the development one of clients.js
 * @param {number} [options.refreshTokenReuseInterval]  the refresh grace window in seconds; default 10 (0: strict rotation)
 */
export async function createExampleApp(options = {}) {
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(name)) throw new TypeError(`createExampleApp: unknown option "${name}"`);
  }
  const { issuer } = options;
  if (typeof issuer !== 'string' || !URL.canParse(issuer)) {
    throw new TypeError('createExampleApp: option issuer must be an absolute URL, e.g. "http://localhost:3000"');
  }
  // Stores this function made are closed by close(); injected ones belong to the caller.
  const owned = [];
  const own = (store) => {
    owned.push(store);
    return store;
  };
  const codeStore = options.codeStore ?? own(new MemoryCodeStore());
  const keyStore = options.keyStore ?? (await MemoryKeyStore.generate());
  const refreshTokenStore = options.refreshTokenStore ?? own(new MemoryRefreshTokenStore());
  const webClientSecret = options.webClientSecret ?? DEV_WEB_CLIENT_SECRET;
  const machineClientSecret = options.machineClientSecret ?? DEV_MACHINE_CLIENT_SECRET;
  const clients =
    options.clients ??
    demoClients(issuer, {
      webClientSecretHash:
        options.webClientSecret === undefined
          ? DEV_CLIENT_SECRET_HASHES.webClientSecretHash
          : await hashClientSecret(webClientSecret),
      machineClientSecretHash:
        options.machineClientSecret === undefined
          ? DEV_CLIENT_SECRET_HASHES.machineClientSecretHash
          : await hashClientSecret(machineClientSecret),
    });
  const { onEvent } = options;
  const users = await createUserDirectory(DEMO_USERS);
  const sessions = createSessionStore({ secure: issuer.startsWith('https:') });

  const app = express();
  app.disable('x-powered-by');
  // The library: POST /oauth2/token and /oauth2/revoke, GET /oauth2/jwks, discovery and RFC 8414
  // metadata, UserInfo and logout, with their own parsing, CORS and errors.
  // Discovery names this host's own authorization endpoint (`authorizationPath`); it sends `iss`
  // with every answer (RFC 9207), so clients may insist on it.
  const discoveryMetadata = { authorization_response_iss_parameter_supported: true };
  app.use(
    createTokenRouter({
      issuer,
      codeStore,
      keyStore,
      refreshTokenStore,
      clients,
      onEvent,
      authorizationPath: '/authorize',
      discoveryMetadata,
      // GET /userinfo: the claims of the token's user, from the host's own directory; the router
      // keeps those of scopes not granted out (OIDC Core §5.4).
      userInfo: (subject) => userInfoClaims(users.findBySubject(subject)),
      // GET /oauth2/logout: the router checked the client, the id_token_hint and the
      // post_logout_redirect_uri; ending the host session is the host's part. It then redirects.
      endSession: (req, res) => {
        sessions.end(req, res);
      },
      logoutPath: LOGOUT_PATH,
      // DPoP (RFC 9449, docs/dpop.md): the SPA proves a key it holds with every token request, and
      // its tokens are bound to that key. Clients that send no proof get bearer tokens as before.
      dpop: {},
      // The SPA open in two tabs refreshes with one token at once: within 10 s the second gets a
      // sibling instead of revoking the family (docs/refresh.md "The grace window").
      refreshTokenReuseInterval: options.refreshTokenReuseInterval ?? 10,
    }),
  );
  app.use(
    authorizationRoutes({
      issuer,
      codeStore,
      findClient: clientLookup(clients),
      users,
      sessions,
      demoUsers: DEMO_USERS,
    }),
  );
  app.use(
    apiRoutes({
      issuer,
      keyStore,
      refreshTokenStore,
      findClient: clientLookup(clients),
      users,
      replayStore: codeStore,
    }),
  );
  app.use(
    spaRoutes({
      issuer,
      tokenPath: TOKEN_PATH,
      jwksPath: JWKS_PATH,
      revocationPath: REVOCATION_PATH,
      logoutPath: LOGOUT_PATH,
    }),
  );
  app.use(relyingPartyRoutes({ issuer, clientSecret: webClientSecret }));
  app.get('/', (req, res) => {
    sendPage(res, 200, renderHome({ session: sessions.current(req), issuer }));
  });
  app.use((_req, res) => {
    sendPage(res, 404, renderError({ title: 'Not found', message: 'There is no page here.' }));
  });
  // Four arguments mark this as Express's error handler; it shows no stack trace.
  app.use((error, _req, res, _next) => {
    const status = Number.isInteger(error?.status) && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) console.error(error);
    if (res.headersSent) {
      res.end();
      return;
    }
    const [title, message] =
      status === 500
        ? ['Server error', 'Something went wrong on the host.']
        : status === 413
          ? ['Request too large', 'The form sent was too large.']
          : ['Bad request', 'The request could not be read.'];
    sendPage(res, status, renderError({ title, message }));
  });

  return {
    app,
    issuer,
    codeStore,
    keyStore,
    refreshTokenStore,
    clients,
    users,
    sessions,
    /** Stop the sweep timers of the stores made here (they are unref'd, so this is optional). */
    close() {
      for (const store of owned) store.close();
    },
  };
}
