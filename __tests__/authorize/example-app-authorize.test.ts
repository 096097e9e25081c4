import request from 'supertest';
import { createExampleApp } from '../../example-app/app.js';
import { pkcePair } from '../support/helpers.js';

/*
 * The example app's GET /authorize, built on checkAuthorizationRequest and
 * authorizationResponseUrl: what a user sees for each kind of outcome.
 */

const ISSUER = 'http://localhost:3000';
const REDIRECT_URI = `${ISSUER}/spa/callback`;

function authorizeQuery(overrides: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams({
    client_id: 'example-spa',
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    state: 'st-1',
    scope: 'openid profile',
  });
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) params.delete(name);
    else params.set(name, value);
  }
  return params.toString();
}

/** Sign alice in through the sign-in page; returns the agent (with the session cookie) and where it went. */
async function signIn(example: Awaited<ReturnType<typeof createExampleApp>>, query: string) {
  const agent = request.agent(example.app);
  const login = await agent
    .post('/login')
    .type('form')
    .send({ username: 'alice', password: 'alice-password', authorize_query: query });
  return { agent, location: new URL(login.headers.location as string) };
}

describe("the example app's /authorize", () => {
  let example: Awaited<ReturnType<typeof createExampleApp>>;
  beforeAll(async () => {
    example = await createExampleApp({ issuer: ISSUER });
  });
  afterAll(() => example.close());

  it('an unregistered redirect_uri: a 400 page, no redirect (RFC 6749 §4.1.2.1)', async () => {
    const res = await request(example.app).get(
      `/authorize?${authorizeQuery({ redirect_uri: 'https://evil.example/cb' })}`,
    );
    expect([res.status, res.headers.location]).toEqual([400, undefined]);
    expect(res.text).toContain('Invalid redirect URI');
  });

  it('an unknown client_id: a 400 page, no redirect', async () => {
    const res = await request(example.app).get(`/authorize?${authorizeQuery({ client_id: 'nobody' })}`);
    expect([res.status, res.headers.location]).toEqual([400, undefined]);
    expect(res.text).toContain('Unknown client');
  });

  it('a plain PKCE challenge: redirected back with invalid_request, the state and iss (RFC 7636 §4.4.1)', async () => {
    const res = await request(example.app).get(`/authorize?${authorizeQuery({ code_challenge_method: undefined })}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      error: 'invalid_request',
      state: 'st-1',
      iss: ISSUER,
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('unknown scopes are dropped, and the code carries the rest (ignoreUnknownScopes)', async () => {
    const { location } = await signIn(example, authorizeQuery({ scope: 'openid email offline_access' }));
    expect(location.searchParams.has('code')).toBe(true);
  });

  it('prompt=none without a session: login_required back to the client (OIDC Core §3.1.2.6)', async () => {
    const res = await request(example.app).get(`/authorize?${authorizeQuery({ prompt: 'none' })}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location as string);
    expect([location.searchParams.get('error'), location.searchParams.get('state')]).toEqual([
      'login_required',
      'st-1',
    ]);
  });

  it('prompt=none with a session: a code at once, no page', async () => {
    const { agent } = await signIn(example, authorizeQuery());
    const res = await agent.get(`/authorize?${authorizeQuery({ prompt: 'none' })}`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location as string).searchParams.has('code')).toBe(true);
  });

  it('prompt=login with a session: the sign-in page again (OIDC Core §3.1.2.1)', async () => {
    const { agent } = await signIn(example, authorizeQuery());
    const res = await agent.get(`/authorize?${authorizeQuery({ prompt: 'login' })}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('name="password"');
  });
});
