/*
 * A single-page app on oidc-client-ts (its browser build, the global `oidc`), with the library's
 * defaults: discovery from the authority, the code flow with PKCE, UserInfo loaded after sign-in
 * (`loadUserInfo`), and RP-initiated logout through the discovery's end_session_endpoint.
 * The test reads what it shows: #status, #profile (the user's claims), #api (GET /api/profile).
 */
/* global oidc */
const show = (id, value) => {
  document.getElementById(id).textContent = typeof value === 'string' ? value : JSON.stringify(value);
};

async function main() {
  const config = await (await fetch('/config.json')).json();
  const manager = new oidc.UserManager({
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: `${location.origin}/callback.html`,
    post_logout_redirect_uri: `${location.origin}/`,
    response_type: 'code',
    scope: 'openid profile email',
    loadUserInfo: true,
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  });
  document.getElementById('sign-in').addEventListener('click', () => {
    manager.signinRedirect().catch((error) => show('error', String(error?.message ?? error)));
  });
  document.getElementById('sign-out').addEventListener('click', () => {
    manager.signoutRedirect({ state: 'signed-out' }).catch((error) => show('error', String(error?.message ?? error)));
  });

  if (location.pathname === '/callback.html') {
    const user = await manager.signinRedirectCallback();
    history.replaceState(null, '', '/');
    show('profile', user.profile);
    const api = await fetch(config.apiEndpoint, { headers: { Authorization: `Bearer ${user.access_token}` } });
    show('api', { status: api.status, body: await api.json() });
    show('status', 'signed-in');
    return;
  }
  if (new URLSearchParams(location.search).has('state')) {
    const response = await manager.signoutRedirectCallback();
    await manager.removeUser();
    show('status', `signed-out:${response.userState}`);
    return;
  }
  show('status', (await manager.getUser()) === null ? 'anonymous' : 'signed-in');
}

main().catch((error) => {
  show('status', 'failed');
  show('error', String(error?.message ?? error));
});
