import type { Server } from 'node:http';
import express from 'express';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import type pg from 'pg';
import {
  type AuthorizationCodeStore,
  createTokenRouter,
  issueAuthorizationCode,
  PostgresCodeStore,
  RedisCodeStore,
  type SharedKeyStore,
} from '../../../lib/index.js';
import { fakeClock } from '../../support/fake-clock.js';
import { CLIENT_ID, ISSUER, pkcePair, REDIRECT_URI } from '../../support/helpers.js';
import { createPool, dropTables, freshTable } from '../../support/postgres-fixture.js';
import { type AnyRedis, connectRedis } from '../../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../../support/services.js';
import { postgresKeyFixture, redisKeyFixture, TEST_CACHE_TTL, TEST_ROTATION } from './key-store-fixtures.js';

/*
 * Issue 17 §5: two instances, A and B, each a router with its own key store object on one shared
 * backend, listening on real ports, on one controllable clock. A rotates; B follows without a
 * restart, and no token request fails meanwhile.
 */

const EVERY_MS = TEST_ROTATION.every * 1000;
const AHEAD_MS = TEST_ROTATION.publishAhead * 1000;
const CACHE_MS = TEST_CACHE_TTL * 1000;
/** Token requests sent at once at each step of the rotation, half through each instance. */
const CONCURRENT = 10;

interface Instance {
  url: string;
  keyStore: SharedKeyStore;
  close(): Promise<void>;
}

interface Backend {
  openKeyStore(): Promise<SharedKeyStore>;
  codeStore: AuthorizationCodeStore;
}

function twoInstances(
  name: string,
  backend: (now: () => number) => Promise<Backend & { cleanup(): Promise<void> }>,
): void {
  const clock = fakeClock();
  let a: Instance;
  let b: Instance;
  let codeStore: AuthorizationCodeStore;
  let cleanup: () => Promise<void>;

  async function start(keyStore: SharedKeyStore): Promise<Instance> {
    const app = express().use(
      createTokenRouter({
        issuer: ISSUER,
        codeStore,
        keyStore,
        now: clock.now,
        clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
      }),
    );
    const server: Server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const address = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${address.port}`,
      keyStore,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  /** A token request through `at`: a fresh code redeemed over HTTP. */
  async function tokenVia(
    at: Instance,
  ): Promise<{ status: number; idToken: string | undefined; accessToken: string | undefined }> {
    const { verifier, challenge } = pkcePair();
    const code = await issueAuthorizationCode(
      codeStore,
      {
        clientId: CLIENT_ID,
        redirectUri: REDIRECT_URI,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        subject: 'user-alice',
        scope: ['openid'],
      },
      { now: clock.now },
    );
    const response = await fetch(`${at.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: CLIENT_ID,
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }),
    });
    const body = (await response.json()) as { id_token?: string; access_token?: string };
    return { status: response.status, idToken: body.id_token, accessToken: body.access_token };
  }

  const jwksOf = async (at: Instance) => (await (await fetch(`${at.url}/oauth2/jwks`)).json()) as JSONWebKeySet;
  const kidOf = (token: string | undefined) => decodeProtectedHeader(token ?? '').kid;

  /** The ID token verifies with the keys `by` serves over HTTP now. */
  async function verifiesThrough(token: string | undefined, by: Instance): Promise<string | undefined> {
    const { payload } = await jwtVerify(token ?? '', createLocalJWKSet(await jwksOf(by)), {
      issuer: ISSUER,
      audience: CLIENT_ID,
      currentDate: new Date(clock.now()),
    });
    return payload.sub;
  }

  beforeAll(async () => {
    // Just past the start of a period: the next key is not due yet.
    clock.advanceTime(EVERY_MS - (clock.now() % EVERY_MS) + 1_000);
    const made = await backend(clock.now);
    codeStore = made.codeStore;
    cleanup = made.cleanup;
    const [storeA, storeB] = await Promise.all([made.openKeyStore(), made.openKeyStore()]);
    [a, b] = await Promise.all([start(storeA), start(storeB)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cleanup?.();
  });

  it(`${name}: A makes the next key; B serves it before anyone signs with it, then both sign with it at its start`, async () => {
    const before = await tokenVia(a);
    const oldKid = kidOf(before.idToken);
    expect((await jwksOf(b)).keys.map((key) => key.kid)).toEqual([oldKid]);

    // Into the publish window: A's token request is the read that makes the period's key.
    clock.advanceTime(EVERY_MS - AHEAD_MS);
    expect(kidOf((await tokenVia(a)).idToken)).toBe(oldKid);
    const published = (await a.keyStore.list()).find((key) => key.state === 'next');
    expect(published).toBeDefined();
    const newKid = published!.kid;
    // B, already past its cache bound, serves the new key while both still sign with the old one.
    expect((await jwksOf(b)).keys.map((key) => key.kid)).toContain(newKid);
    expect(kidOf((await tokenVia(b)).idToken)).toBe(oldKid);

    clock.advanceTime(AHEAD_MS - 60_000);
    const lastOld = await tokenVia(b);
    expect(kidOf(lastOld.idToken)).toBe(oldKid);
    // At the period's start both sign with the new key, from what they already read.
    clock.advanceTime(61_000);
    const viaA = await tokenVia(a);
    const viaB = await tokenVia(b);
    expect([kidOf(viaA.idToken), kidOf(viaB.idToken)]).toEqual([newKid, newKid]);
    expect(await verifiesThrough(viaA.idToken, b)).toBe('user-alice');
    expect(await verifiesThrough(viaB.idToken, a)).toBe('user-alice');
    // A token the old key signed just before still verifies through both (the old key is retired, published).
    expect(await verifiesThrough(lastOld.idToken, a)).toBe('user-alice');
    expect(await verifiesThrough(lastOld.idToken, b)).toBe('user-alice');
  });

  it(`${name}: a key A promotes verifies through B's JWKS while B still signs with the old one; B follows within cacheTtl, no restart`, async () => {
    const oldKid = kidOf((await tokenVia(b)).idToken);
    const added = await a.keyStore.addGenerated();
    // The JWKS caches honour jwksMaxAge (300 s): promote after it, as docs/keys.md says.
    clock.advanceTime(300_000 + CACHE_MS);
    expect((await jwksOf(b)).keys.map((key) => key.kid)).toContain(added);
    await a.keyStore.promote(added);

    const viaA = await tokenVia(a);
    expect(kidOf(viaA.idToken)).toBe(added);
    expect(await verifiesThrough(viaA.idToken, b)).toBe('user-alice');
    expect(kidOf((await tokenVia(b)).idToken)).toBe(oldKid);

    clock.advanceTime(CACHE_MS + 1_000);
    const viaB = await tokenVia(b);
    expect(kidOf(viaB.idToken)).toBe(added);
    expect(await verifiesThrough(viaB.idToken, a)).toBe('user-alice');
  });

  it(`${name}: across a whole scheduled rotation, every token request through either instance answers 200 and its token verifies through the other`, async () => {
    // From before the next key is made to after it signs, in steps shorter than the publish window.
    const nextStart = Math.ceil(clock.now() / EVERY_MS) * EVERY_MS;
    clock.advanceTime(nextStart - AHEAD_MS - 10 * 60_000 - clock.now());
    const kids = new Set<string | undefined>();
    let requests = 0;
    for (let step = 0; step <= 8; step++) {
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) => tokenVia(i % 2 === 0 ? a : b).then((answer) => ({ answer, i }))),
      );
      for (const { answer, i } of answers) {
        expect(answer.status).toBe(200);
        kids.add(kidOf(answer.idToken));
        expect(await verifiesThrough(answer.idToken, i % 2 === 0 ? b : a)).toBe('user-alice');
        requests++;
      }
      clock.advanceTime((AHEAD_MS + 20 * 60_000) / 8);
    }
    expect(requests).toBe(9 * CONCURRENT);
    // The key before and the key after: the rotation happened within the run.
    expect(kids.size).toBe(2);
  }, 60_000);
}

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'postgres-key-rotation-two-instances',
  'two routers on one PostgresKeyStore table',
  (url) => {
    let pool: pg.Pool;
    beforeAll(() => {
      pool = createPool(url);
    });
    twoInstances('PostgreSQL', async (now) => {
      const keys = postgresKeyFixture(pool, now);
      const codeTable = freshTable('pkce_c');
      const codeStore = new PostgresCodeStore({ pool, table: codeTable, now });
      await codeStore.migrate();
      return {
        openKeyStore: () => keys.open(),
        codeStore,
        cleanup: async () => {
          await keys.cleanup();
          await dropTables(pool, [codeTable]);
        },
      };
    });
    // After twoInstances' own afterAll, which still uses the pool.
    afterAll(() => pool.end());
  },
);

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'redis-key-rotation-two-instances',
  'two routers on one RedisKeyStore prefix',
  (url) => {
    let client: AnyRedis;
    beforeAll(async () => {
      client = await connectRedis(url);
    });
    twoInstances('Redis', async (now) => {
      const keys = redisKeyFixture(client, now);
      // Under the key fixture's prefix, so its cleanup takes the codes too.
      const codeStore = new RedisCodeStore({ client, prefix: `${keys.prefix}codes:` });
      return { openKeyStore: () => keys.open(), codeStore, cleanup: () => keys.cleanup() };
    });
    afterAll(() => client.disconnect());
  },
);
