/**
 * A native app's sign-in, as RFC 8252 describes it: the app listens on a loopback port, sends
 * the user to the authorization endpoint in the system browser, catches the redirect on its own
 * listener, and redeems the code with PKCE. No client secret: a native app cannot keep one.
 *
 * Run it beside the example app (`npm start` in another terminal):
 *
 *   node example-app/native-app.js
 *
 * It prints a URL to open in a browser, waits on http://127.0.0.1:8765/cb (the loopback redirect
 * URI registered for `example-native`), and prints the verified ID token's claims. ISSUER
 * overrides the issuer (default http://localhost:3000).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { baseUrl, NATIVE_CLIENT_ID } from './clients.js';

/** A step of the sign-in failed; `code` is the server's OAuth error or names our own check. */
export class NativeSignInError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'NativeSignInError';
    this.code = code;
  }
}

/**
 * The issuer's endpoints, at the example host's paths. Once the library serves discovery
 * (`/.well-known/openid-configuration`), an app would read them from there instead.
 */
export function endpointsOf(issuer) {
  const base = baseUrl(issuer);
  return {
    issuer,
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/oauth2/token`,
    jwksUri: `${base}/oauth2/jwks`,
  };
}

/**
 * Listen for the authorization response on the loopback interface. RFC 8252 §7.3 and §8.3:
 * the IP literal 127.0.0.1 rather than `localhost` (which a resolver could send elsewhere),
 * bound to loopback only so nothing off the machine can reach it. `port` 0 takes any free port;
 * this library compares redirect URIs exactly, so the URI with that port must be registered.
 *
 * Resolves `{ redirectUri, callback, close }`: `callback` resolves with the query of the first
 * request to `path`, the authorization response.
 */
export async function startLoopbackReceiver({ port = 0, path = '/cb' } = {}) {
  let deliver;
  const callback = new Promise((resolve) => {
    deliver = resolve;
  });
  let received = false;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== path) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    const text = received
      ? 'This sign-in was already received.'
      : 'Sign-in received. You can close this window and return to the app.';
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
    });
    res.end(`${text}\n`);
    if (!received) {
      received = true;
      deliver(url.searchParams);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: boundPort } = server.address();
  return {
    redirectUri: `http://127.0.0.1:${boundPort}${path}`,
    callback,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3) and what the app must remember
 * to finish it: a fresh verifier, state and nonce.
 */
export function beginSignIn({ endpoints, clientId = NATIVE_CLIENT_ID, redirectUri, scope = 'openid profile' }) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const url = new URL(endpoints.authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    nonce,
  }).toString();
  return { url, pending: { clientId, redirectUri, verifier, state, nonce } };
}

/**
 * Check the authorization response, redeem the code at the token endpoint, and verify the ID
 * token (signature against the JWKS, iss, aud, exp, nonce). Resolves `{ tokens, idTokenClaims }`.
 */
export async function finishSignIn({ endpoints, pending, response }) {
  // RFC 9207: the answer names its issuer; RFC 6749 §10.12: it answers our own request.
  if (response.get('iss') !== endpoints.issuer)
    throw new NativeSignInError('issuer_mismatch', 'the response comes from another issuer');
  if (response.get('state') !== pending.state)
    throw new NativeSignInError('state_mismatch', 'the state is not the one this app sent');
  if (response.has('error'))
    throw new NativeSignInError(response.get('error'), response.get('error_description') ?? '');
  const code = response.get('code');
  if (!code) throw new NativeSignInError('invalid_response', 'the response has no code');

  const answer = await fetch(endpoints.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: pending.redirectUri,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = await answer.json().catch(() => undefined);
  if (!answer.ok) {
    throw new NativeSignInError(
      typeof tokens?.error === 'string' ? tokens.error : `http_${answer.status}`,
      tokens?.error_description ?? '',
    );
  }
  if (typeof tokens?.id_token !== 'string')
    throw new NativeSignInError('invalid_response', 'the token response has no id_token');

  const { payload: idTokenClaims } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(endpoints.jwksUri)), {
    issuer: endpoints.issuer,
    audience: pending.clientId,
  });
  if (idTokenClaims.nonce !== pending.nonce)
    throw new NativeSignInError('invalid_id_token', 'the nonce is not the one this app sent');
  return { tokens, idTokenClaims };
}

/** The command line: sign in once through the browser, print the ID token's claims. */
async function main() {
  const endpoints = endpointsOf(process.env.ISSUER ?? 'http://localhost:3000');
  // The demo client registers http://127.0.0.1:8765/cb: exact matching needs this very port.
  const receiver = await startLoopbackReceiver({ port: 8765 });
  try {
    const { url, pending } = beginSignIn({ endpoints, redirectUri: receiver.redirectUri });
    console.log(`Open this URL in a browser and sign in (alice / alice-password):\n\n  ${url.href}\n`);
    console.log(`Waiting for the redirect to ${receiver.redirectUri} …`);
    const { idTokenClaims, tokens } = await finishSignIn({ endpoints, pending, response: await receiver.callback });
    console.log(`Signed in. Scope: ${tokens.scope}. The ID token verified; its claims:`);
    console.log(JSON.stringify(idTokenClaims, null, 2));
  } finally {
    await receiver.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(`Sign-in failed: ${error.code ?? error.name}: ${error.message}`);
    process.exitCode = 1;
  });
}
