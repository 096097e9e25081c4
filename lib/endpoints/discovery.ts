import { ASSERTION_ALGORITHMS } from '../clients/authenticate.js';
import { DEFAULT_GRANT_TYPES, grantTypesOf } from '../clients/client-grants.js';
import { StaticClientRegistry } from '../clients/client-list.js';
import type { RouterConfig } from '../config/configuration.js';
import { publicKeysOf } from './jwks.js';
import { publicJsonEndpoint } from './public-json.js';

/**
 * `GET {discoveryPath}` and `GET {authorizationServerMetadataPath}`: OpenID Connect Discovery
 * 1.0 §3 / RFC 8414 §2 metadata, one document at both, readable from any origin like the JWKS.
 * Endpoint URLs are the issuer followed by each path, so the router is expected where the issuer
 * points (usually mounted at `/`).
 */
export function discoveryEndpoint(config: RouterConfig) {
  const base = config.issuer.replace(/\/$/, '');
  const endpoints: Record<string, string> = { token_endpoint: `${base}${config.tokenPath}` };
  if (config.jwksPath !== false) endpoints.jwks_uri = `${base}${config.jwksPath}`;
  if (config.revocationPath !== false) endpoints.revocation_endpoint = `${base}${config.revocationPath}`;
  // OIDC Discovery §3.
  if (config.userInfo !== undefined) endpoints.userinfo_endpoint = `${base}${config.userInfo.path}`;
  // RP-Initiated Logout 1.0 §2.1.
  if (config.logout !== undefined) endpoints.end_session_endpoint = `${base}${config.logout.path}`;
  // OIDC Discovery §3 requires it; the host's own route, named by the option (docs/discovery.md).
  if (config.authorizationPath !== undefined) {
    endpoints.authorization_endpoint = `${base}${config.authorizationPath}`;
  }
  const fixed = {
    issuer: config.issuer,
    ...endpoints,
    // What the host's authorization endpoint issues; the host may say otherwise.
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    ...config.discoveryMetadata,
    grant_types_supported: grantTypesSupported(config),
    code_challenge_methods_supported: ['S256'],
    // RFC 8414 §2: the methods the configured clients use (every one a registry may use):
    // docs/clients.md "Discovery".
    token_endpoint_auth_methods_supported: [...config.clientAuthMethods],
    ...assertionAlgorithms('token', config),
    ...(config.revocationPath === false
      ? {}
      : {
          revocation_endpoint_auth_methods_supported: [...config.clientAuthMethods],
          ...assertionAlgorithms('revocation', config),
        }),
    ...introspectionMetadata(config, base),
    // RFC 9449 §5.1: the proof algorithms the token endpoint accepts; absent, DPoP is not supported.
    ...(config.dpop === undefined ? {} : { dpop_signing_alg_values_supported: [...config.dpop.algorithms] }),
  };
  // Same max-age as the JWKS: the algorithm list changes when a key of another algorithm is added.
  return publicJsonEndpoint(config, async () => ({
    ...fixed,
    id_token_signing_alg_values_supported: await signingAlgorithms(config),
  }));
}

/** `{endpoint}_endpoint_auth_signing_alg_values_supported` when a client may use private_key_jwt (RFC 8414 §2). */
function assertionAlgorithms(endpoint: 'token' | 'revocation', config: RouterConfig): Record<string, string[]> {
  if (!config.clientAuthMethods.includes('private_key_jwt')) return {};
  return { [`${endpoint}_endpoint_auth_signing_alg_values_supported`]: [...ASSERTION_ALGORITHMS] };
}

/**
 * RFC 8414 §2 `introspection_endpoint` and its auth methods: the confidential methods the clients
 * use, since only they may introspect (docs/machine-clients.md "Introspection"). Left out when no
 * client can use it (every client public), rather than listed with no method.
 */
function introspectionMetadata(config: RouterConfig, base: string): Record<string, unknown> {
  const methods = config.clientAuthMethods.filter((method) => method !== 'none');
  if (config.introspectionPath === false || methods.length === 0) return {};
  return {
    introspection_endpoint: `${base}${config.introspectionPath}`,
    introspection_endpoint_auth_methods_supported: methods,
    ...(methods.includes('private_key_jwt')
      ? { introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS] }
      : {}),
  };
}

/**
 * RFC 8414 §2 `grant_types_supported`: the code and refresh grants, and `client_credentials`
 * when a client of the `clients` array may use it, or for a registry, whose records may
 * (docs/discovery.md).
 */
function grantTypesSupported(config: RouterConfig): string[] {
  const { clients } = config;
  if (clients === undefined) return [...DEFAULT_GRANT_TYPES];
  const machine =
    !(clients instanceof StaticClientRegistry) ||
    clients.list.some((client) => grantTypesOf(client).includes('client_credentials'));
  return [...DEFAULT_GRANT_TYPES, ...(machine ? ['client_credentials'] : [])];
}

/**
 * The algorithms of the published keys: during a rotation to another algorithm, both. A key store
 * whose JWKs carry no `alg` is asked for its signing key's.
 */
async function signingAlgorithms(config: RouterConfig): Promise<string[]> {
  const keys = publicKeysOf(await config.keyStore.publicJwks());
  const algorithms = new Set(keys.map((key) => key.alg).filter((alg) => typeof alg === 'string'));
  if (algorithms.size === 0) algorithms.add((await config.keyStore.signingKey()).alg);
  return [...algorithms];
}
