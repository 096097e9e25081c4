import { nearestName } from '../config/nearest-name.js';
import type { Client, ClientAuthMethod } from '../contracts.js';
import { isLoopbackHost } from '../request/origins.js';
import { parseClientSecretHash } from './client-secret.js';

/*
 * The fields of a Client that say how it authenticates (docs/clients.md), checked the same way for
 * the `clients` array (a ConfigurationError at startup, client-list.ts) and for a registry's
 * records (a 503 and a warning, registry.ts).
 */

/** Every method the router supports, in the order discovery lists them. */
export const CLIENT_AUTH_METHODS = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const satisfies readonly ClientAuthMethod[];

/** The fields a client's authentication method reads. */
export type ClientAuthFields = Pick<Client, 'tokenEndpointAuthMethod' | 'clientSecretHash' | 'jwks' | 'jwksUri'>;

/** What is wrong with one field: its name, what it must be, and the value received. */
export interface FieldProblem {
  field: string;
  expected: string;
  received: unknown;
}

/** JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The auth fields of a client, checked and copied; `own(name)` reads one own property. */
export function readClientAuthFields(own: (name: string) => unknown): ClientAuthFields | FieldProblem {
  const method = own('tokenEndpointAuthMethod');
  const secretHash = own('clientSecretHash');
  const jwks = own('jwks');
  const jwksUri = own('jwksUri');
  if (method !== undefined && !(CLIENT_AUTH_METHODS as readonly unknown[]).includes(method)) {
    const hint = typeof method === 'string' ? nearestName(method, CLIENT_AUTH_METHODS) : undefined;
    const expected = `one of ${CLIENT_AUTH_METHODS.map((name) => `"${name}"`).join(', ')}${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`;
    return { field: 'tokenEndpointAuthMethod', expected, received: method };
  }
  const chosen = (method ?? 'none') as ClientAuthMethod;
  const fields: ClientAuthFields = {};
  if (method !== undefined) fields.tokenEndpointAuthMethod = chosen;
  const notFor = (field: string, value: unknown, why: string): FieldProblem => ({
    field,
    expected: `left out with tokenEndpointAuthMethod "${chosen}" (${why})`,
    received: value,
  });
  if (chosen === 'client_secret_basic' || chosen === 'client_secret_post') {
    if (jwks !== undefined) return notFor('jwks', jwks, 'keys are for private_key_jwt');
    if (jwksUri !== undefined) return notFor('jwksUri', jwksUri, 'keys are for private_key_jwt');
    const expected = `what hashClientSecret(secret) returns (tokenEndpointAuthMethod "${chosen}" needs it)`;
    if (typeof secretHash !== 'string') return { field: 'clientSecretHash', expected, received: secretHash };
    const parsed = parseClientSecretHash(secretHash);
    // The hash is not quoted back: it is derived from a secret.
    if (typeof parsed === 'string')
      return { field: 'clientSecretHash', expected: `${expected}: ${parsed}`, received: 'a string' };
    fields.clientSecretHash = secretHash;
    return fields;
  }
  if (chosen === 'none') {
    const why = 'a public client has no credentials; set tokenEndpointAuthMethod';
    if (secretHash !== undefined) return notFor('clientSecretHash', 'a value', why);
    if (jwks !== undefined) return notFor('jwks', jwks, why);
    if (jwksUri !== undefined) return notFor('jwksUri', jwksUri, why);
    return fields;
  }
  // private_key_jwt (RFC 7523 §2.2, OIDC Core §9).
  if (secretHash !== undefined) return notFor('clientSecretHash', 'a value', 'private_key_jwt uses keys, not a secret');
  if ((jwks === undefined) === (jwksUri === undefined)) {
    return {
      field: 'jwks',
      expected: 'given, or jwksUri given, but not both (tokenEndpointAuthMethod "private_key_jwt" needs exactly one)',
      received: jwks,
    };
  }
  if (jwksUri !== undefined) {
    const problem = jwksUriProblem(jwksUri);
    if (problem !== undefined) return { field: 'jwksUri', expected: problem, received: jwksUri };
    fields.jwksUri = jwksUri as string;
    return fields;
  }
  const problem = jwksProblem(jwks);
  if (problem !== undefined) return { field: 'jwks', expected: problem, received: jwks };
  // A copy through JSON: what the router verifies with is exactly what was checked.
  fields.jwks = JSON.parse(JSON.stringify(jwks)) as NonNullable<Client['jwks']>;
  return fields;
}

function jwksUriProblem(value: unknown): string | undefined {
  const expected = 'an absolute https URL (http only to a loopback host)';
  if (typeof value !== 'string' || !URL.canParse(value)) return expected;
  const url = new URL(value);
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  return ok && url.username === '' && url.password === '' ? undefined : expected;
}

function jwksProblem(value: unknown): string | undefined {
  const expected = 'a JWK Set of public keys, { keys: [{ kty, ... }] }, with at least one key';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return expected;
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) return expected;
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || typeof (key as { kty?: unknown }).kty !== 'string') return expected;
    const jwk = key as Record<string, unknown>;
    if (jwk.kty === 'oct')
      return `${expected}: a shared-secret (oct) key cannot authenticate a client by private_key_jwt`;
    if (PRIVATE_JWK_MEMBERS.some((member) => Object.hasOwn(jwk, member))) {
      return `${expected}: public keys only (a key here has a private member; keep the private key with the client)`;
    }
  }
  return undefined;
}

/** The method a checked client uses. */
export function authMethodOf(client: Pick<Client, 'tokenEndpointAuthMethod'>): ClientAuthMethod {
  return client.tokenEndpointAuthMethod ?? 'none';
}
