/** The demo applications registered with the example host. */

export const SPA_CLIENT_ID = 'example-spa';
export const NATIVE_CLIENT_ID = 'example-native';
/** The server-side web app of `relying-party.js`, an openid-client relying party: a confidential client. */
export const WEB_CLIENT_ID = 'example-web';
/** A machine client (`machine-client.js`): client credentials, for the API's `GET /api/status`. */
export const MACHINE_CLIENT_ID = 'example-machine';
/** The scope of `GET /api/status`, the only one the machine client is registered for. */
export const STATUS_SCOPE = 'status:read';

/**
 * Development defaults of the confidential clients' secrets, for a clone that runs as it is.
 * `server.js` takes EXAMPLE_WEB_CLIENT_SECRET and EXAMPLE_MACHINE_CLIENT_SECRET from the
 * environment instead, and says at start when it falls back to these. Never use them anywhere else.
 */
export const DEV_WEB_CLIENT_SECRET = 'example-web-dev-secret-change-me';
export const DEV_MACHINE_CLIENT_SECRET = 'example-machine-dev-secret-change-me';

/**
 * What `hashClientSecret` made of the development secrets, once (scrypt costs tens of
 * milliseconds a hash): what a host keeps in its registry instead of a secret.
 */
export const DEV_CLIENT_SECRET_HASHES = {
  webClientSecretHash: 'scrypt$14$8$1$GONp6hspSKegA99asgdcPA$SkUWbKi_FFxnyt5_i1XnODEG8iuoPMuGfw35UUwupYs',
  machineClientSecretHash: 'scrypt$14$8$1$jGNAaQUddocO1-o0NyPE-Q$3UDHHZ3oeyydbgb5rASjcEWRQGUmwo6odrKlbmhhkwE',
};

/** The path of the SPA's redirect URI on this host. */
export const SPA_CALLBACK_PATH = '/spa/callback';
/** The path of the web app's redirect URI on this host. */
export const WEB_CALLBACK_PATH = '/rp/callback';
/** The SPA's page, where logout sends the user back. */
export const SPA_HOME_PATH = '/spa/';
/** The web app's page, where logout sends the user back. */
export const WEB_HOME_PATH = '/rp/';

/**
 * The SPA and the web app served by this app, a native app, and a machine client. The token
 * endpoint compares redirect URIs exactly (no RFC 8252 §7.3 loopback port variance), so a native
 * app using a loopback redirect registers the port it listens on: here 8765. The web app and the
 * machine client authenticate with a secret (client_secret_basic): the registry holds only what
 * `hashClientSecret` made of it.
 *
 * @param {string} issuer
 * @param {{ webClientSecretHash: string, machineClientSecretHash: string }} [secrets]  default the development secrets' hashes
 */
export function demoClients(issuer, { webClientSecretHash, machineClientSecretHash } = DEV_CLIENT_SECRET_HASHES) {
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
      tokenEndpointAuthMethod: 'client_secret_basic',
      clientSecretHash: webClientSecretHash,
    },
    {
      // RFC 6749 §4.4: tokens for itself, with the scopes registered here; never redirected to.
      clientId: MACHINE_CLIENT_ID,
      redirectUris: [],
      tokenEndpointAuthMethod: 'client_secret_basic',
      clientSecretHash: machineClientSecretHash,
      grantTypes: ['client_credentials'],
      scopes: [STATUS_SCOPE],
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
