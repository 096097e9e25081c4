import { createServer } from 'node:http';
import { createExampleApp } from './app.js';
import { jsonLinesAuditLog } from './audit-log.js';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a port number from 1 to 65535; got ${JSON.stringify(process.env.PORT)}`);
  process.exit(1);
}
const issuer = process.env.ISSUER ?? `http://localhost:${port}`;

let app;
try {
  // Audit events (tokens issued, codes replayed, refresh reuse, rejections…) as JSON lines on stdout.
  ({ app } = await createExampleApp({ issuer, onEvent: jsonLinesAuditLog(process.stdout) }));
} catch (error) {
  // A bad ISSUER is a configuration mistake: say which, without a stack trace.
  console.error(`Cannot start the example app: ${error.message}`);
  process.exit(1);
}
const server = createServer(app);
server.on('error', (error) => {
  console.error(`Cannot listen on port ${port}: ${error.message}`);
  process.exit(1);
});
server.listen(port, () => {
  console.log(`pkce-token-router example listening on port ${port}`);
  console.log(`Open ${issuer.replace(/\/+$/, '')}/ in a browser (demo users: alice/alice-password, bob/bob-password).`);
});
