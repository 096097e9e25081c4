// One endpoint under test, in its own process. The runner talks to it over the IPC channel only
// (never over HTTP): it asks for pre-issued codes and for this process's CPU time.
//   node bench/server.js '{"kind":"router","alg":"RS256","store":"memory"}'
// kind: "router" (the example app with the library's router), "jose" or "node-crypto" (the bare
// reference handlers of bench/reference.js); "api" with store "router" or "jose": a protected API
// call, GET /api/profile behind requireAccessToken or behind a bare jose jwtVerify handler, with
// tokens the library's token endpoint issued in the same process; "api" with store "userinfo":
// the router's UserInfo endpoint, mounted at the same path; "logout" with store "router" or
// "jose": GET /logout with an id_token_hint, the router's logout endpoint or a bare jose handler;
// "client" with store "none", "basic" or "jwt": the token router alone, its client authenticating by that method;
// "refresh" with store "rotate" or "grace": the refresh grant, a strict rotation of a fresh token,
// or a grace-window reissue of a token rotated a moment before.
// "token" with store "bearer" or "dpop": the same router with the `dpop` option, its public client
// sending no proof or an ES256 DPoP proof (RFC 9449) with each code.
// "keys" with stores ["memory", "redis", "postgres"] (those available): one example app per key
// store, each on the memory code stores and its own port, in this one process: MemoryKeyStore,
// RedisKeyStore, PostgresKeyStore (keys cached in process).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { exportJWK, generateKeyPair as generateJoseKeyPair, SignJWT } from 'jose';
import * as lib from '../dist/index.js';
import { createExampleApp } from '../example-app/app.js';
import { SPA_CALLBACK_PATH, SPA_CLIENT_ID } from '../example-app/clients.js';
import {
  createReferenceApiApp,
  createReferenceApp,
  createReferenceClientCredentialsApp,
  createReferenceIntrospectionApp,
  createReferenceLogoutApp,
  joseSigner,
  nodeCryptoSigner,
} from './reference.js';
import { KEY_STORE_BACKENDS, STORE_BACKENDS } from './stores.js';

const ISSUER = 'http://localhost';
const CLIENT_ID = SPA_CLIENT_ID;
const REDIRECT_URI = `${ISSUER}${SPA_CALLBACK_PATH}`;

const { kind, alg, store = 'memory' } = JSON.parse(process.argv[2] ?? '{}');

/** The scope the protected API needs, and every token of the api targets carries. */
const API_SCOPE = 'profile';

/**
 * A protected API (kind "api"): GET /api/profile behind requireAccessToken (store "router") or
 * the bare jose handler (store "jose"); both beside the library's token router, which issues the
 * tokens the bench sends.
 */
async function createApiTarget() {
  const keyStore = await lib.MemoryKeyStore.generate({ alg });
  const codeStore = new lib.MemoryCodeStore();
  const refreshTokenStore = new lib.MemoryRefreshTokenStore();
  const userInfo = store === 'userinfo';
  const tokenRouter = lib.createTokenRouter({
    issuer: ISSUER,
    codeStore,
    keyStore,
    refreshTokenStore,
    clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
    // UserInfo (OIDC Core §5.3) at the API's path, so the runner sends it the same requests.
    ...(userInfo ? { userInfo: () => ({ name: 'Alice Liddell' }), userinfoPath: '/api/profile' } : {}),
  });
  let app;
  if (store === 'router') {
    app = express();
    app.disable('x-powered-by');
    app.get('/api/profile', lib.requireAccessToken({ keyStore, issuer: ISSUER, scopes: [API_SCOPE] }), (req, res) => {
      res.set('Cache-Control', 'no-store').json({ sub: req.auth.subject });
    });
  } else if (userInfo) {
    app = express();
    app.disable('x-powered-by');
  } else {
    app = createReferenceApiApp({ issuer: ISSUER, jwks: await keyStore.publicJwks(), scope: API_SCOPE });
  }
  app.use(tokenRouter);
  return {
    app,
    // UserInfo needs openid (OIDC Core §5.3); the API needs profile.
    issue: (grant) =>
      lib.issueAuthorizationCode(codeStore, { ...grant, scope: userInfo ? ['openid', API_SCOPE] : [API_SCOPE] }),
    jwks: () => keyStore.publicJwks(),
    close: async () => {
      codeStore.close();
      refreshTokenStore.close();
    },
  };
}

/** The confidential client of the "client" targets, and its secret (docs/clients.md). */
const CONFIDENTIAL_CLIENT_ID = 'bench-confidential';
const CLIENT_SECRET = randomBytes(32).toString('base64url');
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Client authentication (kind "client"): the library's token router alone on in-process stores,
 * with one client that authenticates by `store` ("none": a public client, the baseline;
 * "basic": client_secret_basic; "jwt": private_key_jwt with a registered ES256 key). Each form
 * it issues carries its own credentials: a fresh assertion (a jti is used once) or the Basic
 * header, made before the round, so the round measures only the router's side.
 */
async function createClientTarget() {
  const keyStore = await lib.MemoryKeyStore.generate({ alg });
  const codeStore = new lib.MemoryCodeStore();
  const refreshTokenStore = new lib.MemoryRefreshTokenStore();
  const client = { clientId: CONFIDENTIAL_CLIENT_ID, redirectUris: [REDIRECT_URI] };
  let credentials = async () => ({});
  // The token targets: DPoP on (proofs a round old are well within maxAge), Bearer or DPoP requests.
  const dpop = kind === 'token' ? { dpop: { maxAge: 300 } } : {};
  if (kind === 'token' && store === 'dpop') {
    const { privateKey, publicKey } = await generateJoseKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    credentials = async () => ({
      dpop: await new SignJWT({ htm: 'POST', htu: `${ISSUER}/oauth2/token`, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setIssuedAt()
        .sign(privateKey),
    });
  } else if (store === 'basic') {
    client.tokenEndpointAuthMethod = 'client_secret_basic';
    client.clientSecretHash = await lib.hashClientSecret(CLIENT_SECRET);
    const authorization = `Basic ${Buffer.from(`${CONFIDENTIAL_CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
    credentials = async () => ({ authorization });
  } else if (store === 'jwt') {
    const { privateKey, publicKey } = await generateJoseKeyPair('ES256');
    client.tokenEndpointAuthMethod = 'private_key_jwt';
    client.jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench-client', alg: 'ES256' }] };
    credentials = async () => {
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench-client' })
        .setIssuer(CONFIDENTIAL_CLIENT_ID)
        .setSubject(CONFIDENTIAL_CLIENT_ID)
        .setAudience(`${ISSUER}/oauth2/token`)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      return { params: { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion } };
    };
  }
  const app = express();
  app.disable('x-powered-by');
  app.use(
    lib.createTokenRouter({ issuer: ISSUER, codeStore, keyStore, refreshTokenStore, clients: [client], ...dpop }),
  );
  return {
    app,
    clientId: CONFIDENTIAL_CLIENT_ID,
    credentials,
    issue: (grant) => lib.issueAuthorizationCode(codeStore, grant),
    jwks: () => keyStore.publicJwks(),
    close: async () => {
      codeStore.close();
      refreshTokenStore.close();
    },
  };
}

/** Where the logout targets send the user back: registered on the client. */
const POST_LOGOUT_REDIRECT_URI = `${ISSUER}/signed-out`;

/**
 * A logout (kind "logout"): GET /logout with an ID token as id_token_hint, answered by the
 * router's logout endpoint (store "router", an endSession that ends nothing) or the bare jose
 * handler (store "jose"); both beside the library's token router, which issues the ID tokens.
 */
async function createLogoutTarget() {
  const keyStore = await lib.MemoryKeyStore.generate({ alg });
  const codeStore = new lib.MemoryCodeStore();
  const refreshTokenStore = new lib.MemoryRefreshTokenStore();
  const router = store === 'router';
  const tokenRouter = lib.createTokenRouter({
    issuer: ISSUER,
    codeStore,
    keyStore,
    refreshTokenStore,
    clients: [
      { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [POST_LOGOUT_REDIRECT_URI] },
    ],
    ...(router ? { endSession: () => {} } : {}),
  });
  const app = router
    ? express()
    : createReferenceLogoutApp({
        issuer: ISSUER,
        jwks: await keyStore.publicJwks(),
        clientId: CLIENT_ID,
        postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI,
      });
  app.disable('x-powered-by');
  app.use(tokenRouter);
  return {
    app,
    issue: (grant) => lib.issueAuthorizationCode(codeStore, grant),
    jwks: () => keyStore.publicJwks(),
    close: async () => {
      codeStore.close();
      refreshTokenStore.close();
    },
  };
}

/** The logout request for an ID token: its path and query. */
function logoutPath(idToken) {
  const query = new URLSearchParams({
    client_id: CLIENT_ID,
    id_token_hint: idToken,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state: randomBytes(16).toString('base64url'),
  });
  return `/logout?${query}`;
}

/**
 * `count` access tokens from the target's own token endpoint; for a logout target, the logout
 * requests (path and query) for as many ID tokens.
 */
async function issueTokens(count) {
  const forms = await issueForms(sides.main, count);
  const { port } = servers.main.address();
  return Promise.all(
    forms.map(async (form) => {
      const response = await fetch(`http://127.0.0.1:${port}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      if (response.status !== 200) throw new Error(`the token endpoint answered ${response.status}`);
      const body = await response.json();
      return kind === 'logout' ? logoutPath(body.id_token) : body.access_token;
    }),
  );
}

/**
 * The refresh grant (kind "refresh"): the library's token router alone on in-process stores.
 * Before a round, each family's first token is rotated once on both. Store "rotate": strict
 * rotation (refreshTokenReuseInterval 0), each request presenting that rotation's successor,
 * rotated by rotateAndSave. Store "grace": a 60 s window, each request presenting the token
 * rotated a moment before, so each is reissued a sibling by rotateWithinGrace: the grace path
 * against a normal rotation (docs/refresh.md "The grace window"), on stores holding as much.
 */
async function createRefreshTarget() {
  const keyStore = await lib.MemoryKeyStore.generate({ alg });
  const codeStore = new lib.MemoryCodeStore();
  const refreshTokenStore = new lib.MemoryRefreshTokenStore();
  const grace = store === 'grace';
  const app = express();
  app.disable('x-powered-by');
  app.use(
    lib.createTokenRouter({
      issuer: ISSUER,
      codeStore,
      keyStore,
      refreshTokenStore,
      clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
      refreshTokenReuseInterval: grace ? 60 : 0,
    }),
  );
  const post = async (body) => {
    const { port } = server.address();
    const response = await fetch(`http://127.0.0.1:${port}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    if (response.status !== 200) throw new Error(`the token endpoint answered ${response.status}`);
    return (await response.json()).refresh_token;
  };
  const refreshBody = (token) =>
    new URLSearchParams({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: token }).toString();
  return {
    app,
    issue: (grant) => lib.issueAuthorizationCode(codeStore, grant),
    jwks: () => keyStore.publicJwks(),
    /** `count` refresh requests, each with its own token: a successor, or (grace) the token it replaced. */
    async tokens(count) {
      const bodies = [];
      const forms = await issueForms(target, count);
      for (let start = 0; start < forms.length; start += 200) {
        const made = await Promise.all(
          forms.slice(start, start + 200).map(async (form) => {
            // Both targets rotate once first, so their stores hold the same tokens: the round then
            // presents the successor (a normal rotation) or the spent token (a reissue).
            const token = await post(form);
            const successor = await post(refreshBody(token));
            return refreshBody(grace ? token : successor);
          }),
        );
        bodies.push(...made);
      }
      return bodies;
    },
    close: async () => {
      codeStore.close();
      refreshTokenStore.close();
    },
  };
}

/** The machine client of the cc targets (bench/run.js sends its Basic header). */
const CC_CLIENT_ID = 'bench-machine';
const CC_CLIENT_SECRET = 'bench-machine-secret-0123456789abcdef';

/**
 * The client credentials grant (kind "cc"): the library's token router alone on in-process
 * stores, with one client_secret_basic machine client (store "router"), or the bare jose handler
 * of reference.js (store "jose").
 */
async function createClientCredentialsTarget() {
  const scopes = ['status:read'];
  if (store === 'jose') {
    const signer = await joseSigner(alg);
    const app = createReferenceClientCredentialsApp({
      issuer: ISSUER,
      signer,
      clientId: CC_CLIENT_ID,
      clientSecret: CC_CLIENT_SECRET,
      scopes,
    });
    return { app, jwks: async () => ({ keys: [signer.publicJwk] }), close: async () => {} };
  }
  const keyStore = await lib.MemoryKeyStore.generate({ alg });
  const codeStore = new lib.MemoryCodeStore();
  const machine = {
    clientId: CC_CLIENT_ID,
    redirectUris: [],
    tokenEndpointAuthMethod: 'client_secret_basic',
    clientSecretHash: await lib.hashClientSecret(CC_CLIENT_SECRET),
    grantTypes: ['client_credentials'],
    scopes,
  };
  const app = express();
  app.disable('x-powered-by');
  app.use(lib.createTokenRouter({ issuer: ISSUER, codeStore, keyStore, clients: [machine] }));
  return { app, jwks: () => keyStore.publicJwks(), close: async () => codeStore.close() };
}

/**
 * Introspection (kind "introspect"): POST /oauth2/introspect by the cc targets' machine client,
 * acting as a resource server, with access tokens the router issued in the same process (by the
 * client credentials grant), answered by the router (store "router") or the bare jose handler
 * of reference.js (store "jose").
 */
async function createIntrospectionTarget() {
  const keyStore = await lib.MemoryKeyStore.generate({ alg });
  const codeStore = new lib.MemoryCodeStore();
  const machine = {
    clientId: CC_CLIENT_ID,
    redirectUris: [],
    tokenEndpointAuthMethod: 'client_secret_basic',
    clientSecretHash: await lib.hashClientSecret(CC_CLIENT_SECRET),
    grantTypes: ['client_credentials'],
    scopes: ['status:read'],
  };
  const tokenRouter = lib.createTokenRouter({ issuer: ISSUER, codeStore, keyStore, clients: [machine] });
  const app = express();
  app.disable('x-powered-by');
  if (store === 'jose') {
    app.use(
      createReferenceIntrospectionApp({
        issuer: ISSUER,
        jwks: await keyStore.publicJwks(),
        clientId: CC_CLIENT_ID,
        clientSecret: CC_CLIENT_SECRET,
      }),
    );
  }
  app.use(tokenRouter);
  const authorization = `Basic ${Buffer.from(`${CC_CLIENT_ID}:${CC_CLIENT_SECRET}`).toString('base64')}`;
  return {
    app,
    authorization,
    jwks: () => keyStore.publicJwks(),
    /** `count` client credentials tokens from the router's own token endpoint. */
    async tokens(count) {
      const { port } = server.address();
      return Promise.all(
        Array.from({ length: count }, async () => {
          const response = await fetch(`http://127.0.0.1:${port}/oauth2/token`, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
            body: 'grant_type=client_credentials',
          });
          if (response.status !== 200) throw new Error(`the token endpoint answered ${response.status}`);
          return (await response.json()).access_token;
        }),
      );
    },
    close: async () => codeStore.close(),
  };
}

/**
 * One app of the keys process: the example app on the memory stores, its keys in the key store
 * `keys` ("memory": MemoryKeyStore; "redis", "postgres": a shared key store, bench/stores.js).
 */
async function createKeysTarget(keys) {
  const shared = keys === 'memory' ? undefined : await KEY_STORE_BACKENDS[keys].create(lib, alg);
  const keyStore = shared?.keyStore ?? (await lib.MemoryKeyStore.generate({ alg }));
  return createExampleTarget(await STORE_BACKENDS.memory.create(lib), keyStore, async () => shared?.close());
}

/** The example app on `backend`'s stores, signing with `keyStore`; `closeKeys` releases what the key store holds. */
async function createExampleTarget(backend, keyStore, closeKeys = async () => {}) {
  const example = await createExampleApp({ issuer: ISSUER, keyStore, ...backend.stores });
  return {
    app: example.app,
    issue: (grant) => lib.issueAuthorizationCode(backend.stores.codeStore, grant),
    jwks: () => keyStore.publicJwks(),
    close: async () => {
      example.close();
      await backend.close();
      await closeKeys();
    },
  };
}

/** A target: an Express app, a way to issue one code (returns it), and the public JWKS. */
async function createTarget() {
  if (kind === 'api') return createApiTarget();
  if (kind === 'client' || kind === 'token') return createClientTarget();
  if (kind === 'logout') return createLogoutTarget();
  if (kind === 'cc') return createClientCredentialsTarget();
  if (kind === 'introspect') return createIntrospectionTarget();
  if (kind === 'refresh') return createRefreshTarget();
  if (kind === 'router' || kind === 'external') {
    const backend = await STORE_BACKENDS[store].create(lib);
    if (kind === 'router') return createExampleTarget(backend, await lib.MemoryKeyStore.generate({ alg }));
    // external: the same app, its key held and used by a child process (docs/external-signers.md).
    const signer = await lib.startChildProcessSigner({ alg });
    return createExampleTarget(backend, signer, () => signer.close());
  }
  const signer = kind === 'jose' ? await joseSigner(alg) : await nodeCryptoSigner(alg);
  const reference = createReferenceApp({ issuer: ISSUER, signer });
  return {
    app: reference.app,
    issue: async (grant) => reference.addCode(grant),
    jwks: async () => ({ keys: [signer.publicJwk] }),
    close: async () => {},
  };
}

/** Issue `count` codes, each with a fresh PKCE pair, and return the form bodies that redeem them. */
async function issueForms(target, count) {
  const forms = [];
  const batch = 200;
  for (let start = 0; start < count; start += batch) {
    const clientId = target.clientId ?? CLIENT_ID;
    const made = await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async () => {
        const verifier = randomBytes(32).toString('base64url');
        const code = await target.issue({
          clientId,
          redirectUri: REDIRECT_URI,
          codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
          codeChallengeMethod: 'S256',
          subject: `user-${randomBytes(6).toString('hex')}`,
          scope: ['openid'],
          nonce: randomBytes(16).toString('base64url'),
        });
        const body = new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: clientId,
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        });
        if (target.credentials === undefined) return body.toString();
        // A client target: its credentials, in the body or as an Authorization header; a DPoP proof.
        const { params = {}, authorization, dpop } = await target.credentials();
        for (const [name, value] of Object.entries(params)) body.set(name, value);
        return { body: body.toString(), authorization, dpop };
      }),
    );
    forms.push(...made);
  }
  return forms;
}

/**
 * The apps this process serves, by side: one (`main`), or for kind "keys" one per key store of
 * `stores`, each on its own port, so that the key stores are compared within one process (the
 * same heap, modules and connections; only one side is loaded at a time).
 */
const sides = {};
if (kind === 'keys') {
  for (const keys of JSON.parse(process.argv[2]).stores) sides[keys] = await createKeysTarget(keys);
} else {
  sides.main = await createTarget();
}
const servers = Object.fromEntries(
  Object.entries(sides).map(([side, target]) => {
    const server = createServer(target.app);
    server.keepAliveTimeout = 30_000;
    return [side, server];
  }),
);
/** The target an operation is for: its `side`, or the only one. */
const sideOf = (side) => sides[side ?? 'main'];

/** CPU profiling of the measured rounds only (`--cpu-prof`), not of issuing codes between them. */
let profiler;

const operations = {
  'profile-start': async () => {
    if (profiler === undefined) {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    await profiler.post('Profiler.start');
    return true;
  },
  'profile-stop': async () => (await profiler.post('Profiler.stop')).profile,
  issue: ({ count, side }) => issueForms(sideOf(side), count),
  tokens: ({ count, side }) => {
    const target = sideOf(side);
    return target.tokens === undefined ? issueTokens(count) : target.tokens(count);
  },
  // Two young-generation collections (the second promotes what survived the first), run with
  // --expose-gc; see runRound in run.js. The old generation, and the state held there, is left
  // to the measured rounds' own collections.
  collect: () => {
    global.gc?.({ type: 'minor' });
    global.gc?.({ type: 'minor' });
    return true;
  },
  // Read together, so that both cover the same window of a round.
  usage: () => ({ cpu: process.cpuUsage(), loop: performance.eventLoopUtilization() }),
  jwks: ({ side }) => sideOf(side).jwks(),
  exit: async () => {
    for (const server of Object.values(servers)) {
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections?.();
    }
    for (const target of Object.values(sides)) await target.close();
    // A normal exit, so that --cpu-prof writes its profile.
    setImmediate(() => process.exit(0));
    return true;
  },
};

process.on('message', async ({ id, op, ...args }) => {
  try {
    process.send({ id, result: await operations[op](args) });
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));

const ports = {};
for (const [side, server] of Object.entries(servers)) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports[side] = server.address().port;
}
process.send({ op: 'ready', port: ports.main, ports });
