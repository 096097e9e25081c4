import { ConfigurationError, describeValue } from '../config/configuration-error.js';
import { checkKnownFields } from '../config/option-checks.js';
import type { Client, ClientRegistry } from '../contracts.js';
import { CLIENT_ID_FORMAT, MAX_CLIENT_ID_LENGTH, MAX_REDIRECT_URI_LENGTH } from '../request/limits.js';
import { clientOrigins, isLoopbackHost, normaliseOrigin } from '../request/origins.js';
import { readClientAuthFields } from './client-auth-fields.js';
import { clientGrantsProblem, isConfidential } from './client-grants.js';

/*
 * The `clients` option, when it is an array: checked and copied when the router is created, then
 * served by a static registry. The lookup at request time is ./registry.ts.
 */

/** A registry over a fixed list of clients, given as the `clients` option. */
export class StaticClientRegistry implements ClientRegistry {
  readonly #clients: ReadonlyMap<string, Client>;
  /** Origins of the clients' http(s) redirect URIs and their `allowedOrigins`. */
  readonly origins: ReadonlySet<string>;
  /** The clients, in the order given. */
  readonly list: readonly Client[];

  constructor(clients: readonly Client[]) {
    this.list = clients;
    this.#clients = new Map(clients.map((client) => [client.clientId, client]));
    this.origins = new Set(clients.flatMap(clientOrigins));
  }

  findClient(clientId: string): Promise<Client | undefined> {
    return Promise.resolve(this.#clients.get(clientId));
  }
}

/** The fields of a `Client` in the `clients` option. */
const CLIENT_FIELDS = [
  'clientId',
  'redirectUris',
  'allowedOrigins',
  'allowPlainPkce',
  'allowInsecureRedirectUris',
  'postLogoutRedirectUris',
  'tokenEndpointAuthMethod',
  'clientSecretHash',
  'jwks',
  'jwksUri',
  'grantTypes',
  'scopes',
  'dpopBoundAccessTokens',
] as const satisfies readonly (keyof Client)[];
// Every field of the type is in the list (the `satisfies` above checks the converse).
const everyFieldListed: [Exclude<keyof Client, (typeof CLIENT_FIELDS)[number]>] extends [never] ? true : never = true;
void everyFieldListed;

/** Check the `clients` option when it is an array, and copy it so later edits cannot leak in. */
export function validateClients(value: readonly unknown[]): Client[] {
  const seen = new Set<string>();
  return value.map((entry, index) => {
    const option = `clients[${index}]`;
    const fail = (field: string, expected: string, received: unknown): never => {
      const at = field === '' ? option : `${option}.${field}`;
      throw new ConfigurationError(
        'ERR_OPTION_INVALID',
        at,
        `${at} must be ${expected}; received ${describeValue(received)}`,
      );
    };
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      return fail('', 'an object such as { clientId, redirectUris }', entry);
    }
    // A misspelt field (redirectUri) is refused with a hint, as a misspelt option is, rather
    // than read as absent.
    checkKnownFields(option, entry, CLIENT_FIELDS);
    // Own properties only: an opt-in such as allowInsecureRedirectUris on a polluted prototype is no client's.
    const own = (name: string): unknown =>
      Object.hasOwn(entry, name) ? (entry as Record<string, unknown>)[name] : undefined;
    const [clientId, redirectUris, allowedOrigins, allowPlainPkce, allowInsecureRedirectUris, postLogoutRedirectUris] =
      [
        own('clientId'),
        own('redirectUris'),
        own('allowedOrigins'),
        own('allowPlainPkce'),
        own('allowInsecureRedirectUris'),
        own('postLogoutRedirectUris'),
      ];
    if (typeof clientId !== 'string' || clientId.length > MAX_CLIENT_ID_LENGTH || !CLIENT_ID_FORMAT.test(clientId)) {
      return fail(
        'clientId',
        `a non-empty printable ASCII string of at most ${MAX_CLIENT_ID_LENGTH} characters`,
        clientId,
      );
    }
    if (seen.has(clientId)) return fail('clientId', 'unique among the clients', clientId);
    seen.add(clientId);
    // A machine client (client_credentials only) is never redirected to: it may have none.
    const grantTypesGiven = own('grantTypes');
    const signsUsersIn = !Array.isArray(grantTypesGiven) || grantTypesGiven.includes('authorization_code');
    if (!Array.isArray(redirectUris) || (redirectUris.length === 0 && signsUsersIn)) {
      return fail(
        'redirectUris',
        signsUsersIn ? 'a non-empty array of absolute URIs' : 'an array of absolute URIs (empty for a machine client)',
        redirectUris,
      );
    }
    if (allowInsecureRedirectUris !== undefined && typeof allowInsecureRedirectUris !== 'boolean') {
      return fail('allowInsecureRedirectUris', 'a boolean', allowInsecureRedirectUris);
    }
    // The user's browser is sent to either list: the same rules for both (RFC 6749 §3.1.2,
    // RP-Initiated Logout 1.0 §3).
    const checkUris = (field: string, uris: readonly unknown[]): void => {
      for (const uri of uris) {
        if (typeof uri !== 'string' || uri.length > MAX_REDIRECT_URI_LENGTH || !URL.canParse(uri)) {
          fail(field, `absolute URIs of at most ${MAX_REDIRECT_URI_LENGTH} characters`, uri);
        }
        const danger = redirectUriDanger(uri as string, allowInsecureRedirectUris === true);
        if (danger !== undefined) fail(field, danger, uri);
      }
    };
    checkUris('redirectUris', redirectUris);
    if (postLogoutRedirectUris !== undefined) {
      if (!Array.isArray(postLogoutRedirectUris)) {
        return fail('postLogoutRedirectUris', 'an array of absolute URIs', postLogoutRedirectUris);
      }
      checkUris('postLogoutRedirectUris', postLogoutRedirectUris);
    }
    if (allowedOrigins !== undefined && !Array.isArray(allowedOrigins)) {
      return fail('allowedOrigins', 'an array of origins', allowedOrigins);
    }
    if (allowPlainPkce !== undefined && typeof allowPlainPkce !== 'boolean') {
      return fail('allowPlainPkce', 'a boolean', allowPlainPkce);
    }
    // How the client authenticates (docs/clients.md): a secret's hash, or its public keys.
    const auth = readClientAuthFields(own);
    if ('field' in auth) return fail(auth.field, auth.expected, auth.received);
    const client: Client = { clientId, redirectUris: [...(redirectUris as string[])], ...auth };
    if (allowedOrigins !== undefined) {
      client.allowedOrigins = allowedOrigins.map((origin) => normaliseOrigin(origin, `${option}.allowedOrigins`));
    }
    if (postLogoutRedirectUris !== undefined) client.postLogoutRedirectUris = [...(postLogoutRedirectUris as string[])];
    if (allowPlainPkce !== undefined) client.allowPlainPkce = allowPlainPkce;
    if (allowInsecureRedirectUris !== undefined) client.allowInsecureRedirectUris = allowInsecureRedirectUris;
    const [grantTypes, scopes] = [own('grantTypes'), own('scopes')];
    const problem = clientGrantsProblem(grantTypes, scopes, isConfidential(client));
    if (problem !== undefined) return fail(problem.field, problem.expected, problem.received);
    if (grantTypes !== undefined) client.grantTypes = [...(grantTypes as NonNullable<Client['grantTypes']>)];
    if (scopes !== undefined) client.scopes = [...(scopes as string[])];
    const dpopBound = own('dpopBoundAccessTokens');
    if (dpopBound !== undefined && typeof dpopBound !== 'boolean') {
      return fail('dpopBoundAccessTokens', 'a boolean', dpopBound);
    }
    if (dpopBound !== undefined) client.dpopBoundAccessTokens = dpopBound;
    return client;
  });
}

/** Schemes that run or embed content in the browser, or read local files, rather than reach an application. */
const REFUSED_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:']);

/**
 * What a registered redirect URI must be, when it is not (`undefined` when it is fine): no
 * fragment (RFC 6749 §3.1.2), no wildcard (redirect URIs compare exactly, RFC 9700 §2.1), no
 * scheme that runs or embeds content, and no plain http (RFC 6749 §3.1.2.1) except to a loopback
 * host (RFC 8252 §7.3), unless the client opts in with `allowInsecureRedirectUris` for development.
 */
export function redirectUriDanger(uri: string, allowInsecure: boolean): string | undefined {
  // Checked on the string: a bare "#" parses to an empty hash.
  if (uri.includes('#')) return 'URIs without a fragment (RFC 6749 §3.1.2)';
  if (uri.includes('*')) return 'exact URIs, without a wildcard "*" (they are compared character for character)';
  const url = new URL(uri);
  if (REFUSED_SCHEMES.has(url.protocol)) return `URIs of an application, not of the ${url.protocol} scheme`;
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !allowInsecure) {
    return 'https URIs (http only to a loopback host: 127.0.0.1, [::1] or localhost; or with allowInsecureRedirectUris: true for development)';
  }
  return undefined;
}
