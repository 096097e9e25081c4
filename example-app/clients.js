/** The demo applications registered with the example host. */

export const SPA_CLIENT_ID = 'example-spa';
export const NATIVE_CLIENT_ID = 'example-native';
/** The server-side web app of `relying-party.js`, an openid-client relying party. */
export const WEB_CLIENT_ID = 'example-web';

/** The path of the SPA's redirect URI on this host. */
export const SPA_CALLBACK_PATH = '/spa/callback';
/** The path of the web app's redirect URI on this host. */
export const WEB_CALLBACK_PATH = '/rp/callback';
/** The SPA's page, where logout sends the user back. */
export const SPA_HOME_PATH = '/spa/';
/** The web app's page, where logout sends the user back. */
export const WEB_HOME_PATH = '/rp/';

/**
 * The SPA and the web app served by this app, and a native app. The token endpoint compares redirect URIs
 * exactly (no RFC 8252 §7.3 loopback port variance), so a native app using a loopback
 * redirect registers the port it listens on: here 8765.
 */
export function demoClients(issuer) {
  return [
    {
      clientId: SPA_CLIENT_ID,
      redirectUris: [`${baseUrl(issuer)}${SPA_CALLBACK_PATH}`],
      // Where the logout endpoint may send the user back (RP-Initiated Logout 1.0 §3).
      postLogoutRedirectUris: [`${baseUrl(issuer)}${SPA_HOME_PATH}`],
    },
    {
      clientId: NATIVE_CLIENT_ID,
      redirectUris: ['http://127.0.0.1/cb', 'http://127.0.0.1:8765/cb', 'com.example.app:/callback'],
    },
    {
      clientId: WEB_CLIENT_ID,
      redirectUris: [`${baseUrl(issuer)}${WEB_CALLBACK_PATH}`],
      postLogoutRedirectUris: [`${baseUrl(issuer)}${WEB_HOME_PATH}`],
    },
  ];
}

/**
 * Look a client up in what the `clients` option holds: an array of clients or a registry with
 * `findClient`, the same two forms `createTokenRouter` takes.
 */
export function clientLookup(clients) {
  if (Array.isArray(clients)) {
    const byId = new Map(clients.map((client) => [client.clientId, client]));
    return (clientId) => Promise.resolve(byId.get(clientId));
  }
  return (clientId) => clients.findClient(clientId);
}

/** The issuer without a trailing slash, to put paths after. */
export function baseUrl(issuer) {
  return issuer.replace(/\/+$/, '');
}
