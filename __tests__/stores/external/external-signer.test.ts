import { sign as nodeSign } from 'node:crypto';
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type pg from 'pg';
import request from 'supertest';
import {
  type AuthorizationCodeStore,
  type ChildProcessSigner,
  createTokenRouter,
  type ExternalKeyStore,
  type ExternalSigningKey,
  hashClientSecret,
  issueAuthorizationCode,
  MemoryCodeStore,
  MemoryRefreshTokenStore,
  PostgresCodeStore,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  RedisRefreshTokenStore,
  type RefreshTokenStore,
  startChildProcessSigner,
  type TokenRouterEvent,
  type TokenRouterOptions,
} from '../../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  ISSUER,
  pkcePair,
  postToken,
  REDIRECT_URI,
  refreshForm,
} from '../../support/helpers.js';
import { createPool, dropTables, freshTable } from '../../support/postgres-fixture.js';
import { connectRedis, deletePrefix, freshPrefix } from '../../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../../support/services.js';

/*
 * docs/external-signers.md: tokens signed by a key that never enters the router's process (here
 * a ChildProcessSigner), verified by jose against the JWKS endpoint; and "Nothing spent": a signer
 * that rejects, hangs, dies or answers something that is not the signature is a 503 with the code
 * or refresh token as it was, on every backend the package ships.
 */

const MACHINE = 'machine';
const MACHINE_SECRET = 'machine-secret-of-enough-entropy-0123456789';
/** The signer's bound in these tests: long enough for a child on a busy machine, short for a hang. */
const SIGN_TIMEOUT_MS = 1_000;

/** What the signer of the next sign calls does, counted from the arming. */
type Fault = 'reject' | 'hang' | 'short' | 'other-key' | 'der' | 'throw';

/** The child's key, passed through faults armed for one call of a request. */
class FaultySigner implements ExternalKeyStore {
  calls = 0;
  #failAt = 0;
  #fault: Fault = 'reject';
  readonly #signer: ChildProcessSigner;
  readonly #key: ExternalSigningKey;

  constructor(signer: ChildProcessSigner) {
    this.#signer = signer;
    this.#key = {
      kid: signer.kid,
      alg: signer.alg,
      publicJwk: signer.publicJwk,
      timeoutMs: SIGN_TIMEOUT_MS,
      sign: (input) => this.#sign(input),
    };
  }

  /** From now on, the `failAt`-th call (from 1) fails with `fault`; 0: none. */
  arm(failAt: number, fault: Fault = 'reject'): void {
    this.calls = 0;
    this.#failAt = failAt;
    this.#fault = fault;
  }

  signingKey(): Promise<ExternalSigningKey> {
    return Promise.resolve(this.#key);
  }

  publicJwks() {
    return this.#signer.publicJwks();
  }

  async #sign(input: Uint8Array): Promise<Uint8Array> {
    this.calls += 1;
    const real = async () => (await this.#signer.signingKey()).sign(input);
    if (this.calls !== this.#failAt) return real();
    switch (this.#fault) {
      case 'reject':
        throw new Error('injected: the KMS is down');
      case 'throw':
        // A signer that throws before it returns a promise.
        return (() => {
          throw new Error('injected: synchronous');
        })();
      case 'hang':
        return new Promise(() => undefined);
      case 'short':
        return (await real()).subarray(1);
      case 'other-key':
        // A signature of the right length by a key that is not the published one.
        return new Uint8Array(await (await otherSigner()).signingKey().then((key) => key.sign(input)));
      case 'der':
        // What AWS KMS answers for ECDSA_SHA_256: DER, not R || S.
        return new Uint8Array(nodeSign('sha256', input, { key: await derKey(), dsaEncoding: 'der' }));
    }
  }
}

let other: Promise<ChildProcessSigner> | undefined;
const otherSigner = (): Promise<ChildProcessSigner> => {
  other ??= startChildProcessSigner({ alg: 'ES256' });
  return other;
};
/** A local ES256 private key, only to make a DER signature of the right kind. */
const derKey = async () => (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

interface Stores {
  codeStore: AuthorizationCodeStore;
  refreshTokenStore: RefreshTokenStore;
  cleanup(): Promise<void> | void;
}

async function routerOn(
  stores: Stores,
  keyStore: ExternalKeyStore,
  extra: Pick<TokenRouterOptions, 'refreshTokenReuseInterval' | 'onEvent'> = {},
): Promise<Express> {
  const app = express();
  app.use(
    createTokenRouter({
      ...extra,
      issuer: ISSUER,
      codeStore: stores.codeStore,
      refreshTokenStore: stores.refreshTokenStore,
      keyStore,
      clients: [
        { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] },
        {
          clientId: MACHINE,
          redirectUris: [],
          tokenEndpointAuthMethod: 'client_secret_basic',
          clientSecretHash: await hashClientSecret(MACHINE_SECRET),
          grantTypes: ['client_credentials'],
          scopes: ['status:read'],
        },
      ],
    }),
  );
  return app;
}

async function codeForm(codeStore: AuthorizationCodeStore): Promise<Record<string, string>> {
  const { verifier, challenge } = pkcePair();
  const code = await issueAuthorizationCode(codeStore, {
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    subject: 'user-external',
    scope: ['openid', 'profile'],
  });
  return {
    client_id: CLIENT_ID,
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  };
}

function clientCredentials(app: Express) {
  return request(app)
    .post('/oauth2/token')
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .set('Authorization', `Basic ${Buffer.from(`${MACHINE}:${MACHINE_SECRET}`).toString('base64')}`)
    .send('grant_type=client_credentials&scope=status%3Aread');
}

/** Verify `token` with jose against what the router's JWKS endpoint serves. */
async function verifyWithJwks(app: Express, token: string, audience: string) {
  const jwks = (await request(app).get('/oauth2/jwks')).body;
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience });
}

function externalSignerSuite(name: string, deploy: () => Promise<Stores>): void {
  describe(name, () => {
    let child: ChildProcessSigner;
    let signer: FaultySigner;
    let stores: Stores;
    let app: Express;
    beforeAll(async () => {
      child = await startChildProcessSigner({ alg: 'ES256' });
      signer = new FaultySigner(child);
      stores = await deploy();
      app = await routerOn(stores, signer);
    });
    afterAll(async () => {
      await stores.cleanup();
      await child.close();
    });
    beforeEach(() => signer.arm(0));

    const signIn = async (): Promise<string> => {
      const res = await postToken(app, await codeForm(stores.codeStore));
      expect(res.status).toBe(200);
      return res.body.refresh_token as string;
    };

    it('the code grant: access and ID tokens signed by the child-process signer verify with jose against the JWKS, kid and alg in the header', async () => {
      const res = await postToken(app, await codeForm(stores.codeStore));
      expect(res.status).toBe(200);
      for (const token of [res.body.access_token, res.body.id_token]) {
        expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: child.kid });
        const { payload } = await verifyWithJwks(app, token, CLIENT_ID);
        expect(payload.sub).toBe('user-external');
      }
      // Two tokens, two signatures: none made again after the code was spent.
      expect(signer.calls).toBe(2);
    });

    it('the refresh grant: the refreshed tokens verify with jose against the JWKS', async () => {
      const res = await postToken(app, refreshForm(await signIn()));
      expect(res.status).toBe(200);
      const { payload } = await verifyWithJwks(app, res.body.access_token, CLIENT_ID);
      expect(payload.sub).toBe('user-external');
      expect(decodeProtectedHeader(res.body.id_token)).toMatchObject({ alg: 'ES256', kid: child.kid });
    });

    it('the client credentials grant: the access token verifies with jose against the JWKS', async () => {
      const res = await clientCredentials(app);
      expect(res.status).toBe(200);
      const { payload, protectedHeader } = await verifyWithJwks(app, res.body.access_token, MACHINE);
      expect(payload.sub).toBe(MACHINE);
      expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: child.kid });
    });

    it('the JWKS holds the public key only', async () => {
      const { keys } = (await request(app).get('/oauth2/jwks')).body as { keys: Record<string, unknown>[] };
      expect(keys).toEqual([{ ...child.publicJwk }]);
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(keys[0]).not.toHaveProperty(member);
    });

    const faults: Fault[] = ['reject', 'throw', 'hang', 'short', 'other-key', 'der'];
    for (const fault of faults) {
      it(`a signer that fails (${fault}) at either signature of a code exchange: 503, and the same code then gets tokens`, async () => {
        for (const failAt of [1, 2]) {
          const form = await codeForm(stores.codeStore);
          signer.arm(failAt, fault);
          expectError(await postToken(app, form), 503, 'temporarily_unavailable');
          signer.arm(0);
          const retry = await postToken(app, form);
          expect({ failAt, status: retry.status }).toEqual({ failAt, status: 200 });
        }
      });

      it(`a signer that fails (${fault}) at either signature of a refresh: 503, and the same refresh token then rotates`, async () => {
        for (const failAt of [1, 2]) {
          const token = await signIn();
          signer.arm(failAt, fault);
          expectError(await postToken(app, refreshForm(token)), 503, 'temporarily_unavailable');
          signer.arm(0);
          const retry = await postToken(app, refreshForm(token));
          expect({ failAt, status: retry.status }).toEqual({ failAt, status: 200 });
          expect((await postToken(app, refreshForm(retry.body.refresh_token))).status).toBe(200);
        }
      });
    }

    it('with a grace window, a signer that fails at a refresh: 503, and the retry is a rotation, not a reissue of a spent token', async () => {
      const events: TokenRouterEvent[] = [];
      const graceApp = await routerOn(stores, signer, {
        refreshTokenReuseInterval: 10,
        onEvent: (event) => {
          events.push(event);
        },
      });
      const token = await signIn();
      signer.arm(1, 'reject');
      expectError(await postToken(graceApp, refreshForm(token)), 503, 'temporarily_unavailable');
      signer.arm(0);
      expect((await postToken(graceApp, refreshForm(token))).status).toBe(200);
      // docs/external-signers.md "Nothing spent": the 503 left the token unspent, so the retry
      // rotated it; had it been spent, the retry would have been a grace reissue.
      const rotated = events.filter((event) => event.type === 'refresh_rotated');
      expect(rotated).toHaveLength(1);
      expect(rotated[0]).not.toHaveProperty('graceReissue');
    });

    it('a signer that hangs is given up after its timeoutMs: the answer is 503 within the bound', async () => {
      const form = await codeForm(stores.codeStore);
      signer.arm(1, 'hang');
      const started = Date.now();
      expectError(await postToken(app, form), 503, 'temporarily_unavailable');
      expect(Date.now() - started).toBeLessThan(SIGN_TIMEOUT_MS * 3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(SIGN_TIMEOUT_MS - 50);
    });

    it('a client credentials request whose signer fails: 503 key_unavailable', async () => {
      signer.arm(1, 'reject');
      expectError(await clientCredentials(app), 503, 'temporarily_unavailable');
    });

    it('the signer process dies: 503 for the code and the refresh token, which then work once the host starts a new signer', async () => {
      const form = await codeForm(stores.codeStore);
      const token = await signIn();
      const restarted = await startChildProcessSigner({ alg: 'ES256' });
      process.kill(child.pid ?? 0, 'SIGKILL');
      await child.exited;
      expectError(await postToken(app, form), 503, 'temporarily_unavailable');
      expectError(await postToken(app, refreshForm(token)), 503, 'temporarily_unavailable');
      // The host starts another signer (docs/external-signers.md "When the child dies"), here a
      // router on it: the code and token were not spent by the failures above.
      const after = await routerOn(stores, new FaultySigner(restarted));
      const redeemed = await postToken(after, form);
      expect(redeemed.status).toBe(200);
      await verifyWithJwks(after, redeemed.body.access_token, CLIENT_ID);
      expect((await postToken(after, refreshForm(token))).status).toBe(200);
      child = restarted;
    });
  });
}

describe('external signers (docs/external-signers.md)', () => {
  externalSignerSuite('memory stores', async () => {
    const codeStore = new MemoryCodeStore();
    const refreshTokenStore = new MemoryRefreshTokenStore();
    return {
      codeStore,
      refreshTokenStore,
      cleanup: () => {
        codeStore.close();
        refreshTokenStore.close();
      },
    };
  });

  afterAll(async () => {
    await (await other)?.close();
  });
});

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'redis-external-signer',
  'external signers on Redis stores',
  (url) => {
    let redis: Redis;
    beforeAll(async () => {
      redis = await connectRedis(url);
    });
    afterAll(async () => {
      await redis.quit();
      await (await other)?.close();
    });
    externalSignerSuite('Redis stores on one client', async () => {
      const prefix = freshPrefix();
      return {
        codeStore: new RedisCodeStore({ client: redis, prefix }),
        refreshTokenStore: new RedisRefreshTokenStore({ client: redis, prefix }),
        cleanup: () => deletePrefix(redis, prefix),
      };
    });
  },
);

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'postgres-external-signer',
  'external signers on PostgreSQL stores',
  (url) => {
    let database: pg.Pool;
    beforeAll(() => {
      database = createPool(url);
    });
    afterAll(async () => {
      await database.end();
      await (await other)?.close();
    });
    externalSignerSuite('PostgreSQL stores on one pool', async () => {
      const [codeTable, refreshTable] = [freshTable('pkce_xs_c'), freshTable('pkce_xs_r')];
      const codeStore = new PostgresCodeStore({ pool: database, table: codeTable });
      const refreshTokenStore = new PostgresRefreshTokenStore({ pool: database, table: refreshTable });
      await Promise.all([codeStore.migrate(), refreshTokenStore.migrate()]);
      return {
        codeStore,
        refreshTokenStore,
        cleanup: () => dropTables(database, [codeTable, refreshTable, `${refreshTable}_revoked_families`]),
      };
    });
  },
);
