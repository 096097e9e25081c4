import { decodeJwt, SignJWT } from 'jose';
import request from 'supertest';
import { createExampleApp } from '../../example-app/app.js';
import { issueAuthorizationCode } from '../../lib/index.js';
import { dpopKey, dpopProof } from '../support/dpop-proofs.js';
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

  it('RFC 9449 §7.1: a DPoP-bound token with a proof of its key gets the profile; the same token without the key does not', async () => {
    const key = await dpopKey();
    // Until the token endpoint binds tokens, the example's own key signs the bound copy.
    const signing = await (example.keyStore as import('../../lib/index.js').KeyStore).signingKey();
    const claims = decodeJwt(await accessToken(example, ['openid', 'profile']));
    const bound = await new SignJWT({ ...claims, cnf: { jkt: key.jkt } })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
      .sign(signing.key);
    const withProof = await request(example.app)
      .get('/api/profile')
      .set('Authorization', `DPoP ${bound}`)
      .set('DPoP', await dpopProof(key, 'GET', `${ISSUER}/api/profile`, { accessToken: bound }));
    expect(withProof.status).toBe(200);
    expect(withProof.body.sub).toBe('user-alice');
    const copied = await request(example.app).get('/api/profile').set('Authorization', `Bearer ${bound}`);
    expect(copied.status).toBe(401);
    const thief = await dpopKey();
    const otherKey = await request(example.app)
      .get('/api/profile')
      .set('Authorization', `DPoP ${bound}`)
      .set('DPoP', await dpopProof(thief, 'GET', `${ISSUER}/api/profile`, { accessToken: bound }));
    expect(otherKey.status).toBe(401);
    expect(otherKey.body.error).toBe('invalid_dpop_proof');
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
