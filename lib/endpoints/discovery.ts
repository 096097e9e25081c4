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
    // Public clients: PKCE, not a secret, binds the code to the client.
    token_endpoint_auth_methods_supported: ['none'],
    ...(config.revocationPath === false ? {} : { revocation_endpoint_auth_methods_supported: ['none'] }),
  };
  // Same max-age as the JWKS: the algorithm list changes when a key of another algorithm is added.
  return publicJsonEndpoint(config, async () => ({
    ...fixed,
    id_token_signing_alg_values_supported: await signingAlgorithms(config),
  }));
}

/**
 * RFC 8414 §2 `grant_types_supported`: the code and refresh grants, and `client_credentials`
 * when a registered client may use it (docs/discovery.md).
 */
function grantTypesSupported(config: RouterConfig): string[] {
  const clients = config.clients instanceof StaticClientRegistry ? config.clients.list : [];
  const machine = clients.some((client) => grantTypesOf(client).includes('client_credentials'));
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
