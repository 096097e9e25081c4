import express from 'express';
import { auth } from 'express-openid-connect';
import { DEV_WEB_CLIENT_SECRET, demoClients } from '../example-app/clients.js';
import { listenOnLoopback, startExampleHost } from './support/example-host.js';
import { createUserAgent } from './support/user-agent.js';

const ALICE = { username: 'alice', password: 'alice-password' };
const EOC_CLIENT_ID = 'example-eoc';

/**
 * express-openid-connect (issue 16: it refused public code-flow clients) as a relying party with
 * a real client secret (client_secret_basic, its default with a secret), against the example
 * host: it signs the user in with the code flow and PKCE, refreshes the access token, and the
 * refresh token is then revoked at the host.
 */
describe('interop: express-openid-connect with a client secret', () => {
  let host;
  let rp;
  let rpBase;
  beforeAll(async () => {
    rp = await listenOnLoopback();
    rpBase = `http://127.0.0.1:${rp.port}`;
    host = await startExampleHost({
      clients: (issuer) => [
        ...demoClients(issuer),
        {
          clientId: EOC_CLIENT_ID,
          redirectUris: [`${rpBase}/callback`],
          tokenEndpointAuthMethod: 'client_secret_basic',
          // The web app's development secret's hash: the same secret, another client.
          clientSecretHash: demoClients(issuer).find((client) => client.clientId === 'example-web').clientSecretHash,
        },
      ],
    });
    const app = express();
    app.use(
      auth({
        issuerBaseURL: host.issuer,
        baseURL: rpBase,
        clientID: EOC_CLIENT_ID,
        clientSecret: DEV_WEB_CLIENT_SECRET,
        secret: 'a session secret of the relying party, 32+ characters long',
        authRequired: false,
        authorizationParams: { response_type: 'code', scope: 'openid profile' },
      }),
    );
    // Where the library sends the user back after the callback (its returnTo, the baseURL).
    app.get('/', (req, res) => res.send(req.oidc.isAuthenticated() ? 'signed in' : 'signed out'));
    app.get('/me', (req, res) => res.json({ sub: req.oidc.user?.sub, access: req.oidc.accessToken?.access_token }));
    app.get('/refresh', async (req, res, next) => {
      try {
        const before = req.oidc.refreshToken;
        const refreshed = await req.oidc.accessToken.refresh();
        res.json({ before, after: req.oidc.refreshToken, access: refreshed.access_token });
      } catch (error) {
        next(error);
      }
    });
    rp.server.on('request', app);
  });
  afterAll(async () => {
    await rp.close();
    await host.stop();
  });

  it('signs in (code with PKCE, client_secret_basic), refreshes, and its refresh token is revoked', async () => {
    const browser = createUserAgent();
    const login = await browser.navigate(`${rpBase}/login`);
    const authorize = new URL(login.redirects.find((url) => url.includes('/authorize')));
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const signedIn = await browser.signIn(login, ALICE);
    expect({ status: signedIn.status, text: signedIn.text }).toEqual({ status: 200, text: 'signed in' });
    const me = JSON.parse((await browser.navigate(`${rpBase}/me`)).text);
    expect(me.sub).toBe('user-alice');
    expect(me.access).toMatch(/^eyJ/);

    const refreshed = JSON.parse((await browser.navigate(`${rpBase}/refresh`)).text);
    expect(refreshed.access).toMatch(/^eyJ/);
    expect(refreshed.after).not.toBe(refreshed.before);

    // The library has no revocation call: the relying party revokes at the host with its secret.
    const basic = Buffer.from(`${EOC_CLIENT_ID}:${DEV_WEB_CLIENT_SECRET}`).toString('base64');
    const revoke = (token) =>
      fetch(`${host.issuer}/oauth2/revoke`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
      });
    expect((await revoke(refreshed.after)).status).toBe(200);
    const after = await fetch(`${host.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshed.after }),
    });
    expect(after.status).toBe(400);
  });
});
