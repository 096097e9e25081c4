import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SPA_CALLBACK_PATH, SPA_CLIENT_ID } from '../example-app/clients.js';
import { listenOnLoopback } from './support/example-host.js';
import { createUserAgent } from './support/user-agent.js';

const SERVER = fileURLToPath(new URL('../example-app/server.js', import.meta.url));
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A port that was free a moment ago: server.js takes a PORT, not 0. */
async function freePort() {
  const probe = await listenOnLoopback();
  await probe.close();
  return probe.port;
}

describe('the example app (npm start) logs audit events as JSON lines', () => {
  let child;
  let issuer;
  /** Every stdout line after the start-up message. */
  const lines = [];
  let lineArrived = () => {};

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    child = spawn(process.execPath, [SERVER], {
      // Strict rotation (the example's default is a 10 s grace window), so the reuse below is reuse.
      env: { ...process.env, PORT: String(port), REFRESH_TOKEN_REUSE_INTERVAL: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const stdout = createInterface({ input: child.stdout });
    let listening;
    const started = new Promise((resolve) => (listening = resolve));
    stdout.on('line', (line) => {
      if (line.startsWith('pkce-token-router example listening')) listening();
      else if (line.startsWith('{')) {
        lines.push(line);
        lineArrived();
      }
    });
    await started;
  });

  afterAll(async () => {
    child.kill();
    await once(child, 'exit');
  });

  /** Wait until `count` event lines have arrived (each is written as its request is answered). */
  async function eventLines(count) {
    while (lines.length < count) await new Promise((resolve) => (lineArrived = resolve));
    return lines.map((line) => JSON.parse(line));
  }

  const postForm = (path, params) =>
    fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });

  it('one line per event, each a JSON object with its type and an ISO time, none with a secret', async () => {
    const rejected = await postForm('/oauth2/token', { grant_type: 'authorization_code' });
    expect(rejected.status).toBe(400);

    // Sign in as a user of the SPA would: the authorization request, the sign-in, the redirect.
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = `${issuer}${SPA_CALLBACK_PATH}`;
    const authorize = new URL('/authorize', issuer);
    authorize.search = new URLSearchParams({
      client_id: SPA_CLIENT_ID,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      state: 'st',
      nonce: 'nn',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const browser = createUserAgent();
    const back = await browser.signIn(
      await browser.navigate(authorize),
      { username: 'alice', password: 'alice-password' },
      { follow: false },
    );
    const code = new URL(back.location).searchParams.get('code');
    const tokens = await (
      await postForm('/oauth2/token', {
        client_id: SPA_CLIENT_ID,
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      })
    ).json();
    const refreshed = await postForm('/oauth2/token', {
      client_id: SPA_CLIENT_ID,
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    const reused = await postForm('/oauth2/token', {
      client_id: SPA_CLIENT_ID,
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(reused.status).toBe(400);

    const events = await eventLines(7);
    expect(events.map((event) => event.type)).toEqual([
      'request_rejected',
      'code_redeemed',
      'token_issued',
      'refresh_rotated',
      'token_issued',
      'refresh_reuse_detected',
      'request_rejected',
    ]);
    expect(events[0]).toMatchObject({
      endpoint: 'token',
      reason: 'client_id_invalid',
      status: 400,
      error: 'invalid_request',
    });
    expect(events[2]).toMatchObject({ grantType: 'authorization_code', clientId: SPA_CLIENT_ID, scope: ['openid'] });
    for (const event of events) expect(event.time).toMatch(ISO_TIME);
    const log = lines.join('\n');
    for (const secret of [code, verifier, tokens.access_token, tokens.refresh_token, tokens.id_token]) {
      expect(log).not.toContain(secret);
    }
  });
});
