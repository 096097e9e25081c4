import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { createExampleApp } from '../example-app/app.js';
import { pkcePair } from './support/helpers.js';

const ISSUER = 'http://localhost:3000';
const REDIRECT_URI = `${ISSUER}/spa/callback`;

describe('the example app: a user signs in and gets tokens', () => {
  it('authorize → sign-in page → POST /login → redirect with code and state → tokens that verify', async () => {
    const example = await createExampleApp({ issuer: ISSUER });
    const { verifier, challenge } = pkcePair();
    const query = new URLSearchParams({
      client_id: 'example-spa',
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st-1',
      nonce: 'n-1',
      scope: 'openid',
    }).toString();

    const signIn = await request(example.app).get(`/authorize?${query}`);
    expect(signIn.status).toBe(200);
    expect(signIn.text).toContain('name="password"');

    const login = await request(example.app)
      .post('/login')
      .type('form')
      .send({ username: 'alice', password: 'alice-password', authorize_query: query });
    expect(login.status).toBe(302);
    const location = new URL(login.headers.location!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('state')).toBe('st-1');

    const tokens = await request(example.app)
      .post('/oauth2/token')
      .type('form')
      .send({
        client_id: 'example-spa',
        grant_type: 'authorization_code',
        code: location.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      });
    expect(tokens.status).toBe(200);
    const jwks = createLocalJWKSet((await request(example.app).get('/oauth2/jwks')).body);
    const { payload } = await jwtVerify(tokens.body.id_token, jwks, { issuer: ISSUER, audience: 'example-spa' });
    expect(payload.nonce).toBe('n-1');
    example.close();
  });

  it('refuses a wrong password without issuing a code', async () => {
    const example = await createExampleApp({ issuer: ISSUER });
    const res = await request(example.app)
      .post('/login')
      .type('form')
      .send({ username: 'alice', password: 'nope', authorize_query: '' });
    expect(res.status).toBe(401);
    expect(res.headers.location).toBeUndefined();
    example.close();
  });
});
