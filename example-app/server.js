import { createServer } from 'node:http';
import { createExampleApp } from './app.js';
import { jsonLinesAuditLog } from './audit-log.js';
import { DEV_MACHINE_CLIENT_SECRET, DEV_WEB_CLIENT_SECRET, MACHINE_CLIENT_ID, WEB_CLIENT_ID } from './clients.js';
import { readConfig } from './config.js';
import { openConnections } from './connections.js';
import { createKeyStore, KEY_ROTATION } from './key-store.js';
import { createStores } from './stores.js';

// Store status lines go to stderr: stdout carries only the start-up lines and the audit events.
const logger = { log: (message) => console.error(message) };

// Audit events (tokens issued, codes replayed, refresh reuse, rejections…, and the shared key
// store's keys made and outages) as JSON lines on stdout.
const auditLog = jsonLinesAuditLog(process.stdout);

let config;
let connections;
let stores;
let app;
try {
  config = readConfig(process.env);
  connections = await openConnections(config, logger);
  stores = createStores(config, connections, logger);
  const keyStore = await createKeyStore(config, connections, { onEvent: auditLog });
  ({ app } = await createExampleApp({
    issuer: config.issuer,
    ...(stores.codeStore === undefined
      ? {}
      : { codeStore: stores.codeStore, refreshTokenStore: stores.refreshTokenStore }),
    ...(keyStore === undefined ? {} : { keyStore }),
    ...(config.clients === undefined ? {} : { clients: config.clients }),
    ...(config.webClientSecret === undefined ? {} : { webClientSecret: config.webClientSecret }),
    ...(config.machineClientSecret === undefined ? {} : { machineClientSecret: config.machineClientSecret }),
    ...(config.refreshTokenReuseInterval === undefined
      ? {}
      : { refreshTokenReuseInterval: config.refreshTokenReuseInterval }),
    onEvent: auditLog,
  }));
} catch (error) {
  // A bad setting is a configuration mistake: say which, without a stack trace (or the value).
  console.error(`Cannot start the example app: ${error.message}`);
  process.exit(1);
}

const server = createServer(app);
server.on('error', (error) => {
  console.error(`Cannot listen on port ${config.port}: ${error.message}`);
  process.exit(1);
});
server.listen(config.port, () => {
  console.log(`pkce-token-router example listening on port ${config.port}`);
  console.log(
    `Open ${config.issuer.replace(/\/+$/, '')}/ in a browser (demo users: alice/alice-password, bob/bob-password).`,
  );
  console.log(`Store: ${config.store}; signing keys: ${keysLine(config)}.`);
  // Said once, here, so a developer can try the clients; a secret from the environment is never printed.
  if (config.webClientSecret === undefined) {
    console.log(
      `${WEB_CLIENT_ID}: development client secret "${DEV_WEB_CLIENT_SECRET}" (set EXAMPLE_WEB_CLIENT_SECRET).`,
    );
  }
  if (config.machineClientSecret === undefined) {
    console.log(
      `${MACHINE_CLIENT_ID}: development client secret "${DEV_MACHINE_CLIENT_SECRET}" (set EXAMPLE_MACHINE_CLIENT_SECRET); try node example-app/machine-client.js.`,
    );
  }
});

// Stop taking requests, then let go of the stores' connections.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    stores.close();
    void connections.close().finally(() => process.exit(0));
  });
}

function keysLine({ keyStore, keyEncryptionKey, signingJwks }) {
  if (keyStore !== 'memory') {
    // The ids only: they are what the stored keys name; the keys themselves are never printed.
    const ids = keyEncryptionKey.map((kek) => kek.id).join(', ');
    return `KEY_STORE=${keyStore}, shared, a new one every ${KEY_ROTATION.every / 86_400} days (key-encryption keys: ${ids})`;
  }
  return signingJwks === undefined ? 'generated' : 'SIGNING_JWKS';
}
