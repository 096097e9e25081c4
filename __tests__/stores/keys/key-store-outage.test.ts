import express from 'express';
import { Redis } from 'ioredis';
import type pg from 'pg';
import request from 'supertest';
import {
  createTokenRouter,
  issueAuthorizationCode,
  type KeyStoreEvent,
  MemoryCodeStore,
  type SharedKeyStore,
} from '../../../lib/index.js';
import { fakeClock } from '../../support/fake-clock.js';
import { CLIENT_ID, form, ISSUER, pkcePair, REDIRECT_URI } from '../../support/helpers.js';
import { createPool, via } from '../../support/postgres-fixture.js';
import { RECOMMENDED_REDIS_OPTIONS } from '../../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, once, REDIS_URL } from '../../support/services.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { postgresKeyFixture, redisKeyFixture, TEST_CACHE_TTL } from './key-store-fixtures.js';

/*
 * docs/keys.md "When the store is down": an instance whose key store cannot be read goes on
 * signing with the keys it read last, for cacheTtl + maxStale, and says so in an event; past
 * that, the token endpoint answers 503 and spends nothing; once the store is back, it recovers.
 */

const MAX_STALE = 300;
const STORE_TIMEOUT_MS = 1_000;

interface Subject {
  proxy: TcpProxy;
  open(now: () => number, onEvent: (event: KeyStoreEvent) => void): Promise<SharedKeyStore>;
  ready(): Promise<void>;
}

function outageCases(name: string, subject: () => Subject): void {
  it(`${name}: signs with the cached key while the store is down, says so once, then 503 past the bound with the code unspent, and recovers`, async () => {
    const { proxy, open, ready } = subject();
    const clock = fakeClock();
    const events: KeyStoreEvent[] = [];
    const keyStore = await open(clock.now, (event) => events.push(event));
    const codeStore = new MemoryCodeStore({ now: clock.now });
    const app = express().use(
      createTokenRouter({
        issuer: ISSUER,
        codeStore,
        keyStore,
        now: clock.now,
        clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
      }),
    );
    const redeem = async () => {
      const { verifier, challenge } = pkcePair();
      const grant = {
        clientId: CLIENT_ID,
        redirectUri: REDIRECT_URI,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256' as const,
        subject: 'user-alice',
        scope: ['openid'],
      };
      const code = await issueAuthorizationCode(codeStore, grant, { now: clock.now, ttl: 600 });
      return form({
        client_id: CLIENT_ID,
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      });
    };
    const post = (body: string) =>
      request(app).post('/oauth2/token').set('Content-Type', 'application/x-www-form-urlencoded').send(body);
    try {
      const signing = (await keyStore.signingKey()).kid;
      expect((await post(await redeem())).status).toBe(200);

      await proxy.cut();
      clock.advanceTime((TEST_CACHE_TTL + 1) * 1000);
      const stale = await post(await redeem());
      expect(stale.status).toBe(200);
      const staleEvents = events.filter((event) => event.type === 'key_store_stale');
      expect(staleEvents).toHaveLength(1);
      expect(staleEvents[0]).toMatchObject({ type: 'key_store_stale', kid: signing, store: keyStore.constructor.name });
      // Again within cacheTtl: still signing, no second event.
      clock.advanceTime(2_000);
      expect((await post(await redeem())).status).toBe(200);
      expect(events.filter((event) => event.type === 'key_store_stale')).toHaveLength(1);

      // Past cacheTtl + maxStale since the last read: no key, 503, and the code is not spent.
      clock.advanceTime(MAX_STALE * 1000);
      const form503 = await redeem();
      const refused = await post(form503);
      expect([refused.status, refused.body.error]).toEqual([503, 'temporarily_unavailable']);

      await proxy.restore();
      await ready();
      clock.advanceTime(1_100);
      expect((await post(form503)).status).toBe(200);
      expect(events.some((event) => event.type === 'key_store_recovered')).toBe(true);
      // Nothing of a key in any event: kids and times only.
      expect(JSON.stringify(events)).not.toMatch(/"(d|p|q|k)":|ciphertext/);
    } finally {
      codeStore.close();
      await proxy.restore();
    }
  }, 30_000);
}

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'postgres-key-store-outage',
  'PostgresKeyStore unreachable',
  (url) => {
    const target = new URL(url);
    let proxy: TcpProxy;
    let pool: pg.Pool;
    const fixtures: ReturnType<typeof postgresKeyFixture>[] = [];
    beforeAll(async () => {
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      pool = createPool(via(url, proxy.port));
    });
    outageCases('PostgreSQL', () => ({
      proxy,
      open: (now, onEvent) => {
        const fixture = postgresKeyFixture(pool, now, { timeoutMs: STORE_TIMEOUT_MS, maxStale: MAX_STALE, onEvent });
        fixtures.push(fixture);
        return fixture.open();
      },
      ready: async () => undefined,
    }));
    afterAll(async () => {
      await proxy.restore();
      for (const fixture of fixtures) await fixture.cleanup();
      await pool.end();
      await proxy.close();
    });
  },
);

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'redis-key-store-outage',
  'RedisKeyStore unreachable',
  (url) => {
    const target = new URL(url);
    let proxy: TcpProxy;
    let client: Redis;
    const fixtures: ReturnType<typeof redisKeyFixture>[] = [];
    beforeAll(async () => {
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
      client = new Redis({ ...RECOMMENDED_REDIS_OPTIONS, host: '127.0.0.1', port: proxy.port, lazyConnect: true });
      client.on('error', () => undefined);
      await client.connect();
    });
    outageCases('Redis', () => ({
      proxy,
      open: (now, onEvent) => {
        const fixture = redisKeyFixture(client, now, { timeoutMs: STORE_TIMEOUT_MS, maxStale: MAX_STALE, onEvent });
        fixtures.push(fixture);
        return fixture.open();
      },
      ready: async () => {
        if (client.status !== 'ready') await once(client, 'ready', 10_000);
      },
    }));
    afterAll(async () => {
      await proxy.restore();
      if (client.status !== 'ready') await once(client, 'ready', 10_000);
      for (const fixture of fixtures) await fixture.cleanup();
      client.disconnect();
      await proxy.close();
    });
  },
);
