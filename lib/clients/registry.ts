import { describeValue } from '../config/configuration-error.js';
import type { Client, ClientRegistry } from '../contracts.js';
import { guard, RequestError } from '../response/request-error.js';
import { readClientAuthFields } from './client-auth-fields.js';
import { clientGrantsProblem, isConfidential } from './client-grants.js';
import { StaticClientRegistry } from './client-list.js';

/**
 * docs/contract.md "Order of checks", step 5: the client, when a registry is configured. Unknown (`undefined`
 * or `null`, as database lookups often resolve) is refused as `client_unknown`; a record the
 * router cannot use is `client_record_invalid` (503), with a process warning naming the client_id:
 * both before anything is spent, so a registry's bad data never costs a code, and the CORS step
 * that reads the record after the exchange cannot fail (docs/stores.md).
 */
export async function findRegisteredClient(
  registry: ClientRegistry | undefined,
  clientId: string,
): Promise<Client | undefined> {
  if (registry === undefined) return undefined;
  // A synchronous throw is an unreachable registry too.
  const found: unknown = await guard(
    Promise.resolve().then(() => registry.findClient(clientId)),
    'store_unavailable',
  );
  if (found === undefined || found === null) throw new RequestError('client_unknown');
  // The static registry's clients were checked and copied when the router was created.
  if (registry instanceof StaticClientRegistry) return found as Client;
  let record: Client | string;
  try {
    record = readClientRecord(found);
  } catch {
    record = 'could not be read (a property of it threw)';
  }
  if (typeof record === 'string') {
    warnMalformedRecord(clientId, record);
    throw new RequestError('client_record_invalid');
  }
  // A record under another id (a case-insensitive lookup, say) is not this client: client_id is
  // compared exactly (RFC 6749 §2.2).
  if (record.clientId !== clientId) throw new RequestError('client_unknown');
  return record;
}

/**
 * A registry's record as a `Client` the router can rely on, read from its own properties only (an
 * inherited `redirectUris`, such as one on a polluted prototype, is no record's), and copied so
 * nothing the registry does later reaches the request; or why it cannot be used.
 */
function readClientRecord(found: unknown): Client | string {
  if (typeof found !== 'object' || Array.isArray(found))
    return `is ${describeValue(found)}, not a { clientId, redirectUris } object`;
  const record = found as Record<string, unknown>;
  const own = (name: string): unknown => (Object.hasOwn(record, name) ? record[name] : undefined);
  const clientId = own('clientId');
  if (typeof clientId !== 'string') return `has no own clientId string (received ${describeValue(clientId)})`;
  const redirectUris = stringArray(own('redirectUris'));
  if (redirectUris === undefined) return 'has no own redirectUris array of strings';
  const client: Client = { clientId, redirectUris };
  const allowedOrigins = own('allowedOrigins');
  if (allowedOrigins !== undefined) {
    const origins = stringArray(allowedOrigins);
    if (origins === undefined) return 'has an allowedOrigins that is not an array of strings';
    client.allowedOrigins = origins;
  }
  const postLogoutRedirectUris = own('postLogoutRedirectUris');
  if (postLogoutRedirectUris !== undefined) {
    const uris = stringArray(postLogoutRedirectUris);
    if (uris === undefined) return 'has a postLogoutRedirectUris that is not an array of strings';
    client.postLogoutRedirectUris = uris;
  }
  const allowPlainPkce = own('allowPlainPkce');
  if (allowPlainPkce !== undefined) {
    if (typeof allowPlainPkce !== 'boolean') return 'has an allowPlainPkce that is not a boolean';
    client.allowPlainPkce = allowPlainPkce;
  }
  const auth = readClientAuthFields(own);
  if ('field' in auth) return `has a ${auth.field} that is not ${auth.expected}`;
  Object.assign(client, auth);
  const grantTypes = own('grantTypes');
  const scopes = own('scopes');
  const problem = clientGrantsProblem(grantTypes, scopes, isConfidential(client));
  if (problem !== undefined) return `has a ${problem.field} that is not ${problem.expected}`;
  if (grantTypes !== undefined) client.grantTypes = [...(grantTypes as NonNullable<Client['grantTypes']>)];
  if (scopes !== undefined) client.scopes = [...(scopes as string[])];
  const dpopBound = own('dpopBoundAccessTokens');
  if (dpopBound !== undefined) {
    if (typeof dpopBound !== 'boolean') return 'has a dpopBoundAccessTokens that is not a boolean';
    client.dpopBoundAccessTokens = dpopBound;
  }
  return client;
}

/** A copy of an array whose every element (holes included) is a string, or `undefined`. */
function stringArray(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const copy: string[] = [];
  for (let index = 0; index < value.length; index++) {
    const entry: unknown = value[index];
    if (typeof entry !== 'string') return undefined;
    copy.push(entry);
  }
  return copy;
}

/** Malformed records already warned about, by client_id and problem. */
const warnedRecords = new Set<string>();
/** Enough for every broken record of a registry, without growing on a stream of client_ids. */
const MAX_WARNED_RECORDS = 100;

function warnMalformedRecord(clientId: string, problem: string): void {
  const key = `${clientId}\n${problem}`;
  if (warnedRecords.has(key) || warnedRecords.size > MAX_WARNED_RECORDS) return;
  warnedRecords.add(key);
  const more =
    warnedRecords.size > MAX_WARNED_RECORDS
      ? ' (further malformed records are not warned about; see request_rejected events)'
      : '';
  process.emitWarning(
    `the client registry's record for client_id ${describeValue(clientId)} ${problem}; its token and revocation requests are answered 503 temporarily_unavailable, and nothing is spent, until the record is fixed${more}`,
    { code: 'PKCE_TOKEN_ROUTER_CLIENT_RECORD' },
  );
}
