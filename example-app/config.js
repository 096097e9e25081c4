/**
 * The example app's settings, read from the environment once at start. Every mistake names the
 * variable at fault and never repeats its value: SIGNING_JWKS and KEY_ENCRYPTION_KEY hold keys,
 * and REDIS_URL and DATABASE_URL may hold passwords.
 */

export const STORES = ['memory', 'redis', 'postgres'];
/** Where the signing keys live: in the process (SIGNING_JWKS, or one generated), or shared. */
export const KEY_STORES = ['memory', 'redis', 'postgres'];

/** How to make a key-encryption key, said with every KEY_ENCRYPTION_KEY mistake. */
const MAKE_KEK = `node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`;
/** The library's rule for a KEK id (docs/keys.md "The key-encryption key"). */
const KEK_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** 32 bytes: 44 characters of padded base64, or 43 of unpadded base64 or base64url. */
const KEK_TEXT = /^(?:[A-Za-z0-9+/]{43}=?|[A-Za-z0-9_-]{43})$/;

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
 *   keyStore: 'memory' | 'redis' | 'postgres', keyEncryptionKey?: { id: string, key: Buffer }[],
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
  const keys = readKeyStoreSettings(env);
  const config = { port, issuer, store, ...keys };

  // One connection for both when STORE and KEY_STORE name the same server (example-app/connections.js).
  const because = (kind) =>
    [store === kind ? `STORE=${kind}` : undefined, keys.keyStore === kind ? `KEY_STORE=${kind}` : undefined]
      .filter((setting) => setting !== undefined)
      .join(' or ');
  if (because('redis') !== '')
    config.redisUrl = requiredUrl(value, 'REDIS_URL', ['redis:', 'rediss:'], because('redis'));
  if (because('postgres') !== '') {
    config.databaseUrl = requiredUrl(value, 'DATABASE_URL', ['postgres:', 'postgresql:'], because('postgres'));
  }
  const storePrefix = value('STORE_PREFIX');
  if (storePrefix !== undefined) {
    // Table names go into SQL, so Postgres gets only plain identifiers.
    // 12 characters keep `{prefix}refresh_tokens_revoked_families_expires_at_idx` within Postgres's 63.
    if (because('postgres') !== '' && !/^[a-z_][a-z0-9_]{0,11}$/.test(storePrefix)) {
      throw new ConfigError(
        'STORE_PREFIX',
        `must be up to 12 lower-case letters, digits and _ with ${because('postgres')}`,
      );
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

/**
 * KEY_STORE, KEY_ENCRYPTION_KEY, and whether SIGNING_JWKS may go with them; no URL is checked
 * here, so a process that brings its own connections (__tests__/support/deployment-server.js)
 * reads the same settings.
 *
 * @param {Record<string, string | undefined>} env
 * @returns {{ keyStore: 'memory' | 'redis' | 'postgres', keyEncryptionKey?: { id: string, key: Buffer }[] }}
 */
export function readKeyStoreSettings(env) {
  const value = (name) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const keyStore = value('KEY_STORE') ?? 'memory';
  if (!KEY_STORES.includes(keyStore)) throw new ConfigError('KEY_STORE', `must be one of ${KEY_STORES.join(', ')}`);
  const kek = value('KEY_ENCRYPTION_KEY');
  if (keyStore === 'memory') {
    // Given by mistake, it would suggest the keys are kept encrypted somewhere: they are not.
    if (kek !== undefined) {
      throw new ConfigError(
        'KEY_ENCRYPTION_KEY',
        'is only used with KEY_STORE=redis or KEY_STORE=postgres; set KEY_STORE, or unset KEY_ENCRYPTION_KEY',
      );
    }
    return { keyStore };
  }
  // A shared store makes and rotates its own keys; importing fixed ones on every start would
  // race between instances and pin keys the schedule is meant to replace.
  if (value('SIGNING_JWKS') !== undefined) {
    throw new ConfigError(
      'SIGNING_JWKS',
      `cannot be used with KEY_STORE=${keyStore}: the shared key store makes and rotates its own keys; unset SIGNING_JWKS, or use KEY_STORE=memory`,
    );
  }
  if (kek === undefined) {
    throw new ConfigError(
      'KEY_ENCRYPTION_KEY',
      `is required with KEY_STORE=${keyStore}: 32 random bytes in base64 or base64url, from a secret manager; make one with ${MAKE_KEK}`,
    );
  }
  return { keyStore, keyEncryptionKey: parseKeyEncryptionKey(kek) };
}

/**
 * One key (its id `default`), or `id:key,id:key,...`: the first encrypts, the others only
 * decrypt, so the key-encryption key can be rotated (docs/keys.md "The key-encryption key").
 * Mistakes name the entry by its place, never by anything it holds.
 */
function parseKeyEncryptionKey(text) {
  const fail = (why) => {
    throw new ConfigError('KEY_ENCRYPTION_KEY', `${why}; make a key with ${MAKE_KEK}`);
  };
  const keyBytes = (key, where) => {
    if (!KEK_TEXT.test(key)) {
      fail(`${where}must be 32 bytes in base64 or base64url (43 or 44 characters); got ${key.length} characters`);
    }
    return Buffer.from(key, 'base64');
  };
  // Neither alphabet has ':' or ',': without them the text is one bare key.
  if (!/[:,]/.test(text)) return [{ id: 'default', key: keyBytes(text.trim(), '') }];
  const entries = text.split(',').map((entry) => entry.trim());
  const keys = [];
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1} of ${entries.length} `;
    const colon = entry.indexOf(':');
    if (colon === -1) fail(`${where}must be id:key (a list is id:key,id:key,..., the first one encrypting)`);
    const id = entry.slice(0, colon);
    if (!KEK_ID.test(id)) fail(`${where}has an id that is not 1 to 64 of A-Z a-z 0-9 . _ -`);
    const twin = keys.findIndex((key) => key.id === id);
    if (twin !== -1) fail(`${where}has the same id as entry ${twin + 1}; each key needs its own id`);
    keys.push({ id, key: keyBytes(entry.slice(colon + 1), where) });
  });
  return keys;
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
