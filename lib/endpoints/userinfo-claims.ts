import type { UserInfoClaims } from '../config/options.js';

/*
 * OpenID Connect Core §5.4: which standard claims each scope asks for. The UserInfo answer holds
 * a standard claim only when the access token was granted its scope.
 */

/** OIDC Core §5.4, the scope values and the claims they request. */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** The scope each standard claim belongs to. */
const SCOPE_OF_CLAIM = new Map(
  Object.entries(SCOPE_CLAIMS).flatMap(([scope, claims]) => claims.map((claim) => [claim, scope] as const)),
);

/**
 * Names that say something about a token, not the user (RFC 7519 §4.1, OIDC Core §2, §5.3.2: an
 * unsigned UserInfo answer has no `iss` or `aud`); `sub` is the token's, set by the router.
 */
const NOT_USER_CLAIMS: ReadonlySet<string> = new Set([
  'sub',
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'azp',
  'nonce',
  'auth_time',
  'acr',
  'amr',
  'at_hash',
  'c_hash',
  's_hash',
  'sid',
  'scope',
  'client_id',
  'cnf',
  'act',
]);

/**
 * The UserInfo answer (OIDC Core §5.3.2): `sub` first, always the access token's; the standard
 * claims of the granted scopes; the host's own claims (names outside §5.4's lists) as the host
 * gave them, since the host was given the scopes to decide on those; no token claim.
 */
export function userInfoResponse(
  subject: string,
  scopes: readonly string[],
  claims: UserInfoClaims,
): Record<string, unknown> {
  const answer: Record<string, unknown> = { sub: subject };
  for (const [name, value] of Object.entries(claims)) {
    if (NOT_USER_CLAIMS.has(name) || value === undefined) continue;
    const scope = SCOPE_OF_CLAIM.get(name);
    if (scope !== undefined && !scopes.includes(scope)) continue;
    answer[name] = value;
  }
  return answer;
}
