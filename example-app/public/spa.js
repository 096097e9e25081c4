import {
  checkIdTokenClaims,
  createPkcePair,
  decodeJwt,
  exchangeCode,
  fetchJwks,
  randomToken,
  SignInCheckError,
  verifyJwtSignature,
} from './oidc-client.js';

/** What the sign-in must remember across the redirect, for this tab only. */
const PENDING_KEY = 'example-spa:pending-sign-in';

const element = (id) => document.getElementById(id);

function setStatus(text) {
  element('status').textContent = text;
}

/** Show an error code (from the server, or our own check) and its description in #error. */
function showError(error, description) {
  const box = element('error');
  box.dataset.error = error;
  box.textContent = description ? `${error}: ${description}` : error;
  box.hidden = false;
}

function showClaims(id, claims) {
  const pre = element(id);
  pre.textContent = JSON.stringify(claims, null, 2);
  pre.closest('section').hidden = false;
}

async function loadConfig() {
  const response = await fetch('/spa/config.json', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`cannot load /spa/config.json (HTTP ${response.status})`);
  return response.json();
}

/** Start the authorization-code flow with PKCE (RFC 7636 §4.1–4.3). */
async function signIn(config, tamper) {
  const { verifier, challenge } = await createPkcePair();
  const state = randomToken(16);
  const nonce = randomToken(16);
  // DEMO AID (?tamper=1): keep a different, still well-formed verifier, so the token
  // endpoint must refuse the code. A real client stores the verifier it made.
  const storedVerifier = tamper ? randomToken(32) : verifier;
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier: storedVerifier, state, nonce, tamper }));
  const url = new URL(config.authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    response_type: 'code',
    scope: config.scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  }).toString();
  location.assign(url.href);
}

/** Back at the redirect URI: check the answer, redeem the code, check the ID token. */
async function completeSignIn(config) {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null');
  sessionStorage.removeItem(PENDING_KEY);
  // The code is secret and single-use: out of the address bar and the history at once.
  history.replaceState(null, '', location.pathname);

  if (pending === null) {
    throw new SignInCheckError('no_pending_sign_in', 'this tab did not start a sign-in (the PKCE verifier and state live in sessionStorage)');
  }
  element('tamper-notice').hidden = !pending.tamper;
  if (params.get('state') !== pending.state) {
    throw new SignInCheckError('state_mismatch', 'the state in the callback is not the one this tab sent');
  }
  if (params.has('iss') && params.get('iss') !== config.issuer) {
    throw new SignInCheckError('issuer_mismatch', 'the callback comes from another issuer (RFC 9207)');
  }
  if (params.has('error')) {
    setStatus('The authorization server refused the request.');
    showError(params.get('error'), params.get('error_description'));
    return;
  }
  const code = params.get('code');
  if (!code) throw new SignInCheckError('invalid_response', 'the callback has no code');

  setStatus('Redeeming the code at the token endpoint…');
  const { ok, status, body } = await exchangeCode({
    tokenEndpoint: config.tokenEndpoint,
    clientId: config.clientId,
    redirectUri: config.redirectUri,
    code,
    codeVerifier: pending.verifier,
  });
  if (!ok) {
    setStatus(`The token endpoint refused the code (HTTP ${status}).`);
    showError(typeof body?.error === 'string' ? body.error : `http_${status}`, body?.error_description);
    return;
  }
  if (typeof body?.id_token !== 'string') throw new SignInCheckError('invalid_response', 'the token response has no id_token');

  setStatus('Checking the ID token against the JWKS…');
  const { payload: idClaims } = await verifyJwtSignature(body.id_token, await fetchJwks(config.jwksUri));
  checkIdTokenClaims(idClaims, { issuer: config.issuer, clientId: config.clientId, nonce: pending.nonce });
  showClaims('id-token-claims', idClaims);
  showClaims('access-token-claims', decodeJwt(body.access_token).payload);
  setStatus(`Signed in as ${idClaims.preferred_username ?? idClaims.sub}. ID token signature, iss, aud, exp and nonce verified.`);
}

function report(error) {
  setStatus('Sign-in failed.');
  if (error instanceof SignInCheckError) showError(error.code, error.message);
  else showError('client_error', error?.message ?? String(error));
}

async function main() {
  const config = await loadConfig();
  const callback = new URL(config.redirectUri);
  const tamper = new URLSearchParams(location.search).get('tamper') === '1';
  element('tamper-notice').hidden = !tamper;
  const button = element('sign-in');
  button.addEventListener('click', () => {
    button.disabled = true;
    signIn(config, tamper).catch(report);
  });
  button.disabled = false;

  if (location.origin !== callback.origin) {
    // sessionStorage is per origin: a sign-in started here would come back to another one.
    setStatus(`Open this page at ${new URL('/spa/', callback).href} — the sign-in comes back to that origin.`);
  } else if (location.pathname === callback.pathname) {
    await completeSignIn(config);
  } else {
    setStatus('Not signed in.');
  }
}

main().catch(report);
