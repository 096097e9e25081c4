import request from 'supertest';
import { createExampleApp } from '../../example-app/app.js';
import { issueAuthorizationCode } from '../../lib/index.js';
import { pkcePair } from '../support/helpers.js';

const ISSUER = 'http://localhost:3000';
const SPA = 'example-spa';
const REDIRECT_URI = `${ISSUER}/spa/callback`;

type Example = Awaited<ReturnType<typeof createExampleApp>>;

/** An access token of the SPA for alice, with `scope`, from the example app's token endpoint. */
async function accessToken(example: Example, scope: string[]): Promise<string> {
  const { verifier, challenge } = pkcePair();
  const code = await issueAuthorizationCode(example.codeStore, {
    clientId: SPA,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    subject: 'user-alice',
    scope,
  });
  const res = await request(example.app).post('/oauth2/token').type('form').send({
    grant_type: 'authorization_code',
    client_id: SPA,
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

describe("the example app's API: GET /api/profile behind requireAccessToken({ scopes: ['profile'] })", () => {
  let example: Example;
  beforeAll(async () => {
    example = await createExampleApp({ issuer: ISSUER });
  });
  afterAll(() => example.close());

  it("answers the user's profile to a token with the profile scope", async () => {
    const token = await accessToken(example, ['openid', 'profile']);
    const res = await request(example.app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      sub: 'user-alice',
      client_id: SPA,
      scope: 'openid profile',
      name: 'Alice Liddell',
      preferred_username: 'alice',
    });
  });

  it('RFC 6750 §3.1: a token without the profile scope gets 403 insufficient_scope, scope="profile"', async () => {
    const token = await accessToken(example, ['openid']);
    const res = await request(example.app).get('/api/profile').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer realm="[^"]+", error="insufficient_scope", error_description="[^"]+", scope="profile", DPoP realm=/,
    );
  });

  it("CORS: a preflight from the SPA's origin may send Authorization and DPoP; another origin gets no CORS headers", async () => {
    const preflight = (origin: string) =>
      request(example.app)
        .options('/api/profile')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'GET')
        .set('Access-Control-Request-Headers', 'authorization');
    const allowed = await preflight(ISSUER);
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(ISSUER);
    expect(allowed.headers['access-control-allow-headers']).toBe('Authorization, DPoP');
    const other = await preflight('https://evil.example');
    expect(other.status).toBe(204);
    expect(other.headers).not.toHaveProperty('access-control-allow-origin');
  });
});
