import { authMethodOf, CLIENT_AUTH_METHODS } from '../clients/client-auth-fields.js';
import { StaticClientRegistry, validateClients } from '../clients/client-list.js';
import type {
  AnyKeyStore,
  AuthorizationCodeStore,
  ClientAuthMethod,
  ClientRegistry,
  Clock,
  RefreshTokenStore,
  ReplayStore,
} from '../contracts.js';
import { type EmitEvent, eventEmitter, type TokenRouterEventListener } from '../events.js';
import { DEFAULT_BODY_LIMIT } from '../request/limits.js';
import { isLoopbackHost, normaliseOrigin } from '../request/origins.js';
import { ERROR_PROFILES, type ErrorProfile } from '../response/error-profiles.js';
import { MemoryKeyStore } from '../stores/memory/memory-key-store.js';
import { MemoryRefreshTokenStore } from '../stores/memory/memory-refresh-token-store.js';
import { SharedKeyStore } from '../stores/shared-key-store.js';
import { ACCESS_TOKEN_FORMATS, type AccessTokenFormat } from '../tokens/claims.js';
import { ConfigurationError } from './configuration-error.js';
import { type DpopConfig, resolveDpopOptions } from './dpop-options.js';
import {
  booleanOption,
  boundedNonNegativeInteger,
  boundedPositiveInteger,
  checkOptionsObject,
  clockOption,
  invalidOption,
  positiveInteger,
} from './option-checks.js';
import { type EndSession, OPTION_NAMES, type UserInfoCallback } from './options.js';

/** The options after checking, with every default filled in. */
export interface RouterConfig {
  issuer: string;
  codeStore: AuthorizationCodeStore;
  keyStore: AnyKeyStore;
  refreshTokenStore: RefreshTokenStore;
  clients: ClientRegistry | undefined;
  /** Where assertion jtis are remembered (docs/clients.md "private_key_jwt"), if anywhere. */
  replayStore: ReplayStore | undefined;
  /**
   * The client authentication methods discovery lists: those of a client list's clients; every
   * method a registry's records may use; `none` without clients.
   */
  clientAuthMethods: readonly ClientAuthMethod[];
  /** Origins allowed by configuration (router option and static clients). */
  staticOrigins: ReadonlySet<string>;
  tokenPath: string;
  jwksPath: string | false;
  revocationPath: string | false;
  introspectionPath: string | false;
  discoveryPath: string | false;
  /** Where the RFC 8414 metadata is served, relative to the router's mount. */
  authorizationServerMetadataPath: string | false;
  /**
   * RFC 8414 §3.1's own location for an issuer with a path (`/.well-known/oauth-authorization-server/tenant-a`),
   * matched on the request's whole path; `undefined` when the issuer has no path or the metadata is off.
   */
  authorizationServerMetadataLocation: string | undefined;
  /** The host's authorization endpoint, relative to the issuer, for discovery. */
  authorizationPath: string | undefined;
  discoveryMetadata: Readonly<Record<string, unknown>>;
  /** The logout endpoint, when the host gave `endSession`. */
  logout: { path: string; endSession: EndSession } | undefined;
  /** The UserInfo endpoint, when the host gave `userInfo`. */
  userInfo: { path: string; lookup: UserInfoCallback } | undefined;
  jwksMaxAge: number;
  accessTokenTtl: number;
  idTokenTtl: number;
  refreshTokenTtl: number;
  refreshTokenMaxAge: number;
  /** The rotation grace window in seconds; 0: strict rotation. Above 0, the store has `rotateWithinGrace`. */
  refreshTokenReuseInterval: number;
  accessTokenFormat: AccessTokenFormat;
  accessTokenAudience: string | readonly string[] | undefined;
  idTokenAtHash: boolean;
  /** Raises an audit event to `onEvent`, if any; never throws. */
  emit: EmitEvent;
  errorProfile: ErrorProfile;
  bodyLimit: number;
  /** DPoP at the token endpoint (docs/dpop.md), when the `dpop` option is given. */
  dpop: DpopConfig | undefined;
  now: Clock;
}

/** Check every option and fill in the defaults. Throws a {@link ConfigurationError}. */
export function resolveOptions(options: unknown): RouterConfig {
  if (typeof options === 'object' && options !== null && 'headers' in options && 'method' in options) {
    throw new ConfigurationError(
      'ERR_OPTIONS_NOT_OBJECT',
      'options',
      'createTokenRouter was called as middleware; write app.use(createTokenRouter({ ... })), not app.use(createTokenRouter)',
    );
  }
  const given = checkOptionsObject('createTokenRouter', options, OPTION_NAMES);

  const clients = resolveClients(given.clients);
  const staticOrigins = new Set(
    optionalArray(given.allowedOrigins, 'allowedOrigins').map((origin) => normaliseOrigin(origin, 'allowedOrigins')),
  );
  if (clients instanceof StaticClientRegistry) {
    for (const origin of clients.origins) staticOrigins.add(origin);
  }
  const tokenPath = resolvePath(given.tokenPath, 'tokenPath', '/oauth2/token');
  const jwksPath = optionalPath(given.jwksPath, 'jwksPath', '/oauth2/jwks');
  const revocationPath = optionalPath(given.revocationPath, 'revocationPath', '/oauth2/revoke');
  const introspectionPath = optionalPath(given.introspectionPath, 'introspectionPath', '/oauth2/introspect');
  const discoveryPath = optionalPath(given.discoveryPath, 'discoveryPath', '/.well-known/openid-configuration');
  const authorizationServerMetadataPath = resolveMetadataPath(given.authorizationServerMetadataPath, discoveryPath);
  const authorizationPath =
    given.authorizationPath === undefined ? undefined : resolvePath(given.authorizationPath, 'authorizationPath', '/');
  const logout = resolveMounted(given.endSession, 'endSession', given.logoutPath, 'logoutPath', '/logout');
  const userInfo = resolveMounted(given.userInfo, 'userInfo', given.userinfoPath, 'userinfoPath', '/userinfo');
  checkDistinctPaths({
    tokenPath,
    jwksPath,
    revocationPath,
    introspectionPath,
    discoveryPath,
    authorizationServerMetadataPath,
    logoutPath: logout?.path ?? false,
    userinfoPath: userInfo?.path ?? false,
    // The host's own route: a router path equal to it would answer in its place.
    authorizationPath: authorizationPath ?? false,
  });
  const refreshTokenTtl = lifetime(given.refreshTokenTtl, 'refreshTokenTtl', 30 * DAY, YEAR, '1 year');
  const refreshTokenMaxAge = lifetime(given.refreshTokenMaxAge, 'refreshTokenMaxAge', 90 * DAY, YEAR, '1 year');
  if (refreshTokenMaxAge < refreshTokenTtl) {
    throw invalidOption('refreshTokenMaxAge', `at least refreshTokenTtl (${refreshTokenTtl})`, refreshTokenMaxAge);
  }
  const issuer = resolveIssuer(given.issuer);
  const hasDocument = discoveryPath !== false || authorizationServerMetadataPath !== false;
  const codeStore = adapter<AuthorizationCodeStore>(
    given.codeStore,
    'codeStore',
    ['save', 'redeem'],
    'new MemoryCodeStore()',
  );
  const accessTokenTtl = lifetime(given.accessTokenTtl, 'accessTokenTtl', 300, DAY, '1 day');
  const idTokenTtl = lifetime(given.idTokenTtl, 'idTokenTtl', 1800, DAY, '1 day');
  const keyStore = adapter<AnyKeyStore>(
    given.keyStore,
    'keyStore',
    ['signingKey', 'publicJwks'],
    'await MemoryKeyStore.generate()',
  );
  checkRetiredKeysOutliveTokens(keyStore, Math.max(accessTokenTtl, idTokenTtl));
  const jwksMaxAge = nonNegativeSeconds(given.jwksMaxAge, 'jwksMaxAge', 300);
  checkSharedKeySchedule(keyStore, Math.max(accessTokenTtl, idTokenTtl), jwksMaxAge);
  const accessTokenFormat = resolveAccessTokenFormat(given.accessTokenFormat);
  const now = clockOption(given.now);
  const replayStore = resolveReplayStore(given.replayStore, codeStore);
  const clientAuthMethods = resolveClientAuthMethods(clients, replayStore);
  const refreshTokenStore =
    given.refreshTokenStore === undefined
      ? new MemoryRefreshTokenStore({ now })
      : adapter<RefreshTokenStore>(
          given.refreshTokenStore,
          'refreshTokenStore',
          ['save', 'rotate', 'revokeFamily'],
          'new MemoryRefreshTokenStore()',
        );
  const refreshTokenReuseInterval = resolveReuseInterval(given.refreshTokenReuseInterval, refreshTokenStore);
  const dpop = resolveDpopOptions(given.dpop, replayStore);
  checkDpopClients(clients, dpop);
  return {
    issuer,
    codeStore,
    keyStore,
    refreshTokenStore,
    clients,
    replayStore,
    clientAuthMethods,
    staticOrigins,
    tokenPath,
    jwksPath,
    revocationPath,
    introspectionPath,
    discoveryPath,
    authorizationServerMetadataPath,
    authorizationServerMetadataLocation: metadataLocation(issuer, authorizationServerMetadataPath),
    authorizationPath: checkAuthorizationPath(authorizationPath, given.discoveryMetadata, hasDocument),
    discoveryMetadata: resolveDiscoveryMetadata(given.discoveryMetadata, hasDocument, {
      end_session_endpoint: logout !== undefined,
      userinfo_endpoint: userInfo !== undefined,
    }),
    logout: logout === undefined ? undefined : { path: logout.path, endSession: logout.callback as EndSession },
    userInfo:
      userInfo === undefined ? undefined : { path: userInfo.path, lookup: userInfo.callback as UserInfoCallback },
    jwksMaxAge,
    accessTokenTtl,
    idTokenTtl,
    refreshTokenTtl,
    refreshTokenMaxAge,
    refreshTokenReuseInterval,
    accessTokenFormat,
    accessTokenAudience: resolveAccessTokenAudience(given.accessTokenAudience, accessTokenFormat),
    idTokenAtHash: booleanOption(given.idTokenAtHash, 'idTokenAtHash', false),
    emit: eventEmitter(resolveListener(given.onEvent), now),
    errorProfile: resolveErrorProfile(given.errorProfile),
    bodyLimit: positiveInteger(given.bodyLimit, 'bodyLimit', DEFAULT_BODY_LIMIT, 'bytes'),
    dpop,
    now,
  };
}

/**
 * RFC 8414 §2 / OIDC Discovery §4.3: the issuer is compared as a string, so it must be exactly
 * what a URL parser makes of it (no stray space or newline, lowercase host, no default port, no
 * dot segments), with no userinfo, query or fragment; https, or http on a loopback host for
 * development.
 */
export function resolveIssuer(value: unknown): string {
  if (value === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'issuer',
      'option issuer is required, e.g. "https://login.example.com"',
    );
  }
  const expected =
    'an absolute https URL without userinfo, query or fragment, written as a URL parser writes it (http only for a loopback host)';
  if (typeof value !== 'string' || !URL.canParse(value)) throw invalidOption('issuer', expected, value);
  const url = new URL(value);
  if (url.username !== '' || url.password !== '') {
    // Not quoted: userinfo may hold a password.
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'issuer',
      `option issuer must be ${expected}; received a URL with userinfo`,
    );
  }
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  if (!schemeOk || value.includes('?') || value.includes('#')) throw invalidOption('issuer', expected, value);
  // The parser adds "/" to an empty path; an issuer without it is the usual form.
  const parsed = url.href;
  if (value !== parsed && !(url.pathname === '/' && `${value}/` === parsed)) {
    const written = url.pathname === '/' ? parsed.slice(0, -1) : parsed;
    throw invalidOption('issuer', `${expected}: ${JSON.stringify(written)}`, value);
  }
  return value;
}

/** Duck-type an injected adapter, so a wrong object fails now rather than on the first request. */
function adapter<T>(value: unknown, option: string, methods: readonly string[], suggestion: string): T {
  if (value === undefined || value === null) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      option,
      `option ${option} is required; for one process, pass ${suggestion}`,
    );
  }
  const missing = methods.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function');
  if (missing.length > 0) {
    throw invalidOption(option, `an object with methods ${methods.join(', ')} (missing ${missing.join(', ')})`, value);
  }
  return value as T;
}

export function resolveClients(value: unknown): ClientRegistry | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return new StaticClientRegistry(validateClients(value));
  if (typeof value === 'object' && value !== null && typeof (value as ClientRegistry).findClient === 'function') {
    const { isAllowedOrigin } = value as ClientRegistry;
    if (isAllowedOrigin !== undefined && typeof isAllowedOrigin !== 'function') {
      throw invalidOption(
        'clients.isAllowedOrigin',
        'a function (origin) => Promise<boolean>, or left out',
        isAllowedOrigin,
      );
    }
    return value as ClientRegistry;
  }
  throw invalidOption('clients', 'an array of { clientId, redirectUris } or an object with findClient()', value);
}

/**
 * The replay store: the option, or the code store when it can remember keys (every shipped one
 * can: docs/stores.md "Seen once").
 */
function resolveReplayStore(value: unknown, codeStore: AuthorizationCodeStore): ReplayStore | undefined {
  if (value !== undefined) return adapter<ReplayStore>(value, 'replayStore', ['markSeen'], 'the code store');
  const candidate = codeStore as Partial<ReplayStore>;
  if (typeof candidate.markSeen !== 'function') return undefined;
  return {
    markSeen: (key, expiresAt) => candidate.markSeen?.call(codeStore, key, expiresAt) ?? Promise.resolve(false),
  };
}

/**
 * What discovery lists (RFC 8414 §2, token_endpoint_auth_methods_supported). A client list
 * says which methods its clients use; a registry's records may use any, so all are listed
 * (private_key_jwt only with a replay store). A private_key_jwt client with nothing to
 * remember its assertions' jtis in could replay them: refused here.
 */
function resolveClientAuthMethods(
  clients: ClientRegistry | undefined,
  replayStore: ReplayStore | undefined,
): ClientAuthMethod[] {
  if (clients === undefined) return ['none'];
  if (!(clients instanceof StaticClientRegistry)) {
    return CLIENT_AUTH_METHODS.filter((method) => method !== 'private_key_jwt' || replayStore !== undefined);
  }
  const used = new Set(clients.list.map(authMethodOf));
  if (used.has('private_key_jwt') && replayStore === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'replayStore',
      'option replayStore is required: a client uses private_key_jwt and the code store has no markSeen to remember assertion jtis in (RFC 7523 §3); pass a shipped code store or a ReplayStore',
    );
  }
  return CLIENT_AUTH_METHODS.filter((method) => used.has(method));
}

/**
 * A listed client that requires DPoP-bound tokens (`dpopBoundAccessTokens`) on a router without
 * the `dpop` option could never get a token: refused now. (A registry's record is read per
 * request; without `dpop` such a record is refused then, as `client_record_invalid`.)
 */
function checkDpopClients(clients: ClientRegistry | undefined, dpop: DpopConfig | undefined): void {
  if (dpop !== undefined || !(clients instanceof StaticClientRegistry)) return;
  const index = clients.list.findIndex((client) => client.dpopBoundAccessTokens === true);
  if (index === -1) return;
  throw new ConfigurationError(
    'ERR_OPTION_INVALID',
    `clients[${index}].dpopBoundAccessTokens`,
    `clients[${index}].dpopBoundAccessTokens is true but option dpop is not given: the router could never issue this client a token; pass dpop: {} (docs/dpop.md)`,
  );
}

function optionalArray(value: unknown, option: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOption(option, 'an array', value);
  return value;
}

function resolvePath(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(value)) {
    throw invalidOption(option, 'a path starting with "/"', value);
  }
  return value;
}

function optionalPath(value: unknown, option: string, fallback: string): string | false {
  return value === false ? false : resolvePath(value, option, fallback);
}

/**
 * The RFC 8414 document's path. It is the discovery document under another name, so unless the
 * option is given it follows `discoveryPath`: off when discovery is off (a host that turned the
 * document off before this option existed gets none), and given up to a `discoveryPath` moved
 * onto the default path (as such hosts did) rather than colliding with it.
 */
function resolveMetadataPath(value: unknown, discoveryPath: string | false): string | false {
  const fallback = '/.well-known/oauth-authorization-server';
  if (value === undefined && (discoveryPath === false || discoveryPath === fallback)) return false;
  return optionalPath(value, 'authorizationServerMetadataPath', fallback);
}

/**
 * RFC 8414 §3.1: "the well-known URI string is inserted … between the host component and the
 * path component" of an issuer with a path. The router, mounted at that path, cannot see it; the
 * host routes that one path to the router (docs/discovery.md "RFC 8414 metadata").
 */
function metadataLocation(issuer: string, metadataPath: string | false): string | undefined {
  if (metadataPath === false) return undefined;
  const issuerPath = new URL(issuer).pathname.replace(/\/$/, '');
  return issuerPath === '' ? undefined : `${metadataPath}${issuerPath}`;
}

/**
 * `authorizationPath` names the host's authorization endpoint for discovery; so can
 * `discoveryMetadata.authorization_endpoint`. Given both, which one a client reads would depend
 * on precedence nobody sees: refused.
 */
function checkAuthorizationPath(
  authorizationPath: string | undefined,
  metadata: unknown,
  hasDocument: boolean,
): string | undefined {
  if (authorizationPath === undefined) return undefined;
  if (!hasDocument) {
    throw invalidOption(
      'authorizationPath',
      'left out when discoveryPath and authorizationServerMetadataPath are both false (it is only published there)',
      authorizationPath,
    );
  }
  if (typeof metadata === 'object' && metadata !== null && Object.hasOwn(metadata, 'authorization_endpoint')) {
    throw invalidOption(
      'authorizationPath',
      'left out when discoveryMetadata.authorization_endpoint is given (name the authorization endpoint once)',
      authorizationPath,
    );
  }
  return authorizationPath;
}

/**
 * An endpoint the host's callback mounts (logout, UserInfo): the callback a function, the path
 * given only with it (a path alone would mount nothing, silently).
 */
function resolveMounted(
  callback: unknown,
  callbackOption: string,
  path: unknown,
  pathOption: string,
  fallback: string,
): { path: string; callback: unknown } | undefined {
  if (callback === undefined) {
    if (path !== undefined) {
      throw invalidOption(
        pathOption,
        `left out unless ${callbackOption} is given (without it there is no endpoint)`,
        path,
      );
    }
    return undefined;
  }
  if (typeof callback !== 'function') throw invalidOption(callbackOption, 'a function', callback);
  return { path: resolvePath(path, pathOption, fallback), callback };
}

/** Every endpoint needs a path of its own. */
function checkDistinctPaths(paths: Record<string, string | false>): void {
  const seen = new Map<string, string>();
  for (const [option, path] of Object.entries(paths)) {
    if (path === false) continue;
    const other = seen.get(path);
    if (other !== undefined) throw invalidOption(option, `a different path from ${other}`, path);
    seen.set(path, option);
  }
}

const DAY = 86_400;
const YEAR = 365 * DAY;

/**
 * A token lifetime: a whole number of seconds up to a sane bound. A bearer token that lives
 * longer is a stolen token that lives longer (RFC 6750 §5.3: issue short-lived bearer tokens;
 * RFC 9700 §4.14.2 for refresh tokens); a typo such as a lifetime in milliseconds is refused.
 */
function lifetime(value: unknown, option: string, fallback: number, max: number, maxLabel: string): number {
  return boundedPositiveInteger(value, option, fallback, 'seconds', max, maxLabel);
}

/**
 * The grace window (docs/refresh.md "The grace window"): at most a minute, since a thief
 * replaying a token within it is given a sibling too. Above 0 it needs the store's
 * `rotateWithinGrace`; a store without it would quietly keep strict rotation, and the two tabs
 * the option was set for would still sign the user out.
 */
function resolveReuseInterval(value: unknown, store: RefreshTokenStore): number {
  const interval = boundedNonNegativeInteger(value, 'refreshTokenReuseInterval', 0, 'seconds', 60);
  if (interval > 0 && typeof store.rotateWithinGrace !== 'function') {
    throw invalidOption(
      'refreshTokenReuseInterval',
      `0 with a refresh-token store without rotateWithinGrace() (${storeName(store)} has none; the shipped stores have it)`,
      value,
    );
  }
  return interval;
}

/** What a store is called in a message: its class's name, when it has one of its own. */
function storeName(store: object): string {
  const name = (store.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'the refreshTokenStore';
}

function resolveErrorProfile(value: unknown): ErrorProfile {
  if (value === undefined) return 'ciam';
  if (!(ERROR_PROFILES as readonly unknown[]).includes(value)) {
    throw invalidOption('errorProfile', ERROR_PROFILES.map((profile) => `"${profile}"`).join(' or '), value);
  }
  return value as ErrorProfile;
}

function nonNegativeSeconds(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidOption(option, 'a whole number of seconds, 0 or more', value);
  }
  return value;
}

function resolveAccessTokenFormat(value: unknown): AccessTokenFormat {
  if (value === undefined) return 'ciam';
  if (!(ACCESS_TOKEN_FORMATS as readonly unknown[]).includes(value)) {
    throw invalidOption('accessTokenFormat', ACCESS_TOKEN_FORMATS.map((format) => `"${format}"`).join(' or '), value);
  }
  return value as AccessTokenFormat;
}

/** RFC 9068 §3: the `aud` of an access token names the resource it is for. */
function resolveAccessTokenAudience(value: unknown, format: AccessTokenFormat): string | readonly string[] | undefined {
  if (format === 'ciam') {
    if (value !== undefined) {
      throw invalidOption(
        'accessTokenAudience',
        'left out unless accessTokenFormat is "rfc9068" (ciam access tokens are for the client)',
        value,
      );
    }
    return undefined;
  }
  if (value === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'accessTokenAudience',
      'option accessTokenAudience is required with accessTokenFormat "rfc9068", e.g. "https://api.example.com"',
    );
  }
  const isName = (entry: unknown): entry is string => typeof entry === 'string' && entry !== '';
  if (isName(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.every(isName)) return [...value];
  throw invalidOption('accessTokenAudience', 'a non-empty string or a non-empty array of them', value);
}

/**
 * Metadata the router owns, computed from its own configuration; a host cannot set these
 * through `discoveryMetadata` (the option is checked against this list; the discovery endpoint sets each of them).
 */
const ROUTER_OWNED_METADATA: readonly string[] = [
  'issuer',
  'token_endpoint',
  'jwks_uri',
  'revocation_endpoint',
  'grant_types_supported',
  'code_challenge_methods_supported',
  'token_endpoint_auth_methods_supported',
  'revocation_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported',
  'revocation_endpoint_auth_signing_alg_values_supported',
  'introspection_endpoint',
  'introspection_endpoint_auth_methods_supported',
  'introspection_endpoint_auth_signing_alg_values_supported',
  'id_token_signing_alg_values_supported',
  'dpop_signing_alg_values_supported',
];

/** Host metadata for discovery: a plain object, JSON-ready, not touching what the router owns. */
function resolveDiscoveryMetadata(
  value: unknown,
  hasDocument: boolean,
  servedEndpoints: Readonly<Record<string, boolean>>,
): Readonly<Record<string, unknown>> {
  if (value === undefined) return {};
  if (!hasDocument) {
    throw invalidOption(
      'discoveryMetadata',
      'left out when discoveryPath and authorizationServerMetadataPath are both false (there is no document to add it to)',
      value,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(
      'discoveryMetadata',
      'an object of metadata, such as { authorization_endpoint: "https://…" }',
      value,
    );
  }
  for (const name of Object.keys(value)) {
    if (servedEndpoints[name] === true) {
      // The router serves it: the host naming another would send clients elsewhere.
      throw new ConfigurationError(
        'ERR_OPTION_INVALID',
        `discoveryMetadata.${name}`,
        `discoveryMetadata.${name} is set by the router, which serves that endpoint, and cannot be given`,
      );
    }
    if (ROUTER_OWNED_METADATA.includes(name)) {
      throw new ConfigurationError(
        'ERR_OPTION_INVALID',
        `discoveryMetadata.${name}`,
        `discoveryMetadata.${name} is set by the router from its own options and cannot be given`,
      );
    }
  }
  try {
    // A copy through JSON: what is served is exactly what was checked, and later edits cannot leak in.
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  } catch {
    throw invalidOption('discoveryMetadata', 'JSON-serialisable', value);
  }
}

function resolveListener(value: unknown): TokenRouterEventListener | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidOption('onEvent', 'a function receiving each event', value);
  return value as TokenRouterEventListener;
}

/**
 * docs/keys.md "Rotation options": a shared key store's new key must be in every JWKS cache
 * before it signs (an instance reads it within cacheTtl, a verifier keeps a JWKS for
 * jwksMaxAge), and its retired key must outlive every token signed with it, counting the
 * cacheTtl another instance may go on signing with it and the maxStale of an outage.
 */
function checkSharedKeySchedule(keyStore: AnyKeyStore, longestTokenTtl: number, jwksMaxAge: number): void {
  if (!(keyStore instanceof SharedKeyStore)) return;
  const { publishAhead, retireAfter } = keyStore.rotation;
  const ahead = jwksMaxAge + keyStore.cacheTtl;
  if (publishAhead < ahead) {
    throw invalidOption(
      'keyStore',
      `a key store that publishes new keys at least jwksMaxAge + cacheTtl (${ahead} s) before they sign; pass rotation: { publishAhead: ${ahead} } or more`,
      keyStore,
    );
  }
  const after = longestTokenTtl + keyStore.cacheTtl + keyStore.maxStale;
  if (retireAfter < after) {
    throw invalidOption(
      'keyStore',
      `a key store that keeps retired keys published at least the longest token lifetime + cacheTtl + maxStale (${after} s); pass rotation: { retireAfter: ${after} } or more`,
      keyStore,
    );
  }
}

/**
 * A retired key must stay published as long as a token it signed may be checked: a
 * `MemoryKeyStore` that drops retired keys sooner than the tokens expire would break them.
 */
function checkRetiredKeysOutliveTokens(keyStore: AnyKeyStore, longestTokenTtl: number): void {
  if (keyStore instanceof MemoryKeyStore && keyStore.maxTokenTtl < longestTokenTtl) {
    throw invalidOption(
      'keyStore',
      `a key store that keeps retired keys published at least as long as tokens live (${longestTokenTtl} s); pass { maxTokenTtl: ${longestTokenTtl} } to MemoryKeyStore`,
      keyStore,
    );
  }
}
