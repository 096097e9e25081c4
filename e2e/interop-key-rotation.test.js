import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import pg from 'pg';
import { SINGLE_REDIS_SETTINGS } from '../__tests__/support/deployment-clients.js';
import { PostgresKeyStore, RedisKeyStore } from '../dist/index.js';
import { DEV_WEB_CLIENT_SECRET, WEB_CALLBACK_PATH, WEB_CLIENT_ID } from '../example-app/clients.js';
import { startExampleHost } from './support/example-host.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from './support/real-servers.js';
import { createUserAgent } from './support/user-agent.js';

/*
 * Issue 17: openid-client and oauth4webapi validate ID tokens across a scheduled rotation of a
 * shared key store (docs/keys.md "Rotation options", "Client libraries across a rotation"). Each
 * library checks the ID token's signature against the host's jwks_uri with its own JWKS cache:
 * openid-client with enableNonRepudiationChecks, oauth4webapi with
 * validateApplicationLevelSignature. Only Date is faked, so one clock moves the key store's
 * schedule, the router's token times and both libraries' cache ages; every timer is real.
 */

const ALICE = { username: 'alice', password: 'alice-password' };
/** A day a key, published an hour before it signs, kept two hours after (above idTokenTtl 1800 s + 30 + 300). */
const ROTATION = { every: 86_400, publishAhead: 3_600, retireAfter: 7_200 };
const EVERY_MS = ROTATION.every * 1000;
/** Every API Jest fakes but Date: timers, microtasks and hrtime stay real. */
const ALL_BUT_DATE = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
  'Temporal',
];
/** What both libraries throw for a kid their cached JWKS lacks while it is under 60 s old. */
const KEY_SELECTION_FAILED = { code: 'OAUTH_KEY_SELECTION_FAILED' };

/** Move the faked clock `seconds` on. */
const advance = (seconds) => jest.setSystemTime(Date.now() + seconds * 1000);
/** Set the faked clock to `seconds` from `epochMs`. */
const setClock = (epochMs, seconds) => jest.setSystemTime(epochMs + seconds * 1000);
/** The start of the next rotation period, in epoch milliseconds. */
const nextPeriodStart = () => Math.ceil(Date.now() / EVERY_MS) * EVERY_MS;
const kidOf = (idToken) => decodeProtectedHeader(idToken).kid;
/** The JWS header a key-selection error names (openid-client wraps oauth4webapi's error in `cause`). */
function refusedHeader(error) {
  for (let at = error; at !== undefined && at !== null; at = at.cause) {
    if (at.cause?.header !== undefined) return at.cause.header;
  }
  return undefined;
}

/** Sign in as Alice on the host's page for `authorizeUrl`; the redirect back, not followed. */
async function signInAt(authorizeUrl) {
  const browser = createUserAgent();
  const answer = await browser.signIn(await browser.navigate(authorizeUrl), ALICE, { follow: false });
  expect(answer.status).toBe(302);
  return answer.location;
}

/**
 * One openid-client Configuration (one JWKS cache) for the demo web app. `signIn()` runs the code
 * flow and resolves to the ID token the library validated; `signInHeld()` resolves once the host
 * has answered the token request, and its `finish()` hands the answer to the library then, so the
 * clock can move while the answer is in flight. `jwksFetches` counts the library's JWKS requests.
 */
async function openidClient(host) {
  const redirectUri = `${host.issuer}${WEB_CALLBACK_PATH}`;
  const config = await oidc.discovery(
    new URL(host.issuer),
    WEB_CLIENT_ID,
    { redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic' },
    oidc.ClientSecretBasic(DEV_WEB_CLIENT_SECRET),
    { execute: [oidc.allowInsecureRequests] },
  );
  // The ID token's signature, checked against jwks_uri (not only its claims).
  oidc.enableNonRepudiationChecks(config);
  const { jwks_uri: jwksUri, token_endpoint: tokenEndpoint } = config.serverMetadata();
  const client = { jwksFetches: 0 };
  let hold;
  config[oidc.customFetch] = async (url, options) => {
    if (url === jwksUri) client.jwksFetches++;
    const response = await fetch(url, options);
    if (url === tokenEndpoint && hold !== undefined) {
      const held = hold;
      hold = undefined;
      held.answered();
      await held.released;
    }
    return response;
  };

  async function grant() {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const location = await signInAt(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      }),
    );
    return oidc
      .authorizationCodeGrant(config, new URL(location), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      })
      .then((tokens) => tokens.id_token);
  }

  client.signIn = grant;
  client.signInHeld = async () => {
    let answered;
    let release;
    const released = new Promise((resolve) => {
      release = resolve;
    });
    const wasAnswered = new Promise((resolve) => {
      answered = resolve;
    });
    hold = { answered, released };
    const idToken = grant();
    await Promise.race([wasAnswered, idToken]);
    return {
      finish() {
        release();
        return idToken;
      },
    };
  };
  return client;
}

/** The same for oauth4webapi: one authorization-server object, whose JWKS cache the library keys on it. */
async function oauth4webapiClient(host) {
  const redirectUri = `${host.issuer}${WEB_CALLBACK_PATH}`;
  const issuer = new URL(host.issuer);
  const client = { jwksFetches: 0 };
  let jwksUri;
  const options = {
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: (url, init) => {
      if (url === jwksUri) client.jwksFetches++;
      return fetch(url, init);
    },
  };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
  jwksUri = as.jwks_uri;
  const registration = { client_id: WEB_CLIENT_ID };
  const clientAuth = oauth.ClientSecretBasic(DEV_WEB_CLIENT_SECRET);

  client.signInHeld = async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const authorize = new URL(as.authorization_endpoint);
    authorize.search = new URLSearchParams({
      client_id: WEB_CLIENT_ID,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    }).toString();
    const callback = oauth.validateAuthResponse(as, registration, new URL(await signInAt(authorize)), state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      registration,
      clientAuth,
      callback,
      redirectUri,
      verifier,
      options,
    );
    return {
      async finish() {
        const tokens = await oauth.processAuthorizationCodeResponse(as, registration, response, {
          expectedNonce: nonce,
          requireIdToken: true,
        });
        await oauth.validateApplicationLevelSignature(as, response, options);
        return tokens.id_token;
      },
    };
  };
  client.signIn = async () => (await client.signInHeld()).finish();
  return client;
}

const LIBRARIES = [
  ['openid-client', openidClient],
  ['oauth4webapi', oauth4webapiClient],
];

/** The example host on a shared key store `open(ROTATION)` makes, on the faked clock. */
function rotationSuite(backend, open) {
  let host;
  let keyStore;
  let cleanup;
  const kidsIn = async () =>
    (await (await fetch(`${host.issuer}/oauth2/jwks`)).json()).keys.map((key) => key.kid).sort();
  const stateOf = async (kid) => (await keyStore.list()).find((key) => key.kid === kid)?.state;

  beforeAll(async () => {
    // Before the store and the host exist: their default clock is the Date.now of that moment.
    jest.useFakeTimers({ doNotFake: ALL_BUT_DATE, advanceTimers: true });
    // A second into a rotation period: the next key is not due for a day.
    setClock(nextPeriodStart(), 1);
    ({ keyStore, cleanup } = await open());
    host = await startExampleHost({ keyStore });
  }, 30_000);

  afterAll(async () => {
    await host?.stop();
    await cleanup?.();
    jest.useRealTimers();
  });

  for (const [library, makeClient] of LIBRARIES) {
    it(`${backend}, ${library}: one client validates the old key's ID token, the new key's once it signs (its kid known from a JWKS fetched after it was published, no refetch), and the retired old key's after`, async () => {
      // Well before the next period's publish window (the first test starts a second into a period).
      advance(60);
      const next = nextPeriodStart();
      const client = await makeClient(host);
      const oldKid = kidOf(await client.signIn());
      expect(await stateOf(oldKid)).toBe('current');
      expect(client.jwksFetches).toBe(1);
      expect((await keyStore.list()).filter((key) => key.state === 'next')).toEqual([]);

      // publishAhead before the next period: the first read of the window makes its key, which
      // signs from the period's start (the clock's real milliseconds since may round it a second up).
      setClock(next, -ROTATION.publishAhead);
      expect(kidOf(await client.signIn())).toBe(oldKid);
      const newKey = (await keyStore.list()).find((key) => key.state === 'next');
      expect(newKey.period).toBe(next / EVERY_MS);
      expect(newKey.signsFrom - next / 1000).toBeGreaterThanOrEqual(0);
      expect(newKey.signsFrom - next / 1000).toBeLessThanOrEqual(1);
      const newKid = newKey.kid;
      expect(await kidsIn()).toEqual([oldKid, newKid].sort());
      // The cache was 300 s old or more: the library read the JWKS again, the next key in it.
      expect(client.jwksFetches).toBe(2);

      // 30 s before the new key signs: another refetch (cache 300 s old), the old key signing.
      setClock(next, -30);
      expect(kidOf(await client.signIn())).toBe(oldKid);
      expect(client.jwksFetches).toBe(3);
      // 10 s before: a token answer the old key signed, which the library reads only later.
      const inFlight = await client.signInHeld();

      // The new key signs. The cache is 31 s old, under the 60 s before either library refetches
      // for an unknown kid, and it validates without any: the kid was in the JWKS it holds.
      setClock(next, 1);
      const newToken = await client.signIn();
      expect(kidOf(newToken)).toBe(newKid);
      expect(await stateOf(newKid)).toBe('current');
      expect(client.jwksFetches).toBe(3);

      // 400 s later (cache stale): the old key is retired, still published, and its token validates
      // against the JWKS the library reads again.
      setClock(next, 400);
      expect(await stateOf(oldKid)).toBe('retired');
      expect(kidOf(await inFlight.finish())).toBe(oldKid);
      expect(client.jwksFetches).toBe(4);
      expect(await kidsIn()).toEqual([oldKid, newKid].sort());

      // Once retireAfter has passed the old key leaves the JWKS; new tokens still validate.
      setClock(next, ROTATION.retireAfter + 1);
      expect(kidOf(await client.signIn())).toBe(newKid);
      expect(await kidsIn()).toEqual([newKid]);
      expect(client.jwksFetches).toBe(5);
    });
  }

  for (const [library, makeClient] of LIBRARIES) {
    it(`${backend}, ${library}: without publishing ahead, a kid missing from a JWKS under 60 s old is refused; once the cache is 60 s old the library refetches and validates it`, async () => {
      // Three hours on: still hours before the next publish window.
      advance(3 * 3_600);
      expect(nextPeriodStart() - Date.now()).toBeGreaterThan(ROTATION.publishAhead * 1000);
      const client = await makeClient(host);
      const oldKid = kidOf(await client.signIn());
      expect(client.jwksFetches).toBe(1);

      // A key added and promoted at once, against docs/keys.md "Rotating keys".
      const added = await keyStore.addGenerated();
      await keyStore.promote(added);
      expect(added).not.toBe(oldKid);
      advance(30);
      // The host serves the key; the library's 30 s old copy of the JWKS does not have it.
      expect(await kidsIn()).toContain(added);
      const refused = await client.signIn().then(
        () => undefined,
        (error) => error,
      );
      expect(refused).toMatchObject(KEY_SELECTION_FAILED);
      expect(refusedHeader(refused)).toMatchObject({ kid: added });
      expect(client.jwksFetches).toBe(1);

      advance(30);
      expect(kidOf(await client.signIn())).toBe(added);
      expect(client.jwksFetches).toBe(2);
    });
  }
}

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'postgres-key-rotation-interop',
  'interop: openid-client and oauth4webapi across a PostgresKeyStore rotation',
  (url) => {
    let pool;
    beforeAll(() => {
      pool = new pg.Pool({ connectionString: url, max: 4 });
    });
    rotationSuite('PostgreSQL', async () => {
      const table = `pkce_k_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
      const keyStore = await PostgresKeyStore.open({
        pool,
        table,
        keyEncryptionKey: randomBytes(32),
        rotation: ROTATION,
        alg: 'ES256',
        migrate: true,
      });
      return { keyStore, cleanup: () => pool.query(`DROP TABLE IF EXISTS ${table}`) };
    });
    // After rotationSuite's own afterAll, which still uses the pool.
    afterAll(() => pool.end());
  },
);

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'redis-key-rotation-interop',
  'interop: openid-client and oauth4webapi across a RedisKeyStore rotation',
  (url) => {
    let client;
    beforeAll(async () => {
      client = new Redis(url, { ...SINGLE_REDIS_SETTINGS, lazyConnect: true });
      await client.connect();
    });
    rotationSuite('Redis', async () => {
      const prefix = `pkce-e2e_${process.pid}_${randomBytes(4).toString('hex')}:`;
      const keyStore = await RedisKeyStore.open({
        client,
        prefix,
        keyEncryptionKey: randomBytes(32),
        rotation: ROTATION,
        alg: 'ES256',
      });
      // The store's one key: its hash (docs/keys.md "Shared key stores").
      return { keyStore, cleanup: () => client.del(`${prefix}signing-keys`) };
    });
    afterAll(() => client.disconnect());
  },
);
