import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEV_WEB_CLIENT_SECRET, WEB_CALLBACK_PATH, WEB_CLIENT_ID } from '../example-app/clients.js';
import { startExampleHost } from './support/example-host.js';
import { createUserAgent } from './support/user-agent.js';

const ALICE = { username: 'alice', password: 'alice-password' };
// GOPATH mode over the system's packages (Debian: golang-go and golang-golang-x-oauth2-dev).
const GO_ENV = { ...process.env, GO111MODULE: 'off', GOPATH: process.env.GOPATH ?? '/usr/share/gocode' };

/** Build e2e/go-oauth2 once; undefined when there is no Go toolchain with golang.org/x/oauth2. */
function buildGoClient(dir) {
  const binary = join(dir, 'go-oauth2');
  const built = spawnSync('go', ['build', '-o', binary, './e2e/go-oauth2'], { env: GO_ENV, encoding: 'utf8' });
  return built.status === 0 ? binary : undefined;
}

const dir = mkdtempSync(join(tmpdir(), 'go-oauth2-'));
const binary = buildGoClient(dir);
// Never a silent skip in CI: there the toolchain is part of the environment.
const describeWithGo = binary !== undefined || process.env.CI === 'true' ? describe : describe.skip;
if (binary === undefined && process.env.CI !== 'true') {
  console.warn(
    'interop-go skipped: no `go` with golang.org/x/oauth2 (apt-get install golang-go golang-golang-x-oauth2-dev)',
  );
}

/**
 * Go's golang.org/x/oauth2 in its default mode (issue 16: it sends the credentials in a Basic
 * header and got 400 invalid_request before): code with PKCE, refresh, then revocation.
 */
describeWithGo('interop: Go golang.org/x/oauth2 (default AuthStyleAutoDetect)', () => {
  let host;
  beforeAll(async () => {
    host = await startExampleHost();
  });
  afterAll(async () => {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in with a Basic header (client_secret_basic), refreshes, and the refresh token is revoked', async () => {
    expect(binary).toBeDefined();
    const redirectUri = `${host.issuer}${WEB_CALLBACK_PATH}`;
    const child = spawn(binary, [host.issuer, WEB_CLIENT_ID, DEV_WEB_CLIENT_SECRET, redirectUri], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const authorizeUrl = (await lines.next()).value;
    const browser = createUserAgent();
    const answer = await browser.signIn(await browser.navigate(authorizeUrl), ALICE, { follow: false });
    expect(answer.status).toBe(302);
    child.stdin.write(`${answer.location}\n`);
    const tokens = JSON.parse((await lines.next()).value);
    const exited = await new Promise((resolve) => child.once('exit', resolve));
    expect(exited).toBe(0);
    expect(tokens.access_token).toMatch(/^eyJ/);
    expect(tokens.refreshed_token).not.toBe(tokens.refresh_token);
    expect(tokens.refreshed_type).toBe('Bearer');

    // x/oauth2 has no revocation call; RFC 7009 with the same Basic credentials.
    const basic = Buffer.from(`${WEB_CLIENT_ID}:${DEV_WEB_CLIENT_SECRET}`).toString('base64');
    const post = (body) =>
      fetch(`${host.issuer}${body.grant_type === undefined ? '/oauth2/revoke' : '/oauth2/token'}`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      });
    expect((await post({ token: tokens.refreshed_token })).status).toBe(200);
    expect((await post({ grant_type: 'refresh_token', refresh_token: tokens.refreshed_token })).status).toBe(400);
  });
});
