import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createExampleApp } from '../example-app/app.js';
import { DEV_MACHINE_CLIENT_SECRET, DEV_WEB_CLIENT_SECRET } from '../example-app/clients.js';
import { callStatusApi } from '../example-app/machine-client.js';

/*
 * The example app's confidential clients (docs/machine-clients.md): example-web on
 * client_secret_basic, and example-machine, whose client_credentials token calls GET /api/status.
 */

type Example = Awaited<ReturnType<typeof createExampleApp>>;

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

describe('the example app: a machine client calls the API with a client_credentials token', () => {
  let server: Server;
  let example: Example;
  let issuer: string;
  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://localhost:${(server.address() as AddressInfo).port}`;
    example = await createExampleApp({ issuer });
    server.on('request', example.app);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    example.close();
  });

  it('machine-client.js: a token for status:read by discovery and client_secret_basic, then GET /api/status answers as the machine', async () => {
    const { token, status } = await callStatusApi({ issuer, clientSecret: DEV_MACHINE_CLIENT_SECRET });
    expect(token).toEqual({ scope: 'status:read', expires_in: expect.any(Number), token_type: 'Bearer' });
    expect(status).toEqual({ status: 'ok', caller: 'example-machine', scope: 'status:read' });
  });

  it('a wrong machine secret gets no token', async () => {
    await expect(callStatusApi({ issuer, clientSecret: 'wrong' })).rejects.toThrow(/401 invalid_client/);
  });

  it('GET /api/status needs a token with status:read: without one 401, with a user token that lacks it 403', async () => {
    expect((await request(example.app).get('/api/status')).status).toBe(401);
    const { token } = await callStatusApi({ issuer, clientSecret: DEV_MACHINE_CLIENT_SECRET });
    expect(token.scope).toBe('status:read');
    const userToken = await example.keyStore.signingKey().then(async ({ kid, alg, key }) => {
      const { SignJWT } = await import('jose');
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope: ['profile'], jti: 'j-1' })
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject('user-alice')
        .setAudience('example-spa')
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(key);
    });
    const forbidden = await request(example.app).get('/api/status').set('Authorization', `Bearer ${userToken}`);
    expect(forbidden.status).toBe(403);
  });

  it('example-web is confidential: a token request without its secret is 401 invalid_client, and the code is not spent', async () => {
    const refused = await request(example.app)
      .post('/oauth2/token')
      .type('form')
      .send({
        grant_type: 'authorization_code',
        client_id: 'example-web',
        code: 'x',
        redirect_uri: `${issuer}/rp/callback`,
        code_verifier: 'a'.repeat(43),
      });
    expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 401, error: 'invalid_client' });
    const wrongSecret = await request(example.app)
      .post('/oauth2/token')
      .set('Authorization', basic('example-web', `${DEV_WEB_CLIENT_SECRET}-not`))
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: 'x' });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.headers['www-authenticate']).toMatch(/^Basic /);
  });

  it('the machine client cannot sign a user in: it is registered for client_credentials only', async () => {
    const res = await request(example.app)
      .post('/oauth2/token')
      .set('Authorization', basic('example-machine', DEV_MACHINE_CLIENT_SECRET))
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: 'x' });
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'unauthorized_client' });
  });

  it('secrets from the options replace the development ones', async () => {
    const custom = await createExampleApp({ issuer, machineClientSecret: 'from-the-environment-0123456789' });
    try {
      const res = await request(custom.app)
        .post('/oauth2/token')
        .set('Authorization', basic('example-machine', 'from-the-environment-0123456789'))
        .type('form')
        .send({ grant_type: 'client_credentials' });
      expect(res.status).toBe(200);
      const old = await request(custom.app)
        .post('/oauth2/token')
        .set('Authorization', basic('example-machine', DEV_MACHINE_CLIENT_SECRET))
        .type('form')
        .send({ grant_type: 'client_credentials' });
      expect(old.status).toBe(401);
    } finally {
      custom.close();
    }
  });
});
