import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { DIRECT_POSTGRES, DISTRIBUTED_REDIS, PGBOUNCER, SINGLE_REDIS } from '../support/deployments.js';
import {
  authorizeAt,
  CLIENT_ID,
  codeFrom,
  type Instance,
  ISSUER,
  postToken,
  signingJwks,
  startInstance,
} from '../support/example-instance.js';
import { createPool, dropTables } from '../support/postgres-fixture.js';
import { connectRedis, deletePrefix, freshPrefix } from '../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const CONCURRENT = 100;
const CLIENTS = JSON.stringify([{ clientId: CLIENT_ID, redirectUris: ['https://app.example.com/callback'] }]);

async function expectVerifies(token: string, by: Instance): Promise<void> {
  const jwks = (await (await fetch(`${by.url}/oauth2/jwks`)).json()) as JSONWebKeySet;
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: CLIENT_ID });
  expect(payload.sub).toBe('user-alice');
}

/**
 * Two processes of the example app on one shared store, as behind a load balancer: the same
 * ISSUER, the same SIGNING_JWKS, the same CLIENTS, different ports.
 */
function twoInstances(storeProcess: () => { script?: string; env: Record<string, string> }): void {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    const { script, env: storeEnv } = storeProcess();
    // Strict rotation (the router's default; the example app's own is a 10 s grace window), so a
    // token presented twice is reuse at once.
    const env = { ...storeEnv, SIGNING_JWKS: await signingJwks(), CLIENTS, REFRESH_TOKEN_REUSE_INTERVAL: '0' };
    // Started together: on Postgres both migrate at once, which must not trip either.
    [a, b] = await Promise.all([startInstance(env, script), startInstance(env, script)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("a code issued through one instance redeems at the other, and its tokens verify with the other's JWKS", async () => {
    const viaA = await postToken(b, await codeFrom(a));
    expect(viaA.status).toBe(200);
    await expectVerifies(viaA.body.access_token!, a);
    await expectVerifies(viaA.body.id_token!, a);

    const viaB = await postToken(a, await codeFrom(b));
    expect(viaB.status).toBe(200);
    await expectVerifies(viaB.body.access_token!, b);
  });

  it(`${CONCURRENT} concurrent redemptions of one code across both: exactly one 200, no 5xx, and the replays revoke its refresh token`, async () => {
    const form = await codeFrom(a);
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => postToken(i % 2 === 0 ? a : b, form)),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(CONCURRENT - 1);
    const winner = answers.find((answer) => answer.status === 200)!;
    await expectVerifies(winner.body.id_token!, b);
    // RFC 6749 §4.1.2: a replayed code revokes what was issued from it, on every instance.
    const refreshed = await postToken(a, {
      client_id: CLIENT_ID,
      grant_type: 'refresh_token',
      refresh_token: winner.body.refresh_token!,
    });
    expect([refreshed.status, refreshed.body.error]).toEqual([400, 'invalid_grant']);
  }, 30_000);

  it('a refresh token rotates at one instance; its reuse at the other is refused and ends the family', async () => {
    const first = await postToken(a, await codeFrom(a));
    const refresh = (token: string, at: Instance) =>
      postToken(at, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: token });
    const rotated = await refresh(first.body.refresh_token!, b);
    expect(rotated.status).toBe(200);
    expect((await refresh(first.body.refresh_token!, a)).status).toBe(400);
    expect((await refresh(rotated.body.refresh_token!, b)).status).toBe(400);
  });
}

// On one Redis server, a Cluster and a Sentinel's master; on PostgreSQL directly and through PgBouncer.
for (const deployment of [SINGLE_REDIS, ...DISTRIBUTED_REDIS]) {
  const title = deployment === SINGLE_REDIS ? 'one Redis' : `one ${deployment.server.name}`;
  describeWithServer(
    deployment.server,
    `${deployment.marker}-two-instances`,
    `two example-app processes on ${title}`,
    (where) => {
      const prefix = freshPrefix();
      twoInstances(() => deployment.process(where, prefix));
      afterAll(async () => {
        const client = await deployment.connect(where);
        await deletePrefix(client, prefix);
        client.disconnect();
      });
    },
  );
}

/** A table prefix of at most 12 characters (the example app's limit), unique to this run. */
const tablePrefix = () => `t${process.pid % 100_000}_${Math.random().toString(16).slice(2, 6)}_`;
const tablesOf = (prefix: string) =>
  ['authorization_codes', 'refresh_tokens', 'refresh_tokens_revoked_families'].map((name) => `${prefix}${name}`);

for (const deployment of [DIRECT_POSTGRES, PGBOUNCER]) {
  const title = deployment === DIRECT_POSTGRES ? 'one PostgreSQL' : 'PostgreSQL through PgBouncer';
  describeWithServer(
    deployment.server,
    `${deployment.marker}-two-instances`,
    `two example-app processes on ${title}`,
    (where) => {
      const prefix = tablePrefix();
      twoInstances(() => deployment.process(where, prefix));
      afterAll(async () => {
        const pool = deployment.pool(where);
        await dropTables(pool, tablesOf(prefix));
        await pool.end();
      });
    },
  );
}

/** The kids a JWKS endpoint publishes, sorted. */
async function publishedKids(instance: Instance): Promise<string[]> {
  const jwks = (await (await fetch(`${instance.url}/oauth2/jwks`)).json()) as JSONWebKeySet;
  return jwks.keys.map((key) => String(key.kid)).sort();
}

/**
 * Two processes with KEY_STORE on the server of their code and refresh-token stores, and no
 * SIGNING_JWKS: the signing keys are in the store, encrypted under KEY_ENCRYPTION_KEY, and both
 * read the same ones (docs/keys.md "Several instances: one set of keys").
 */
function sharedKeyStore(storeEnv: () => Record<string, string>, keyStore: 'redis' | 'postgres'): void {
  const kek = randomBytes(32).toString('base64url');
  let a: Instance;
  let b: Instance;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = { ...storeEnv(), KEY_STORE: keyStore, KEY_ENCRYPTION_KEY: kek, CLIENTS };
    // Started together on an empty store: both race to make the first key, and one key is made.
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('both publish the same kids', async () => {
    const kids = await publishedKids(a);
    expect(kids.length).toBeGreaterThan(0);
    expect(await publishedKids(b)).toEqual(kids);
  });

  it("a token from one instance verifies through the other's /oauth2/jwks, both ways", async () => {
    const fromA = await postToken(a, await codeFrom(a));
    expect(fromA.status).toBe(200);
    const jwksOfB = createRemoteJWKSet(new URL(`${b.url}/oauth2/jwks`));
    for (const token of [fromA.body.access_token!, fromA.body.id_token!]) {
      const { payload } = await jwtVerify(token, jwksOfB, { issuer: ISSUER, audience: CLIENT_ID });
      expect(payload.sub).toBe('user-alice');
    }
    const fromB = await postToken(b, await codeFrom(b));
    expect(fromB.status).toBe(200);
    const { payload } = await jwtVerify(fromB.body.id_token!, createRemoteJWKSet(new URL(`${a.url}/oauth2/jwks`)), {
      issuer: ISSUER,
      audience: CLIENT_ID,
    });
    expect(payload.sub).toBe('user-alice');
    // One key signs on both, so neither's tokens need a key only it holds.
    expect(decodeProtectedHeader(fromB.body.id_token!).kid).toBe(decodeProtectedHeader(fromA.body.id_token!).kid);
  });

  it('an instance given the key-encryption key second in a list (the KEK rotated) opens the same keys', async () => {
    const newer = randomBytes(32).toString('base64url');
    const c = await startInstance({ ...env, KEY_ENCRYPTION_KEY: `next:${newer},default:${kek}` });
    try {
      expect(await publishedKids(c)).toEqual(await publishedKids(a));
      const fromC = await postToken(c, await codeFrom(c));
      expect(fromC.status).toBe(200);
      await expectVerifies(fromC.body.id_token!, b);
    } finally {
      await c.stop();
    }
  });

  it('an instance with another KEY_ENCRYPTION_KEY does not start, naming the variable and no key', async () => {
    const other = randomBytes(32).toString('base64url');
    const message = await startInstance({ ...env, KEY_ENCRYPTION_KEY: other }).then(
      async (started) => {
        await started.stop();
        return 'it started';
      },
      (error: Error) => error.message,
    );
    expect(message).toMatch(/exited \(1\).*KEY_ENCRYPTION_KEY does not decrypt the signing keys/);
    expect(message).not.toContain(other);
    expect(message).not.toContain(kek);
  });
}

describeWithServer(
  SINGLE_REDIS.server,
  'redis-example-key-store',
  'two example-app processes with KEY_STORE=redis on one Redis',
  (url) => {
    const prefix = freshPrefix();
    sharedKeyStore(() => SINGLE_REDIS.process(url, prefix).env, 'redis');
    afterAll(async () => {
      const client = await SINGLE_REDIS.connect(url);
      await deletePrefix(client, prefix);
      client.disconnect();
    });
  },
);

describeWithServer(
  DIRECT_POSTGRES.server,
  'postgres-example-key-store',
  'two example-app processes with KEY_STORE=postgres on one PostgreSQL',
  (url) => {
    const prefix = tablePrefix();
    sharedKeyStore(() => DIRECT_POSTGRES.process(url, prefix).env, 'postgres');
    afterAll(async () => {
      const pool = DIRECT_POSTGRES.pool(url);
      await dropTables(pool, [...tablesOf(prefix), `${prefix}signing_keys`]);
      await pool.end();
    });
  },
);

describe('an example-app process whose store is down', () => {
  const down = (
    name: 'Redis' | 'PostgreSQL',
    url: string | undefined,
    marker: string,
    env: (proxied: string) => Record<string, string>,
    cleanup: (url: string) => Promise<void>,
  ) =>
    describeWithServer(
      { name, variable: name === 'Redis' ? 'REDIS_URL' : 'DATABASE_URL', url },
      marker,
      `on ${name}: starts, answers 503, and recovers on its own`,
      (real) => {
        it('starts with its store unreachable, answers token requests 503 temporarily_unavailable, and works once the store is back', async () => {
          const target = new URL(real);
          const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
          await proxy.cut();
          const proxied = new URL(real);
          proxied.hostname = '127.0.0.1';
          proxied.port = String(proxy.port);
          const instance = await startInstance({
            ...env(proxied.toString()),
            SIGNING_JWKS: await signingJwks(),
            CLIENTS,
          });
          try {
            const form = {
              client_id: CLIENT_ID,
              grant_type: 'authorization_code',
              code: 'c'.repeat(43),
              redirect_uri: 'https://app.example.com/callback',
              code_verifier: 'v'.repeat(43),
            };
            const started = performance.now();
            const answer = await postToken(instance, form);
            const ms = performance.now() - started;
            expect([answer.status, answer.body.error]).toEqual([503, 'temporarily_unavailable']);
            console.info(`example app on a down ${name}: 503 in ${ms.toFixed(0)} ms`);

            await proxy.restore();
            // Back on its own: reconnect (and, on Postgres, the migration retried in the background).
            const deadline = performance.now() + 20_000;
            let issued = await authorizeAt(instance);
            while (!('form' in issued) && performance.now() < deadline) {
              await new Promise((resolve) => setTimeout(resolve, 250));
              issued = await authorizeAt(instance);
            }
            if (!('form' in issued)) throw new Error(`no code after the store came back: ${issued.status}`);
            expect((await postToken(instance, issued.form)).status).toBe(200);
            expect(instance.stderr.join('\n')).not.toContain(real);
          } finally {
            await instance.stop();
            await proxy.close();
            await cleanup(real);
          }
        }, 40_000);
      },
    );

  const redisPrefix = freshPrefix();
  down(
    'Redis',
    REDIS_URL,
    'redis-store-down',
    (proxied) => ({ STORE: 'redis', REDIS_URL: proxied, STORE_PREFIX: redisPrefix }),
    async (url) => {
      const client = await connectRedis(url);
      await deletePrefix(client, redisPrefix);
      await client.quit();
    },
  );
  const pgPrefix = `d${process.pid % 100_000}_${Math.random().toString(16).slice(2, 6)}_`;
  down(
    'PostgreSQL',
    DATABASE_URL,
    'postgres-store-down',
    (proxied) => ({ STORE: 'postgres', DATABASE_URL: proxied, STORE_PREFIX: pgPrefix }),
    async (url) => {
      const pool = createPool(url);
      await dropTables(pool, tablesOf(pgPrefix));
      await pool.end();
    },
  );
});
