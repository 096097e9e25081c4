import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Client, ClientAuthMethod, Clock, ReplayStore } from '../contracts.js';
import { hashSecret } from '../crypto/secrets.js';
import { guard, type RejectReason, RequestError } from '../response/request-error.js';
import { authMethodOf } from './client-auth-fields.js';
import { MAX_CLIENT_SECRET_LENGTH, parseClientSecretHash, verifyClientSecret } from './client-secret.js';

/*
 * Client authentication (RFC 6749 §2.3, §3.2.1; RFC 7523 §2.2, §3; OIDC Core §9): docs/contract.md
 * "Order of checks", step 5a, on the token and revocation endpoints, and wherever a client must
 * prove who it is (introspection, client_credentials). One method per client (docs/clients.md).
 */

/** What a request carries that can authenticate a client: its Authorization header and form parameters. */
export interface ClientCredentialsInput {
  /** The `Authorization` header, as received. */
  authorization: string | undefined;
  /** The parsed form body's parameters (empty counts as absent). */
  params: {
    readonly client_id?: string | undefined;
    readonly client_secret?: string | undefined;
    readonly client_assertion_type?: string | undefined;
    readonly client_assertion?: string | undefined;
  };
}

/** What authentication needs besides the request and the client. */
export interface ClientAuthenticationContext {
  /**
   * The `aud` values an assertion may name, one of which it must (RFC 7523 §3, item 3): the
   * issuer, the token endpoint's URL, and the URL of the endpoint asked.
   */
  audiences: readonly string[];
  /** Where assertion `jti`s are remembered; without one, private_key_jwt cannot be accepted. */
  replayStore: ReplayStore | undefined;
  /** The router's clock (epoch milliseconds). */
  now: Clock;
}

/** The outcome of {@link authenticateClient}. */
export type ClientAuthentication =
  | { ok: true; method: ClientAuthMethod }
  | {
      ok: false;
      /** The `request_rejected` reason; every one is answered 401 `invalid_client`. */
      reason: ClientAuthRejectReason;
      /** Whether the request used HTTP Basic: the 401 then challenges `Basic` (RFC 6749 §5.2). */
      basicTried: boolean;
    };

/** The reasons client authentication fails for. */
export type ClientAuthRejectReason = Extract<
  RejectReason,
  | 'client_auth_malformed'
  | 'client_auth_missing'
  | 'client_auth_method_mismatch'
  | 'client_secret_invalid'
  | 'client_assertion_invalid'
  | 'client_assertion_replayed'
  | 'client_jwks_unavailable'
>;

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Asymmetric JWS algorithms only (RFC 7523 §3: a signature by the client's private key; never `none` or HS*). */
export const ASSERTION_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** Clock skew allowed on an assertion's `exp` and `iat`, in seconds. */
const CLOCK_TOLERANCE = 30;
/** How far ahead an assertion's `exp` may be (RFC 7523 §3, item 4: "reject JWTs with an unreasonably far expiry"). */
export const MAX_ASSERTION_LIFETIME = 300;
/** Longest wait for a client's jwksUri, in milliseconds. */
const JWKS_TIMEOUT_MS = 2000;
/** How long a fetched client JWKS is kept, and the least time between two fetches of one (jose's options). */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
const JWKS_COOLDOWN_MS = 30_000;
/** The largest JWKS read from a client's jwksUri; a larger answer is the endpoint failing. */
const MAX_JWKS_BYTES = 256 * 1024;
/** Remote key sets kept, by URL; beyond this the oldest is dropped (a registry may name many). */
const MAX_REMOTE_KEY_SETS = 1000;

/** HTTP Basic's credentials (RFC 7617 §2), or `'malformed'`, or `undefined` when the header is not Basic. */
export type BasicCredentials = { clientId: string; secret: string } | 'malformed' | undefined;

const BASIC_SCHEME = /^basic(?: +(.*))?$/is;
const TOKEN68_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The client_id and secret of a Basic header. RFC 6749 §2.3.1: both are form-urlencoded
 * (Appendix B) before they are joined by `:` and base64-encoded, so each is decoded after the
 * split; a header without a colon, with bad base64, bytes that are not UTF-8, or a bad `%` escape
 * is malformed. Other schemes are not client authentication and are left alone.
 */
export function readBasicCredentials(authorization: string | undefined): BasicCredentials {
  if (authorization === undefined) return undefined;
  const match = BASIC_SCHEME.exec(authorization.trim());
  if (match === null) return undefined;
  const encoded = match[1]?.trim() ?? '';
  if (!TOKEN68_BASE64.test(encoded)) return 'malformed';
  const padded = encoded.padEnd(Math.ceil(encoded.length / 4) * 4, '=');
  const bytes = Buffer.from(padded, 'base64');
  // Buffer ignores what is not base64 and stray bits: only a canonical encoding is read.
  if (bytes.toString('base64') !== padded) return 'malformed';
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    return 'malformed';
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) return 'malformed';
  const clientId = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || secret === undefined || clientId === '') return 'malformed';
  return { clientId, secret };
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * docs/contract.md "Order of checks", step 2: whose request this is. The body's `client_id`, or
 * the Basic header's when the body has none (RFC 6749 §2.3.1 lets a client send its id only
 * there); both given must agree. A malformed Basic header fails here, before the client is looked up.
 */
export function clientIdOfRequest(
  input: ClientCredentialsInput,
): { clientId: string | undefined } | { failure: 'client_auth_malformed' } {
  const basic = readBasicCredentials(input.authorization);
  const bodyId = nonEmpty(input.params.client_id);
  if (basic === 'malformed') return { failure: 'client_auth_malformed' };
  if (basic === undefined) return { clientId: bodyId };
  if (bodyId !== undefined && bodyId !== basic.clientId) return { failure: 'client_auth_malformed' };
  return { clientId: basic.clientId };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * docs/contract.md "Order of checks", step 5a: whether the request authenticates `client` (found
 * at step 5; `undefined` without a client registry, which makes every client public) by the
 * one method it registered. Spends nothing but, for private_key_jwt, the assertion's `jti`.
 * Rejects only when the replay store is unreachable (`store_unavailable`).
 */
export async function authenticateClient(
  input: ClientCredentialsInput,
  client: Client | undefined,
  context: ClientAuthenticationContext,
): Promise<ClientAuthentication> {
  const basic = readBasicCredentials(input.authorization);
  const basicTried = basic !== undefined;
  const fail = (reason: ClientAuthRejectReason): ClientAuthentication => ({ ok: false, reason, basicTried });
  if (basic === 'malformed') return fail('client_auth_malformed');
  const secret = nonEmpty(input.params.client_secret);
  const assertion = nonEmpty(input.params.client_assertion);
  const assertionType = nonEmpty(input.params.client_assertion_type);
  const used: ClientAuthMethod[] = [];
  if (basic !== undefined) used.push('client_secret_basic');
  if (secret !== undefined) used.push('client_secret_post');
  if (assertion !== undefined || assertionType !== undefined) used.push('private_key_jwt');
  const registered = client === undefined ? 'none' : authMethodOf(client);
  // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
  if (used.length > 1) return fail('client_auth_method_mismatch');
  const [method = 'none'] = used;
  if (method !== registered) return fail(method === 'none' ? 'client_auth_missing' : 'client_auth_method_mismatch');
  if (method === 'none' || client === undefined) return { ok: true, method: 'none' };
  if (method === 'private_key_jwt') {
    if (assertionType !== JWT_BEARER_ASSERTION_TYPE || assertion === undefined) return fail('client_auth_malformed');
    const reason = await verifyAssertion(assertion, client, context);
    return reason === undefined ? { ok: true, method } : fail(reason);
  }
  const presented = basic === undefined ? secret : basic.secret;
  const storedText = client.clientSecretHash;
  const stored = storedText === undefined ? undefined : parseClientSecretHash(storedText);
  // A secret longer than any the router would hash cannot match: refused without the work.
  if (
    presented === undefined ||
    presented.length > MAX_CLIENT_SECRET_LENGTH ||
    storedText === undefined ||
    stored === undefined ||
    typeof stored === 'string'
  ) {
    return fail('client_secret_invalid');
  }
  return (await verifyClientSecret(presented, storedText, stored))
    ? { ok: true, method }
    : fail('client_secret_invalid');
}

/** Why the assertion does not authenticate the client (RFC 7523 §3), or `undefined` when it does. */
async function verifyAssertion(
  assertion: string,
  client: Client,
  context: ClientAuthenticationContext,
): Promise<ClientAuthRejectReason | undefined> {
  const keys = keySetOf(client);
  if (keys === undefined) return 'client_assertion_invalid';
  const nowSeconds = Math.floor(context.now() / 1000);
  let payload: { exp?: number; iat?: number; jti?: unknown };
  try {
    ({ payload } = await jwtVerify(assertion, keys.getKey, {
      algorithms: [...ASSERTION_ALGORITHMS],
      // RFC 7523 §3, items 1 and 2: iss and sub are the client_id.
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...context.audiences],
      requiredClaims: ['exp', 'jti'],
      currentDate: new Date(context.now()),
      clockTolerance: CLOCK_TOLERANCE,
    }));
  } catch (error) {
    return keys.fetchFailed(error) ? 'client_jwks_unavailable' : 'client_assertion_invalid';
  }
  const { exp, iat, jti } = payload as { exp: number; iat?: number; jti: unknown };
  if (exp > nowSeconds + MAX_ASSERTION_LIFETIME + CLOCK_TOLERANCE) return 'client_assertion_invalid';
  if (iat !== undefined && iat > nowSeconds + CLOCK_TOLERANCE) return 'client_assertion_invalid';
  if (typeof jti !== 'string' || jti === '') return 'client_assertion_invalid';
  // A registry's private_key_jwt client with nothing to remember jtis in: the router's fault, not the client's.
  if (context.replayStore === undefined) {
    throw new RequestError('store_unavailable', { cause: new TypeError('no replayStore for private_key_jwt') });
  }
  // RFC 7523 §3, item 7: a jti is used once, remembered as long as the assertion could be accepted.
  const first = await guard(
    Promise.resolve().then(() =>
      context.replayStore?.markSeen(assertionKey(client.clientId, jti), exp + CLOCK_TOLERANCE),
    ),
    'store_unavailable',
  );
  return first === true ? undefined : 'client_assertion_replayed';
}

/** The replay store's key of an assertion: its client and jti, hashed to a fixed length. */
function assertionKey(clientId: string, jti: string): string {
  return `client-assertion:${hashSecret(JSON.stringify([clientId, jti]))}`;
}

interface AssertionKeys {
  getKey: JWTVerifyGetKey;
  /** Whether a verification error came from fetching the client's jwksUri (a timeout, a failed or garbage answer). */
  fetchFailed(error: unknown): boolean;
}

/** Local key sets, by the client's (checked, copied) jwks object: a client list's are made once. */
const localKeySets = new WeakMap<object, JWTVerifyGetKey>();
/** Remote key sets by URL, each with jose's cache of the fetched keys. */
const remoteKeySets = new Map<string, JWTVerifyGetKey>();

/** Errors a key set raises for the token itself, not for the fetch. */
function isKeySelectionError(error: unknown): boolean {
  return error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys;
}

function keySetOf(client: Client): AssertionKeys | undefined {
  if (client.jwks !== undefined) {
    let getKey = localKeySets.get(client.jwks);
    if (getKey === undefined) {
      getKey = createLocalJWKSet(client.jwks);
      localKeySets.set(client.jwks, getKey);
    }
    return { getKey, fetchFailed: () => false };
  }
  if (client.jwksUri === undefined) return undefined;
  const uri = client.jwksUri;
  let remote = remoteKeySets.get(uri);
  if (remote === undefined) {
    remote = createRemoteJWKSet(new URL(uri), {
      timeoutDuration: JWKS_TIMEOUT_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      [customFetch]: boundedFetch,
    });
    if (remoteKeySets.size >= MAX_REMOTE_KEY_SETS) {
      const [oldest] = remoteKeySets.keys();
      if (oldest !== undefined) remoteKeySets.delete(oldest);
    }
    remoteKeySets.set(uri, remote);
  }
  const fetchErrors = new WeakSet<object>();
  const fetching = remote;
  return {
    getKey: async (header, token) => {
      try {
        return await fetching(header, token);
      } catch (error) {
        if (typeof error === 'object' && error !== null && !isKeySelectionError(error)) fetchErrors.add(error);
        throw error;
      }
    },
    fetchFailed: (error) => typeof error === 'object' && error !== null && fetchErrors.has(error),
  };
}

/**
 * jose's fetch of a jwksUri (its options: no redirects, the timeout's signal), with the body read
 * up to MAX_JWKS_BYTES: a client's endpoint that answers without end cannot fill the router's memory.
 */
async function boundedFetch(url: string, options: RequestInit): Promise<Response> {
  const response = await fetch(url, options);
  if (Number(response.headers.get('content-length')) > MAX_JWKS_BYTES || response.body === null) {
    await response.body?.cancel();
    throw new TypeError('the jwksUri answered no body, or one over the limit');
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > MAX_JWKS_BYTES) {
      await reader.cancel();
      throw new TypeError('the jwksUri answered more than the limit');
    }
    chunks.push(value);
  }
  return new Response(Buffer.concat(chunks), { status: response.status, headers: response.headers });
}
