/**
 * The example app's settings, read from the environment once at start. Every mistake names the
 * variable at fault and never repeats its value: SIGNING_JWKS holds private keys, and REDIS_URL
 * and DATABASE_URL may hold passwords.
 */

export const STORES = ['memory', 'redis', 'postgres'];

/** A setting that cannot be used. */
export class ConfigError extends Error {
  constructor(variable, why) {
    super(`${variable} ${why}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/**
 * @param {Record<string, string | undefined>} env  usually `process.env`
 * @returns {{
 *   port: number, issuer: string, store: 'memory' | 'redis' | 'postgres',
 *   redisUrl?: string, databaseUrl?: string, storePrefix?: string,
 *   signingJwks?: { keys: object[] }, clients?: { clientId: string, redirectUris: string[] }[],
 *   webClientSecret?: string, machineClientSecret?: string, refreshTokenReuseInterval?: number,
 * }}
 */
export function readConfig(env) {
  const value = (name) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);

  const port = Number(value('PORT') ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ConfigError('PORT', 'must be a port number from 1 to 65535');
  const issuer = value('ISSUER') ?? `http://localhost:${port}`;

  const store = value('STORE') ?? 'memory';
  if (!STORES.includes(store)) throw new ConfigError('STORE', `must be one of ${STORES.join(', ')}`);
  const config = { port, issuer, store };

  if (store === 'redis') config.redisUrl = requiredUrl(value, 'REDIS_URL', ['redis:', 'rediss:'], 'STORE=redis');
  if (store === 'postgres')
    config.databaseUrl = requiredUrl(value, 'DATABASE_URL', ['postgres:', 'postgresql:'], 'STORE=postgres');
  const storePrefix = value('STORE_PREFIX');
  if (storePrefix !== undefined) {
    // Table names go into SQL, so Postgres gets only plain identifiers.
    // 12 characters keep `{prefix}refresh_tokens_revoked_families_expires_at_idx` within Postgres's 63.
    if (store === 'postgres' && !/^[a-z_][a-z0-9_]{0,11}$/.test(storePrefix)) {
      throw new ConfigError('STORE_PREFIX', 'must be up to 12 lower-case letters, digits and _ for STORE=postgres');
    }
    config.storePrefix = storePrefix;
  }

  const jwks = value('SIGNING_JWKS');
  if (jwks !== undefined) {
    const parsed = parseJson(jwks, 'SIGNING_JWKS');
    if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.keys) || parsed.keys.length === 0) {
      throw new ConfigError('SIGNING_JWKS', 'must be a JWKS: {"keys": [private JWK, ...]} with at least one key');
    }
    config.signingJwks = parsed;
  }

  const clients = value('CLIENTS');
  if (clients !== undefined) config.clients = parseClients(clients);
  // The confidential clients' secrets (client_secret_basic); the app falls back to development
  // defaults and says so at start. Never logged.
  const webClientSecret = value('EXAMPLE_WEB_CLIENT_SECRET');
  if (webClientSecret !== undefined) config.webClientSecret = webClientSecret;
  const machineClientSecret = value('EXAMPLE_MACHINE_CLIENT_SECRET');
  if (machineClientSecret !== undefined) config.machineClientSecret = machineClientSecret;
  // The refresh grace window in seconds (docs/refresh.md "The grace window"); the app's default is
  // 10, for the SPA open in two tabs; 0 is strict rotation.
  const reuseInterval = value('REFRESH_TOKEN_REUSE_INTERVAL');
  if (reuseInterval !== undefined) {
    const seconds = Number(reuseInterval);
    if (!/^\d+$/.test(reuseInterval) || seconds > 60)
      throw new ConfigError('REFRESH_TOKEN_REUSE_INTERVAL', 'must be a whole number of seconds from 0 to 60');
    config.refreshTokenReuseInterval = seconds;
  }
  return config;
}

function requiredUrl(value, name, protocols, because) {
  const url = value(name);
  if (url === undefined) throw new ConfigError(name, `is required with ${because}`);
  if (!URL.canParse(url) || !protocols.includes(new URL(url).protocol)) {
    throw new ConfigError(name, `must be a URL starting ${protocols.map((protocol) => `${protocol}//`).join(' or ')}`);
  }
  return url;
}

function parseJson(text, name) {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: not for a variable that holds keys.
    throw new ConfigError(name, 'is not valid JSON');
  }
}

/** `[{ "clientId": "...", "redirectUris": ["..."] }, ...]`; the router checks each entry further. */
function parseClients(text) {
  const clients = parseJson(text, 'CLIENTS');
  const wellFormed =
    Array.isArray(clients) &&
    clients.length > 0 &&
    clients.every(
      (client) =>
        typeof client === 'object' &&
        client !== null &&
        typeof client.clientId === 'string' &&
        Array.isArray(client.redirectUris) &&
        client.redirectUris.every((uri) => typeof uri === 'string'),
    );
  if (!wellFormed)
    throw new ConfigError('CLIENTS', 'must be a JSON array of { "clientId": string, "redirectUris": [string, ...] }');
  return clients;
}
