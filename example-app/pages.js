/** HTML for the host's own pages. Every value put into a page goes through `escapeHtml`. */

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  // Sign-in pages and authorization answers are per user and per request: never cache them.
  'Cache-Control': 'no-store',
  // No scripts at all on these pages. No form-action: after sign-in the browser follows a redirect
  // to the client's redirect URI (another origin or a custom scheme), which form-action would block.
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // The authorization request's URL carries state and the PKCE challenge: keep it to ourselves.
  'Referrer-Policy': 'no-referrer',
};

/** Escape text for an HTML element or a double- or single-quoted attribute. */
export function escapeHtml(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Send a page with the headers every host page carries. */
export function sendPage(res, status, html) {
  res.status(status).set(PAGE_HEADERS).send(html);
}

export function layout(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · pkce-token-router example</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** `/`: what the demo is, and where to start. */
export function renderHome({ session, issuer }) {
  const who =
    session === undefined
      ? '<p>You are not signed in to the host. The SPA will send you to its sign-in page.</p>'
      : `<p>Signed in to the host as <strong>${escapeHtml(session.username)}</strong>.</p>
<form method="post" action="/logout"><button type="submit">Sign out of the host</button></form>`;
  return layout(
    'Home',
    `<h1>pkce-token-router example</h1>
<p>This host app owns the users, the sign-in page and the authorization step at <code>/authorize</code>, and mounts the library's token endpoint at <code>/oauth2/token</code> with its public keys at <code>/oauth2/jwks</code>.
The demo single-page app signs in with the authorization-code grant and PKCE, exchanges the code from the browser, and verifies the ID token against those keys.</p>
<p><a class="button" href="/spa/">Open the demo SPA</a></p>
<p><a class="button" href="/rp/">Open the demo web app</a> <span class="note">a server-side client built on openid-client</span></p>
<p class="note">Demo aid: <a href="/spa/?tamper=1">/spa/?tamper=1</a> signs in with a wrong PKCE verifier, to show the token endpoint refusing the code.</p>
${who}
<p class="note">Issuer: <code>${escapeHtml(issuer)}</code></p>`,
  );
}

/**
 * The sign-in page of the authorization step. `authorizeQuery` is the original authorization
 * request, carried through the form so the flow can continue after sign-in. `username` is what
 * a failed attempt typed, kept in its field (the password never is), with the focus on the password.
 */
export function renderSignIn({ authorizeQuery, clientId, error, demoUsers, username }) {
  const demo = demoUsers
    .map((user) => `<li><code>${escapeHtml(user.username)}</code> / <code>${escapeHtml(user.password)}</code></li>`)
    .join('\n');
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
${clientId === undefined ? '' : `<p>to continue to <strong>${escapeHtml(clientId)}</strong></p>`}
${error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form method="post" action="/login">
<label>Username <input name="username" autocomplete="username" required${username === undefined ? ' autofocus' : ` value="${escapeHtml(username)}"`}></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required${username === undefined ? '' : ' autofocus'}></label>
<input type="hidden" name="authorize_query" value="${escapeHtml(authorizeQuery)}">
<button type="submit">Sign in</button>
</form>
<aside class="note">
<p>Demo credentials (this is a demo host; never show passwords in a real one):</p>
<ul>
${demo}
</ul>
</aside>`,
  );
}

/** An error the user sees on the host itself, e.g. an unknown client or redirect URI. */
export function renderError({ title, message }) {
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="error">${escapeHtml(message)}</p>
<p><a href="/">Back to the example's home page</a></p>`,
  );
}
