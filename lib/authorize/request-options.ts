import { resolveClients, resolveIssuer } from '../config/configuration.js';
import { ConfigurationError } from '../config/configuration-error.js';
import { booleanOption, checkOptionsObject, invalidOption } from '../config/option-checks.js';
import type { ClientRegistry } from '../contracts.js';
import type { AuthorizationRequestOptions } from './authorization-request.js';

const OWNER = 'checkAuthorizationRequest';

/** The option names of checkAuthorizationRequest. */
const OPTION_NAMES = [
  'issuer',
  'clients',
  'scopes',
  'defaultScope',
  'requireOpenid',
  'ignoreUnknownScopes',
] as const satisfies readonly (keyof AuthorizationRequestOptions)[];
// Every option of the type is in the list (the `satisfies` above checks the converse).
const everyOptionListed: [Exclude<keyof AuthorizationRequestOptions, (typeof OPTION_NAMES)[number]>] extends [never]
  ? true
  : never = true;
void everyOptionListed;

/** The options after checking. */
export interface AuthorizationConfig {
  issuer: string;
  clients: ClientRegistry;
  scopes: ReadonlySet<string>;
  defaultScope: readonly string[] | undefined;
  requireOpenid: boolean;
  ignoreUnknownScopes: boolean;
}

/** RFC 6749 §3.3: scope-token = 1*NQCHAR. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Check the options of checkAuthorizationRequest as createTokenRouter checks its own: the issuer
 * and the clients by the very same rules (docs/errors.md), so what the router accepts this accepts.
 */
export function resolveAuthorizationOptions(options: unknown): AuthorizationConfig {
  const given = checkOptionsObject(OWNER, options, OPTION_NAMES);
  if (given.clients === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'clients',
      `${OWNER}: option clients is required: the same array or ClientRegistry as createTokenRouter's`,
    );
  }
  const clients = resolveClients(given.clients) as ClientRegistry;
  const issuer = resolveIssuer(given.issuer);
  const scopes = scopeList(given.scopes, 'scopes');
  if (scopes === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'scopes',
      `${OWNER}: option scopes is required: the scopes this host grants, such as ['openid', 'profile']`,
    );
  }
  if (scopes.length === 0) throw invalidOption('scopes', 'a non-empty array of scope strings', scopes, OWNER);
  const offered = new Set(scopes);
  const defaultScope = scopeList(given.defaultScope, 'defaultScope');
  if (defaultScope !== undefined) {
    const extra = defaultScope.find((scope) => !offered.has(scope));
    if (defaultScope.length === 0 || extra !== undefined) {
      throw invalidOption(
        'defaultScope',
        'a non-empty array of scopes from the scopes option',
        given.defaultScope,
        OWNER,
      );
    }
  }
  const requireOpenid = booleanOption(given.requireOpenid, 'requireOpenid', false, OWNER);
  if (requireOpenid && !offered.has('openid')) {
    throw invalidOption('scopes', 'an array that holds "openid" when requireOpenid is true', scopes, OWNER);
  }
  if (requireOpenid && defaultScope !== undefined && !defaultScope.includes('openid')) {
    throw invalidOption('defaultScope', 'an array that holds "openid" when requireOpenid is true', defaultScope, OWNER);
  }
  return {
    issuer,
    clients,
    scopes: offered,
    defaultScope,
    requireOpenid,
    ignoreUnknownScopes: booleanOption(given.ignoreUnknownScopes, 'ignoreUnknownScopes', false, OWNER),
  };
}

/** An array of scope tokens, copied, or `undefined` when absent. */
function scopeList(value: unknown, option: string): string[] | undefined {
  if (value === undefined) return undefined;
  // Array.from reads holes as undefined, which every() would skip.
  if (
    !Array.isArray(value) ||
    !Array.from(value).every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope))
  ) {
    throw invalidOption(option, 'an array of scope strings without spaces (RFC 6749 §3.3)', value, OWNER);
  }
  return [...(value as string[])];
}
