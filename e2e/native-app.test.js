import { demoClients, NATIVE_CLIENT_ID } from '../example-app/clients.js';
import { beginSignIn, endpointsOf, finishSignIn, startLoopbackReceiver } from '../example-app/native-app.js';
import { startExampleHost, withRedirectUris } from './support/example-host.js';
import { createUserAgent } from './support/user-agent.js';

const BOB = { username: 'bob', password: 'bob-password' };

describe('a native app signs in with a loopback redirect URI (RFC 8252)', () => {
  let receiver;
  let host;
  beforeEach(async () => {
    // The app's own listener first: the redirect URI names its port, and this library compares
    // redirect URIs exactly, so the client is registered with the port the app got.
    receiver = await startLoopbackReceiver();
    host = await startExampleHost({
      clients: (issuer) =>
        withRedirectUris(demoClients(issuer), NATIVE_CLIENT_ID, [receiver.redirectUri, 'com.example.app:/callback']),
    });
  });
  afterEach(async () => {
    await receiver.close();
    await host.stop();
  });

  it('opens the authorize URL, the user signs in, the redirect reaches the loopback listener, the app redeems the code', async () => {
    expect(receiver.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cb$/);
    const endpoints = endpointsOf(host.issuer);
    const { url, pending } = beginSignIn({ endpoints, redirectUri: receiver.redirectUri });

    // The system browser: the authorization request, the sign-in page, then the redirect.
    const browser = createUserAgent();
    const signInPage = await browser.navigate(url);
    expect(signInPage.status).toBe(200);
    const landed = await browser.signIn(signInPage, BOB);
    expect(landed.url.startsWith(`${receiver.redirectUri}?`)).toBe(true);
    expect(landed.text).toContain('You can close this window');

    // The app, on its listener: the response it caught, then the exchange.
    const response = await receiver.callback;
    expect(response.get('state')).toBe(pending.state);
    expect(response.get('iss')).toBe(host.issuer);
    const { tokens, idTokenClaims } = await finishSignIn({ endpoints, pending, response });
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'openid profile' });
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{84}$/);
    expect(idTokenClaims).toMatchObject({
      iss: host.issuer,
      sub: 'user-bob',
      aud: NATIVE_CLIENT_ID,
      nonce: pending.nonce,
      preferred_username: 'bob',
    });
  });

  it("a code caught on the loopback is bound to the app's verifier: redeemed without it, it is refused and spent", async () => {
    const endpoints = endpointsOf(host.issuer);
    const { url, pending } = beginSignIn({ endpoints, redirectUri: receiver.redirectUri });
    const browser = createUserAgent();
    await browser.signIn(await browser.navigate(url), BOB);
    const response = await receiver.callback;

    // Another program on the machine that caught the same redirect has the code, not the verifier.
    const other = {
      ...pending,
      verifier: beginSignIn({ endpoints, redirectUri: receiver.redirectUri }).pending.verifier,
    };
    await expect(finishSignIn({ endpoints, pending: other, response })).rejects.toMatchObject({
      code: 'invalid_client',
    });
    // The first well-formed attempt spent the code: the real app cannot redeem it either.
    await expect(finishSignIn({ endpoints, pending, response })).rejects.toMatchObject({ code: 'invalid_client' });
  });

  it('a loopback URI on a port that was not registered is refused at /authorize: ports are compared exactly', async () => {
    const unregistered = receiver.redirectUri.replace(
      /:(\d+)\//,
      (_match, port) => `:${Number(port) === 65535 ? 65534 : Number(port) + 1}/`,
    );
    const { url } = beginSignIn({ endpoints: endpointsOf(host.issuer), redirectUri: unregistered });
    const page = await createUserAgent().navigate(url);
    expect(page.status).toBe(400);
    expect(page.redirects).toEqual([]);
    expect(page.text).toContain('Invalid redirect URI');
  });

  it('a custom-scheme redirect URI (com.example.app:/callback): the browser hands the URL to the app, which redeems the code', async () => {
    const endpoints = endpointsOf(host.issuer);
    const { url, pending } = beginSignIn({ endpoints, redirectUri: 'com.example.app:/callback' });
    const browser = createUserAgent();
    const handedOver = await browser.signIn(await browser.navigate(url), BOB);
    expect(handedOver.handedToApp).toBe(true);
    expect(handedOver.url.startsWith('com.example.app:/callback?')).toBe(true);

    const { idTokenClaims } = await finishSignIn({
      endpoints,
      pending,
      response: new URL(handedOver.url).searchParams,
    });
    expect(idTokenClaims).toMatchObject({
      iss: host.issuer,
      sub: 'user-bob',
      aud: NATIVE_CLIENT_ID,
      nonce: pending.nonce,
    });
  });
});
