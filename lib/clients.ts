import type { Client, ClientRegistry } from './adapters/interfaces.js';
import { ConfigurationError, describeValue } from './configuration-error.js';
import { CLIENT_ID_FORMAT, MAX_CLIENT_ID_LENGTH, MAX_REDIRECT_URI_LENGTH } from './limits.js';
import { clientOrigins, normaliseOrigin } from './origins.js';
import { guard, RequestError } from './request-error.js';

/** A registry over a fixed list of clients, given as the `clients` option. */
export class StaticClientRegistry implements ClientRegistry {
  readonly #clients: ReadonlyMap<string, Client>;
  /** Origins of the clients' http(s) redirect URIs and their `allowedOrigins`. */
  readonly origins: ReadonlySet<string>;

  constructor(clients: readonly Client[]) {
    this.#clients = new Map(clients.map((client) => [client.clientId, client]));
    this.origins = new Set(clients.flatMap(clientOrigins));
  }

  findClient(clientId: string): Promise<Client | undefined> {
    return Promise.resolve(this.#clients.get(clientId));
  }
}

/** Check the `clients` option when it is an array, and copy it so later edits cannot leak in. */
export function validateClients(value: readonly unknown[]): Client[] {
  const seen = new Set<string>();
  return value.map((entry, index) => {
    const option = `clients[${index}]`;
    const fail = (field: string, expected: string, received: unknown): never => {
      throw new ConfigurationError(
        'ERR_OPTION_INVALID',
        `${option}.${field}`,
        `${option}.${field} must be ${expected}; received ${describeValue(received)}`,
      );
    };
    if (typeof entry !== 'object' || entry === null) return fail('', 'an object', entry);
    const { clientId, redirectUris, allowedOrigins, allowPlainPkce } = entry as Record<string, unknown>;
    if (
      typeof clientId !== 'string' ||
      clientId.length > MAX_CLIENT_ID_LENGTH ||
      !CLIENT_ID_FORMAT.test(clientId)
    ) {
      return fail('clientId', `a non-empty printable ASCII string of at most ${MAX_CLIENT_ID_LENGTH} characters`, clientId);
    }
    if (seen.has(clientId)) return fail('clientId', 'unique among the clients', clientId);
    seen.add(clientId);
    if (!Array.isArray(redirectUris) || redirectUris.length === 0) {
      return fail('redirectUris', 'a non-empty array of absolute URIs', redirectUris);
    }
    for (const uri of redirectUris) {
      if (typeof uri !== 'string' || uri.length > MAX_REDIRECT_URI_LENGTH || !URL.canParse(uri)) {
        fail('redirectUris', `absolute URIs of at most ${MAX_REDIRECT_URI_LENGTH} characters`, uri);
      }
    }
    if (allowedOrigins !== undefined && !Array.isArray(allowedOrigins)) {
      return fail('allowedOrigins', 'an array of origins', allowedOrigins);
    }
    if (allowPlainPkce !== undefined && typeof allowPlainPkce !== 'boolean') {
      return fail('allowPlainPkce', 'a boolean', allowPlainPkce);
    }
    const client: Client = { clientId, redirectUris: [...(redirectUris as string[])] };
    if (allowedOrigins !== undefined) {
      client.allowedOrigins = allowedOrigins.map((origin) =>
        normaliseOrigin(origin, `${option}.allowedOrigins`),
      );
    }
    if (allowPlainPkce !== undefined) client.allowPlainPkce = allowPlainPkce;
    return client;
  });
}

/** SPEC "Order of checks" step 5: the client, when a registry is configured; unknown is refused. */
export async function findRegisteredClient(
  registry: ClientRegistry | undefined,
  clientId: string,
): Promise<Client | undefined> {
  if (registry === undefined) return undefined;
  const client = await guard(registry.findClient(clientId), 'store_unavailable');
  if (client === undefined) throw new RequestError('client_unknown');
  return client;
}
