import { decodeJwt, decodeProtectedHeader } from 'jose';
import request from 'supertest';
import { hashSecret } from '../../lib/crypto/secrets.js';
import { type Client, hashClientSecret, requireAccessToken, type TokenRouterEvent } from '../../lib/index.js';
import { BASIC_CLIENT, basicHeader, CLIENT_SECRET, clientAuthFixture } from '../support/client-auth.js';
import { CLIENT_ID, expectError, type Harness, harness, ISSUER, postToken, REDIRECT_URI } from '../support/helpers.js';

/*
 * The client credentials grant (RFC 6749 §4.4) for a confidential client registered for it
 * (docs/machine-clients.md), one rule each.
 */

const MACHINE = 'machine';
const MACHINE_SECRET = 'machine-secret-of-enough-entropy-0123456789';

async function machineClients(): Promise<Client[]> {
  const { clients } = await clientAuthFixture();
  return [
    { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] },
    ...clients,
    {
      clientId: MACHINE,
      // A machine client is never redirected to: it may register no redirect URI.
      redirectUris: [],
      tokenEndpointAuthMethod: 'client_secret_basic',
      clientSecretHash: await hashClientSecret(MACHINE_SECRET),
      grantTypes: ['client_credentials'],
      scopes: ['status:read', 'reports:write'],
    },
  ];
}

function clientCredentials(h: Harness, form: Record<string, string> = {}, auth = basicHeader(MACHINE, MACHINE_SECRET)) {
  return request(h.app)
    .post('/oauth2/token')
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .set('Authorization', auth)
    .send(new URLSearchParams({ grant_type: 'client_credentials', ...form }).toString());
}

describe('the client credentials grant (RFC 6749 §4.4)', () => {
  const events: TokenRouterEvent[] = [];
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ clients: await machineClients(), onEvent: (event) => void events.push(event) });
  });
  afterAll(() => h.close());

  it('RFC 6749 §4.4.3: "If the access token request is valid and authorized, the authorization server issues an access token": 200 with access_token, scope, token_type Bearer and expires_in, no-store', async () => {
    const res = await clientCredentials(h, { scope: 'status:read' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['access_token', 'scope', 'token_type', 'expires_in']);
    expect(res.body).toMatchObject({ scope: 'status:read', token_type: 'Bearer' });
    expect(res.body.expires_in).toBeGreaterThanOrEqual(299);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('RFC 6749 §4.4.3: "A refresh token SHOULD NOT be included", and no ID token either', async () => {
    const res = await clientCredentials(h, { scope: 'status:read reports:write' });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('refresh_token');
    expect(res.body).not.toHaveProperty('id_token');
  });

  it('OIDC Core §5.3: openid, which a machine client cannot be registered for, is 400 invalid_scope', async () => {
    expectError(await clientCredentials(h, { scope: 'openid status:read' }), 400, 'invalid_scope');
  });

  it('RFC 6749 §3.3: a request without scope gets every scope the client is registered for', async () => {
    const res = await clientCredentials(h);
    expect(res.body.scope).toBe('status:read reports:write');
  });

  it('RFC 6749 §3.3 / §5.2 invalid_scope: a scope the client is not registered for is 400 invalid_scope', async () => {
    expectError(await clientCredentials(h, { scope: 'status:read admin' }), 400, 'invalid_scope');
  });

  it('RFC 6749 §4.4.2: "The client MUST authenticate with the authorization server": without credentials it is 401 invalid_client', async () => {
    const res = await postToken(h.app, { client_id: MACHINE, grant_type: 'client_credentials' });
    expectError(res, 401, 'invalid_client');
  });

  it('RFC 6749 §4.4.2: a wrong secret is 401 invalid_client with a Basic challenge (RFC 6749 §5.2)', async () => {
    const res = await clientCredentials(h, {}, basicHeader(MACHINE, 'wrong'));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'invalid_client' });
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
  });

  it('RFC 6749 §5.2 unauthorized_client: a confidential client registered without client_credentials is refused it', async () => {
    expectError(await clientCredentials(h, {}, basicHeader(BASIC_CLIENT, CLIENT_SECRET)), 400, 'unauthorized_client');
  });

  it('RFC 6749 §5.2 unauthorized_client: a machine client cannot redeem a code (it is registered for client_credentials only), and the code is not spent', async () => {
    const form = await h.issue({ clientId: MACHINE });
    const refused = await request(h.app)
      .post('/oauth2/token')
      .set('Authorization', basicHeader(MACHINE, MACHINE_SECRET))
      .type('form')
      .send(form);
    expectError(refused, 400, 'unauthorized_client');
    expect((await h.codeStore.redeem(hashSecret(form.code!))).outcome).toBe('redeemed');
  });

  it('RFC 9068 §2.2: the access token is for the client itself: sub = client_id; in the ciam shape aud = client_id and scope an array, no refresh_family', async () => {
    const res = await clientCredentials(h, { scope: 'status:read' });
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ iss: ISSUER, sub: MACHINE, aud: MACHINE, scope: ['status:read'] });
    expect(claims).not.toHaveProperty('refresh_family');
    expect(decodeProtectedHeader(res.body.access_token).typ).toBe('JWT');
  });

  it('RFC 9068 §2.2: in the rfc9068 shape, sub = client_id = the client, aud the resource, scope a string', async () => {
    const rfc = await harness({
      clients: await machineClients(),
      accessTokenFormat: 'rfc9068',
      accessTokenAudience: 'https://api.example.com',
    });
    try {
      const res = await clientCredentials(rfc, { scope: 'status:read' });
      const claims = decodeJwt(res.body.access_token);
      expect(claims).toMatchObject({
        sub: MACHINE,
        client_id: MACHINE,
        aud: 'https://api.example.com',
        scope: 'status:read',
      });
      expect(decodeProtectedHeader(res.body.access_token).typ).toBe('at+jwt');
    } finally {
      rfc.close();
    }
  });

  it('raises token_issued with grantType client_credentials, the client as subject, and no familyId', async () => {
    events.length = 0;
    const res = await clientCredentials(h, { scope: 'reports:write' });
    const issued = events.find((event) => event.type === 'token_issued');
    expect(issued).toEqual({
      type: 'token_issued',
      grantType: 'client_credentials',
      clientId: MACHINE,
      subject: MACHINE,
      scope: ['reports:write'],
      accessTokenJti: decodeJwt(res.body.access_token).jti,
      time: expect.any(Number),
    });
    expect(JSON.stringify(events)).not.toContain(MACHINE_SECRET);
  });

  it("requireAccessToken accepts the token for the machine's scope", async () => {
    const res = await clientCredentials(h, { scope: 'status:read' });
    const express = (await import('express')).default;
    const api = express();
    api.get(
      '/api/status',
      requireAccessToken({ keyStore: h.keyStore, issuer: ISSUER, scopes: ['status:read'] }),
      (req, res2) => {
        res2.json({ caller: req.auth?.subject });
      },
    );
    const call = await request(api).get('/api/status').set('Authorization', `Bearer ${res.body.access_token}`);
    expect({ status: call.status, body: call.body }).toEqual({ status: 200, body: { caller: MACHINE } });
  });

  it('discovery lists client_credentials among grant_types_supported when a client may use it', async () => {
    const res = await request(h.app).get('/.well-known/openid-configuration');
    expect(res.body.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
  });
});
