/** HTML for the demo web app's pages (`/rp/`). Every value goes through `escapeHtml`. */
import { escapeHtml, layout } from './pages.js';

const INTRO = `<p>A server-side web app, a relying party built on the <code>openid-client</code> library.
It sends you to the host's <code>/authorize</code> with PKCE (S256), state and nonce, then redeems the code at the token endpoint from the server, and shows what the ID token says.</p>`;

/** `/rp/` before sign-in. */
export function renderRelyingPartyHome() {
  return layout(
    'Demo web app',
    `<h1>Demo web app</h1>
${INTRO}
<p><a id="rp-sign-in" class="button" href="/rp/login">Sign in with the example host</a></p>
<p><a href="/">Home</a></p>`,
  );
}

/**
 * `/rp/` after sign-in: the ID token's claims (validated by openid-client), the access token's
 * claims (decoded only: an API checks those), and the token response's metadata. Never a token.
 */
export function renderRelyingPartySignedIn({ idTokenClaims, accessTokenClaims, scope, tokenType, expiresIn }) {
  const name = idTokenClaims.name ?? idTokenClaims.preferred_username ?? idTokenClaims.sub;
  return layout(
    'Signed in · Demo web app',
    `<h1>Demo web app</h1>
<p id="rp-status" role="status">Signed in as <strong>${escapeHtml(name)}</strong>.</p>
<p class="note">Token response: <code>token_type</code> ${escapeHtml(tokenType)}, <code>expires_in</code> ${escapeHtml(expiresIn ?? '(none)')}, <code>scope</code> ${escapeHtml(scope ?? '(none)')}.</p>
<section>
<h2>ID token claims <small>(validated by openid-client: signature against the JWKS, iss, aud, exp, iat, nonce)</small></h2>
<pre id="rp-id-token-claims">${escapeHtml(JSON.stringify(idTokenClaims, null, 2))}</pre>
</section>
<section>
<h2>Access token claims <small>(decoded only: the access token is for an API to verify)</small></h2>
<pre id="rp-access-token-claims">${escapeHtml(JSON.stringify(accessTokenClaims, null, 2))}</pre>
</section>
<form method="post" action="/rp/logout"><button type="submit">Sign out of the web app</button></form>
<p class="note">Signing out here ends the web app's session only; the host's session (single sign-on) stays until you sign out there.</p>
<p><a href="/">Home</a></p>`,
  );
}

/** A sign-in that did not complete: the error code and description, as a client would log them. */
export function renderRelyingPartyError({ error, description }) {
  return layout(
    'Sign-in failed · Demo web app',
    `<h1>Demo web app</h1>
<p>Sign-in failed.</p>
<p id="rp-error" class="error" role="alert" data-error="${escapeHtml(error)}">${escapeHtml(description ? `${error}: ${description}` : error)}</p>
<p><a class="button" href="/rp/login">Try again</a> <a href="/rp/">Back to the web app</a></p>`,
  );
}
