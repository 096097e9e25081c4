import { hideAnswer, showAnswer } from './api-call.js';
import { deleteDpopKeyPair, fetchWithDpop, loadDpopKeyPair } from './dpop.js';
import {
  checkIdTokenClaims,
  createPkcePair,
  decodeJwt,
  exchangeCode,
  fetchJwks,
  randomToken,
  refreshTokens,
  revokeToken,
  SignInCheckError,
  verifyJwtSignature,
} from './oidc-client.js';

/** What the sign-in must remember across the redirect, for this tab only. */
const PENDING_KEY = 'example-spa:pending-sign-in';
/**
 * The SPA's tokens and the claims it verified, shared by every tab of the origin
 * (localStorage): while they are here the SPA is signed in. They are bound to the origin's DPoP
 * key (dpop.js), which script can use but never read out, so a copy of them taken from this
 * storage is of no use elsewhere (RFC 9449 §1). Two tabs that refresh at once both get new
 * tokens: the router's grace window (`refreshTokenReuseInterval`) answers the second as well.
 */
const TOKENS_KEY = 'example-spa:tokens';
/** Where the answers of the host's API and of UserInfo are shown. */
const API_ANSWER = { preId: 'api-profile', errorId: 'api-error' };
const USERINFO_ANSWER = { preId: 'userinfo-claims', errorId: 'userinfo-error' };
/** The `state` of a logout this tab started, until the logout endpoint sends the user back. */
const LOGOUT_KEY = 'example-spa:pending-logout';

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

function hideClaims(id) {
  const pre = element(id);
  pre.textContent = '';
  pre.closest('section').hidden = true;
}

function storedTokens() {
  return JSON.parse(localStorage.getItem(TOKENS_KEY) ?? 'null');
}

/**
 * What a request with the access token needs: the token, its type (`DPoP` when the token
 * endpoint bound it to the key, RFC 9449 §5) and the key pair to prove possession with.
 */
async function sessionOf(tokens) {
  return { accessToken: tokens.accessToken, tokenType: tokens.tokenType, dpopKeyPair: await loadDpopKeyPair() };
}

/** Token requests carry a DPoP proof of the origin's key (RFC 9449 §5), with the nonce retry of §8. */
async function dpopSender() {
  const keyPair = await loadDpopKeyPair();
  return (url, init) => fetchWithDpop(keyPair, url, init);
}

/** The token response as the SPA keeps it; the ID token's claims were verified by the caller. */
function tokensFrom(body, idClaims) {
  return {
    accessToken: body.access_token,
    tokenType: body.token_type,
    refreshToken: body.refresh_token,
    // Kept for the logout request's id_token_hint (RP-Initiated Logout 1.0 §2).
    idToken: body.id_token,
    idClaims,
    accessClaims: decodeJwt(body.access_token).payload,
  };
}

/** Call the host's API and UserInfo with the access token, and show both answers. */
async function showAnswers(config, tokens) {
  const session = await sessionOf(tokens);
  await showAnswer(config.apiEndpoint, session, API_ANSWER);
  await showAnswer(config.userinfoEndpoint, session, USERINFO_ANSWER);
}

/**
 * The buttons and claims follow the tokens: "Sign in" while the SPA has none, "Sign out of the
 * SPA" and the claims while it has them (`tokens`, or `null`).
 */
function showSession(tokens) {
  const signedIn = tokens !== null;
  element('sign-in').hidden = signedIn;
  element('sign-in').disabled = signedIn;
  element('sign-out').hidden = !signedIn;
  element('sign-out').disabled = !signedIn;
  element('refresh').hidden = !signedIn;
  element('refresh').disabled = !signedIn;
  element('host-session-note').hidden = !signedIn;
  if (signedIn) {
    showClaims('id-token-claims', tokens.idClaims);
    showClaims('access-token-claims', tokens.accessClaims);
  } else {
    hideClaims('id-token-claims');
    hideClaims('access-token-claims');
    hideAnswer(API_ANSWER);
    hideAnswer(USERINFO_ANSWER);
  }
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
    throw new SignInCheckError(
      'no_pending_sign_in',
      'this tab did not start a sign-in (the PKCE verifier and state live in sessionStorage)',
    );
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
    send: await dpopSender(),
  });
  if (!ok) {
    setStatus(`The token endpoint refused the code (HTTP ${status}).`);
    showError(typeof body?.error === 'string' ? body.error : `http_${status}`, body?.error_description);
    return;
  }
  if (typeof body?.id_token !== 'string')
    throw new SignInCheckError('invalid_response', 'the token response has no id_token');

  setStatus('Checking the ID token against the JWKS…');
  const { payload: idClaims } = await verifyJwtSignature(body.id_token, await fetchJwks(config.jwksUri));
  checkIdTokenClaims(idClaims, { issuer: config.issuer, clientId: config.clientId, nonce: pending.nonce });
  const tokens = tokensFrom(body, idClaims);
  localStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
  showSession(tokens);
  setStatus(
    `Signed in as ${idClaims.preferred_username ?? idClaims.sub}. ID token signature, iss, aud, exp and nonce verified.`,
  );
  await showAnswers(config, tokens);
}

/**
 * New tokens for the refresh token (RFC 6749 §6), with a proof of the key the refresh token is
 * bound to. The answer's refresh token replaces the one sent (rotation). A refused refresh token
 * (expired, revoked, or its family revoked as reuse) signs the SPA out; a 503 leaves it as it was.
 */
async function refresh(config) {
  const tokens = storedTokens();
  if (typeof tokens?.refreshToken !== 'string') return;
  element('error').hidden = true;
  setStatus('Refreshing the tokens…');
  const { ok, status, body } = await refreshTokens({
    tokenEndpoint: config.tokenEndpoint,
    clientId: config.clientId,
    refreshToken: tokens.refreshToken,
    send: await dpopSender(),
  });
  if (!ok) {
    const error = typeof body?.error === 'string' ? body.error : `http_${status}`;
    if (status === 400) {
      localStorage.removeItem(TOKENS_KEY);
      showSession(null);
    }
    setStatus(`The token endpoint refused the refresh (HTTP ${status}).`);
    showError(error, body?.error_description);
    return;
  }
  // The ID token verified at sign-in stays (for logout's id_token_hint); a refreshed one would need the same checks.
  const next = tokensFrom({ ...body, id_token: tokens.idToken }, tokens.idClaims);
  localStorage.setItem(TOKENS_KEY, JSON.stringify(next));
  showSession(next);
  setStatus(`Refreshed: a new access token (${next.tokenType}) and the refresh token's successor.`);
  await showAnswers(config, next);
}

/**
 * Sign out: forget the SPA's tokens, revoke its refresh token (RFC 7009), so that no copy of it
 * can get new tokens, then end the host session at the logout endpoint (RP-Initiated Logout 1.0),
 * which sends the browser back here with our `state`. Should the revocation fail, the SPA stays
 * to say so, and the host session is left as it is.
 */
async function signOut(config) {
  const tokens = storedTokens();
  const revoked = await forgetAndRevoke(config, tokens);
  if (!revoked || typeof tokens?.idToken !== 'string') return;
  setStatus('Signing out of the host…');
  const state = randomToken(16);
  sessionStorage.setItem(LOGOUT_KEY, state);
  const url = new URL(config.endSessionEndpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    id_token_hint: tokens.idToken,
    post_logout_redirect_uri: config.postLogoutRedirectUri,
    state,
  }).toString();
  location.assign(url.href);
}

/** Back from the logout endpoint: check its `state` is the one this tab sent. */
function completeSignOut(params) {
  const expected = sessionStorage.getItem(LOGOUT_KEY);
  sessionStorage.removeItem(LOGOUT_KEY);
  history.replaceState(null, '', location.pathname);
  if (expected === null || params.get('state') !== expected) {
    setStatus('Not signed in.');
    showError('state_mismatch', 'the state coming back from the logout endpoint is not the one this tab sent');
    return;
  }
  setStatus('Signed out of the SPA and of the host: its refresh token is revoked and the host session ended.');
}

/**
 * Forget the SPA's tokens and its DPoP key (every tab's: both are the origin's), and revoke its
 * refresh token; whether that went through.
 */
async function forgetAndRevoke(config, tokens) {
  localStorage.removeItem(TOKENS_KEY);
  await deleteDpopKeyPair();
  element('error').hidden = true;
  hideClaims('id-token-claims');
  hideClaims('access-token-claims');
  hideAnswer(API_ANSWER);
  hideAnswer(USERINFO_ANSWER);
  // A reload of the redirect URI would look for a sign-in to finish: go back to the SPA's page.
  if (location.pathname === new URL(config.redirectUri).pathname) history.replaceState(null, '', '/spa/');
  try {
    if (typeof tokens?.refreshToken !== 'string') {
      setStatus('Signed out of the SPA.');
      return true;
    }
    setStatus('Revoking the refresh token…');
    const { ok, status } = await revokeToken({
      revocationEndpoint: config.revocationEndpoint,
      clientId: config.clientId,
      token: tokens.refreshToken,
    });
    if (ok) {
      setStatus('Signed out of the SPA: its tokens are forgotten and its refresh token is revoked.');
      return true;
    }
    setStatus('Signed out of the SPA; its tokens are forgotten.');
    showError(
      'revocation_failed',
      `the revocation endpoint answered HTTP ${status}: the refresh token may stay valid until it expires`,
    );
    return false;
  } finally {
    showSession(null);
  }
}

function report(error) {
  setStatus('Sign-in failed.');
  if (error instanceof SignInCheckError) showError(error.code, error.message);
  else showError('client_error', error?.message ?? String(error));
}

function reportSignOut(error) {
  setStatus('Signed out of the SPA; its tokens are forgotten.');
  showError(
    'revocation_failed',
    `${error?.message ?? String(error)}: the refresh token may stay valid until it expires`,
  );
}

async function main() {
  const config = await loadConfig();
  const callback = new URL(config.redirectUri);
  const tamper = new URLSearchParams(location.search).get('tamper') === '1';
  element('tamper-notice').hidden = !tamper;
  element('host-home').href = `${config.issuer.replace(/\/+$/, '')}/`;
  const button = element('sign-in');
  button.addEventListener('click', () => {
    button.disabled = true;
    signIn(config, tamper).catch((error) => {
      report(error);
      button.disabled = false;
    });
  });
  const signOutButton = element('sign-out');
  signOutButton.addEventListener('click', () => {
    signOutButton.disabled = true;
    signOut(config).catch(reportSignOut);
  });
  const refreshButton = element('refresh');
  refreshButton.addEventListener('click', () => {
    refreshButton.disabled = true;
    refresh(config)
      .catch(report)
      .finally(() => {
        refreshButton.disabled = storedTokens() === null;
      });
  });
  // Another tab of the origin signed in, refreshed or signed out: show what it left.
  window.addEventListener('storage', (event) => {
    if (event.key !== TOKENS_KEY && event.key !== null) return;
    const tokens = storedTokens();
    showSession(tokens);
    if (tokens === null) setStatus('Signed out in another tab.');
  });

  const tokens = storedTokens();
  if (tokens !== null) {
    // Signed in earlier in this tab (a reload, or back from another page).
    showSession(tokens);
    setStatus(
      `Signed in as ${tokens.idClaims.preferred_username ?? tokens.idClaims.sub}. The ID token was verified at sign-in.`,
    );
    await showAnswers(config, tokens);
    return;
  }
  if (location.origin !== callback.origin) {
    // Web storage is per origin: a sign-in started here would come back to another one.
    setStatus(`Open this page at ${new URL('/spa/', callback).href} — the sign-in comes back to that origin.`);
  } else if (location.pathname === callback.pathname) {
    // A failed sign-in leaves the SPA without tokens: "Sign in" again.
    await completeSignIn(config).catch(report);
  } else if (
    location.href.startsWith(config.postLogoutRedirectUri) &&
    new URLSearchParams(location.search).has('state')
  ) {
    completeSignOut(new URLSearchParams(location.search));
  } else {
    setStatus('Not signed in.');
  }
  showSession(storedTokens());
}

main().catch(report);
