import type {
  AuthorizationCodeStore,
  Client,
  ClientRegistry,
  Clock,
  KeyStore,
  RefreshTokenStore,
} from './adapters/interfaces.js';
import { MemoryRefreshTokenStore } from './adapters/memory-refresh-token-store.js';
import { StaticClientRegistry, validateClients } from './clients.js';
import { ConfigurationError, describeValue } from './configuration-error.js';
import { ERROR_PROFILES, type ErrorProfile } from './error-profiles.js';
import { DEFAULT_BODY_LIMIT } from './limits.js';
import { normaliseOrigin } from './origins.js';

/** The options of {@link createTokenRouter}. Every one is checked when the router is created. */
export interface TokenRouterOptions {
  /** The `iss` of every token: an absolute https URL (http only for localhost). */
  issuer: string;
  /** Where authorization codes are kept; see `MemoryCodeStore`. */
  codeStore: AuthorizationCodeStore;
  /** Where the signing keys come from; see `MemoryKeyStore`. */
  keyStore: KeyStore;
  /** Where refresh tokens are kept. Default: a `MemoryRefreshTokenStore`. */
  refreshTokenStore?: RefreshTokenStore;
  /**
   * The registered clients, or a registry to look them up. Without it, any well-formed
   * client_id is accepted and only matched against the code.
   */
  clients?: readonly Client[] | ClientRegistry;
  /** Extra browser origins allowed to call the token endpoint (CORS). */
  allowedOrigins?: readonly string[];
  /** Path of the token endpoint, relative to where the router is mounted. Default `/oauth2/token`. */
  tokenPath?: string;
  /** Path of the JWKS endpoint, or `false` for none. Default `/oauth2/jwks`. */
  jwksPath?: string | false;
  /** Access-token lifetime in seconds. Default 300. */
  accessTokenTtl?: number;
  /** ID-token lifetime in seconds. Default 1800. */
  idTokenTtl?: number;
  /** Refresh-token idle lifetime in seconds. Default 2592000 (30 days). */
  refreshTokenTtl?: number;
  /** Absolute lifetime of a refresh-token family in seconds. Default 7776000 (90 days). */
  refreshTokenMaxAge?: number;
  /** Which statuses errors get: `'ciam'` (the seed document's, default) or `'rfc6749'`. */
  errorProfile?: ErrorProfile;
  /** Largest accepted request body in bytes. Default 16384. */
  bodyLimit?: number;
  /** The clock for every time decision: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
}

/** The options after checking, with every default filled in. */
export interface RouterConfig {
  issuer: string;
  codeStore: AuthorizationCodeStore;
  keyStore: KeyStore;
  refreshTokenStore: RefreshTokenStore;
  clients: ClientRegistry | undefined;
  /** Origins allowed by configuration (router option and static clients). */
  staticOrigins: ReadonlySet<string>;
  tokenPath: string;
  jwksPath: string | false;
  accessTokenTtl: number;
  idTokenTtl: number;
  refreshTokenTtl: number;
  refreshTokenMaxAge: number;
  errorProfile: ErrorProfile;
  bodyLimit: number;
  now: Clock;
}

const KNOWN_OPTIONS = [
  'issuer',
  'codeStore',
  'keyStore',
  'refreshTokenStore',
  'clients',
  'allowedOrigins',
  'tokenPath',
  'jwksPath',
  'accessTokenTtl',
  'idTokenTtl',
  'refreshTokenTtl',
  'refreshTokenMaxAge',
  'errorProfile',
  'bodyLimit',
  'now',
] as const satisfies readonly (keyof TokenRouterOptions)[];

/** Check every option and fill in the defaults. Throws a {@link ConfigurationError}. */
export function resolveOptions(options: unknown): RouterConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigurationError(
      'ERR_OPTIONS_NOT_OBJECT',
      'options',
      `createTokenRouter takes an options object; received ${describeValue(options)}`,
    );
  }
  if ('headers' in options && 'method' in options) {
    throw new ConfigurationError(
      'ERR_OPTIONS_NOT_OBJECT',
      'options',
      'createTokenRouter was called as middleware; write app.use(createTokenRouter({ ... })), not app.use(createTokenRouter)',
    );
  }
  const given = options as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(name)) {
      const hint = closestOption(name);
      throw new ConfigurationError(
        'ERR_OPTION_UNKNOWN',
        name,
        `unknown option "${name}"${hint === undefined ? '' : `; did you mean "${hint}"?`}`,
      );
    }
  }

  const clients = resolveClients(given.clients);
  const staticOrigins = new Set(
    optionalArray(given.allowedOrigins, 'allowedOrigins').map((origin) =>
      normaliseOrigin(origin, 'allowedOrigins'),
    ),
  );
  if (clients instanceof StaticClientRegistry) {
    for (const origin of clients.origins) staticOrigins.add(origin);
  }
  const tokenPath = resolvePath(given.tokenPath, 'tokenPath', '/oauth2/token');
  const jwksPath = given.jwksPath === false ? false : resolvePath(given.jwksPath, 'jwksPath', '/oauth2/jwks');
  if (jwksPath === tokenPath) {
    throw invalid('jwksPath', 'a different path from tokenPath', jwksPath);
  }
  const refreshTokenTtl = seconds(given.refreshTokenTtl, 'refreshTokenTtl', 30 * 86_400);
  const refreshTokenMaxAge = seconds(given.refreshTokenMaxAge, 'refreshTokenMaxAge', 90 * 86_400);
  if (refreshTokenMaxAge < refreshTokenTtl) {
    throw invalid('refreshTokenMaxAge', `at least refreshTokenTtl (${refreshTokenTtl})`, refreshTokenMaxAge);
  }
  return {
    issuer: resolveIssuer(given.issuer),
    codeStore: adapter(given.codeStore, 'codeStore', ['save', 'redeem'], 'new MemoryCodeStore()'),
    keyStore: adapter(given.keyStore, 'keyStore', ['signingKey', 'publicJwks'], 'await MemoryKeyStore.generate()'),
    refreshTokenStore:
      given.refreshTokenStore === undefined
        ? new MemoryRefreshTokenStore()
        : adapter(given.refreshTokenStore, 'refreshTokenStore', ['save', 'rotate', 'revokeFamily'], 'new MemoryRefreshTokenStore()'),
    clients,
    staticOrigins,
    tokenPath,
    jwksPath,
    accessTokenTtl: seconds(given.accessTokenTtl, 'accessTokenTtl', 300),
    idTokenTtl: seconds(given.idTokenTtl, 'idTokenTtl', 1800),
    refreshTokenTtl,
    refreshTokenMaxAge,
    errorProfile: resolveErrorProfile(given.errorProfile),
    bodyLimit: positiveInteger(given.bodyLimit, 'bodyLimit', DEFAULT_BODY_LIMIT, 'bytes'),
    now: resolveClock(given.now),
  };
}

function invalid(option: string, expected: string, received: unknown): ConfigurationError {
  return new ConfigurationError(
    'ERR_OPTION_INVALID',
    option,
    `option ${option} must be ${expected}; received ${describeValue(received)}`,
  );
}

/** RFC 8414 §2 / OIDC Discovery: an https URL with no query or fragment; http for local development. */
function resolveIssuer(value: unknown): string {
  if (value === undefined) {
    throw new ConfigurationError('ERR_OPTION_MISSING', 'issuer', 'option issuer is required, e.g. "https://login.example.com"');
  }
  const expected = 'an absolute https URL without query or fragment (http only for localhost)';
  if (typeof value !== 'string' || !URL.canParse(value)) throw invalid('issuer', expected, value);
  const url = new URL(value);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && local);
  if (!schemeOk || url.search !== '' || url.hash !== '' || value.includes('#') || value.endsWith('?')) {
    throw invalid('issuer', expected, value);
  }
  return value;
}

/** Duck-type an injected adapter, so a wrong object fails now rather than on the first request. */
function adapter<T>(value: unknown, option: string, methods: readonly string[], suggestion: string): T {
  if (value === undefined || value === null) {
    throw new ConfigurationError('ERR_OPTION_MISSING', option, `option ${option} is required; for one process, pass ${suggestion}`);
  }
  const missing = methods.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function');
  if (missing.length > 0) {
    throw invalid(option, `an object with methods ${methods.join(', ')} (missing ${missing.join(', ')})`, value);
  }
  return value as T;
}

function resolveClients(value: unknown): ClientRegistry | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return new StaticClientRegistry(validateClients(value));
  if (typeof value === 'object' && value !== null && typeof (value as ClientRegistry).findClient === 'function') {
    return value as ClientRegistry;
  }
  throw invalid('clients', 'an array of { clientId, redirectUris } or an object with findClient()', value);
}

function optionalArray(value: unknown, option: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(option, 'an array', value);
  return value;
}

function resolvePath(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(value)) {
    throw invalid(option, 'a path starting with "/"', value);
  }
  return value;
}

function positiveInteger(value: unknown, option: string, fallback: number, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(option, `a positive whole number of ${unit}`, value);
  }
  return value;
}

function seconds(value: unknown, option: string, fallback: number): number {
  return positiveInteger(value, option, fallback, 'seconds');
}

function resolveErrorProfile(value: unknown): ErrorProfile {
  if (value === undefined) return 'ciam';
  if (!(ERROR_PROFILES as readonly unknown[]).includes(value)) {
    throw invalid('errorProfile', ERROR_PROFILES.map((profile) => `"${profile}"`).join(' or '), value);
  }
  return value as ErrorProfile;
}

function resolveClock(value: unknown): Clock {
  if (value === undefined) return Date.now;
  if (typeof value !== 'function') throw invalid('now', 'a function returning epoch milliseconds', value);
  return value as Clock;
}

/** The known option nearest to a misspelt one (case-insensitive, at most two edits away). */
function closestOption(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of KNOWN_OPTIONS) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
