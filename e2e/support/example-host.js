import { createServer } from 'node:http';
import { createExampleApp } from '../../example-app/app.js';

/**
 * Listen on a free loopback port. Resolves `{ server, port, close }`; `close` also drops
 * keep-alive connections, so a test ends without waiting for them to time out.
 */
export async function listenOnLoopback(handler) {
  const server = createServer(handler);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    server,
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The example app on a real port, so clients reach it over HTTP as they would in use. Its
 * issuer is `http://localhost:<port>` (the port is known only once it listens, hence the two
 * steps). `clients(issuer)`, when given, makes the client list (the demo clients otherwise);
 * `keyStore` replaces the generated key.
 */
export async function startExampleHost({ clients, keyStore } = {}) {
  const listening = await listenOnLoopback();
  const issuer = `http://localhost:${listening.port}`;
  const example = await createExampleApp({
    issuer,
    ...(clients === undefined ? {} : { clients: clients(issuer) }),
    ...(keyStore === undefined ? {} : { keyStore }),
  });
  listening.server.on('request', example.app);
  return {
    ...example,
    port: listening.port,
    async stop() {
      await listening.close();
      example.close();
    },
  };
}

/** The demo clients with one client's redirect URIs replaced. */
export function withRedirectUris(clients, clientId, redirectUris) {
  return clients.map((client) => (client.clientId === clientId ? { ...client, redirectUris } : client));
}

/** The demo clients with one client's fields replaced (its redirect URIs, its post-logout URIs…). */
export function withClientFields(clients, clientId, fields) {
  return clients.map((client) => (client.clientId === clientId ? { ...client, ...fields } : client));
}
