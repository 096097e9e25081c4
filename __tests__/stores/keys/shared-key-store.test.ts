import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ConfigurationError, createTokenRouter, MemoryCodeStore, PostgresKeyStore } from '../../../lib/index.js';
import { KeyEncryptionKeys } from '../../../lib/stores/key-encryption.js';
import { fakeClock } from '../../support/fake-clock.js';
import { createPool } from '../../support/postgres-fixture.js';
import { type AnyRedis, connectRedis } from '../../support/redis-fixture.js';
import { DATABASE_URL, describeWithServer, REDIS_URL } from '../../support/services.js';
import { postgresKeyFixture, redisKeyFixture } from './key-store-fixtures.js';

async function rejection(call: () => Promise<unknown>): Promise<ConfigurationError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('did not reject');
}

type Fixture = ReturnType<typeof postgresKeyFixture> | ReturnType<typeof redisKeyFixture>;

/** What both shared stores must do alike, on a fresh fixture each. */
function sharedCases(
  name: string,
  fixture: (now: () => number) => Fixture,
  kekIdsAtRest: (f: Fixture) => Promise<string[]>,
): void {
  const clock = fakeClock();
  let made: Fixture[] = [];
  const fresh = () => {
    const f = fixture(clock.now);
    made.push(f);
    return f;
  };
  afterEach(async () => {
    for (const f of made) await f.cleanup();
    made = [];
  });

  it(`${name}: a new key-encryption key put first re-wraps every key; then the old one can go, and alone it no longer opens`, async () => {
    const f = fresh();
    const first = await f.open();
    await first.addGenerated();
    const kids = (await first.publicJwks()).keys.map((key) => key.kid).sort();
    const newKek = randomBytes(32);
    const both = [
      { id: 'k2', key: newKek },
      { id: 'default', key: f.keyEncryptionKey },
    ];
    const rotating = await f.open({ keyEncryptionKey: both as never });
    expect(await rotating.rewrapKeys()).toBe(kids.length);
    expect(await kekIdsAtRest(f)).toEqual(kids.map(() => 'k2'));
    const after = await f.open({ keyEncryptionKey: [{ id: 'k2', key: newKek }] as never });
    expect((await after.publicJwks()).keys.map((key) => key.kid).sort()).toEqual(kids);
    expect((await after.signingKey()).kid).toBe((await first.signingKey()).kid);
    const error = await rejection(() => f.open());
    expect([error.code, error.message]).toEqual(['ERR_KEY_ENCRYPTION_KEY', expect.stringContaining('"k2"')]);
  });

  it(`${name}: the key-encryption key must be there and be 32 bytes; the error never quotes it`, async () => {
    const f = fresh();
    const short = randomBytes(16).toString('base64');
    for (const keyEncryptionKey of [
      undefined,
      short,
      'not base64 at all!',
      [],
      [{ id: 'a b', key: randomBytes(32) }],
    ]) {
      const error = await rejection(() => f.open({ keyEncryptionKey: keyEncryptionKey as never }));
      expect(error.code).toBe('ERR_KEY_ENCRYPTION_KEY');
      expect(error.message).not.toContain(short);
    }
    const twice = [
      { id: 'a', key: randomBytes(32) },
      { id: 'a', key: randomBytes(32) },
    ];
    expect((await rejection(() => f.open({ keyEncryptionKey: twice as never }))).code).toBe('ERR_KEY_ENCRYPTION_KEY');
  });

  it(`${name}: rotation bounds and alg are checked at open`, async () => {
    const f = fresh();
    expect((await rejection(() => f.open({ rotation: { every: 600 } }))).option).toBe('rotation.every');
    expect((await rejection(() => f.open({ rotation: { every: 7_200, publishAhead: 7_200 } }))).option).toBe(
      'rotation.publishAhead',
    );
    expect((await rejection(() => f.open({ cacheTtl: 7_200 }))).option).toBe('rotation.publishAhead');
    expect((await rejection(() => f.open({ alg: 'HS256' as never }))).code).toBe('ERR_KEY_INVALID');
  });

  it(`${name}: the router refuses a schedule that publishes later than jwksMaxAge + cacheTtl ahead, or retires before tokens expire`, async () => {
    const keyStore = await fresh().open();
    const codeStore = new MemoryCodeStore();
    try {
      const base = { issuer: 'https://login.example.com', codeStore, keyStore };
      expect(() => createTokenRouter({ ...base, jwksMaxAge: 3_600 })).toThrow(/jwksMaxAge \+ cacheTtl \(3630 s\)/);
      // retireAfter 7200 s: a day-long ID token outlives it.
      expect(() => createTokenRouter({ ...base, idTokenTtl: 86_400 })).toThrow(/retireAfter: 86730/);
      expect(() => createTokenRouter(base)).not.toThrow();
    } finally {
      codeStore.close();
    }
  });
}

describeWithServer(
  { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL },
  'postgres-key-store-specifics',
  'PostgresKeyStore specifics',
  (url) => {
    let pool: pg.Pool;
    beforeAll(() => {
      pool = createPool(url);
    });
    sharedCases(
      'PostgreSQL',
      (now) => postgresKeyFixture(pool, now),
      async (f) => {
        const { rows } = await pool.query<{ kek_id: string }>(
          `SELECT kek_id FROM ${(f as ReturnType<typeof postgresKeyFixture>).table} ORDER BY kid`,
        );
        return rows.map((row) => row.kek_id);
      },
    );

    describe('a stored row the router cannot sign with, or relabelled in the clear', () => {
      const clock = fakeClock();
      let f: ReturnType<typeof postgresKeyFixture>;
      beforeEach(async () => {
        f = postgresKeyFixture(pool, clock.now);
        await f.open();
      });
      afterEach(() => f.cleanup());

      /** Store `jwk` as a well-encrypted row under the fixture's KEK, as a bad writer would. */
      async function plant(jwk: Record<string, unknown>, alg: string): Promise<void> {
        const kid = `planted-${randomBytes(4).toString('hex')}`;
        const wrapped = KeyEncryptionKeys.from(f.keyEncryptionKey, 'test').wrap(
          JSON.stringify({ ...jwk, kid, alg }),
          kid,
          alg,
        );
        await pool.query(
          `INSERT INTO ${f.table} (kid, alg, created_at, kek_id, private_jwk) VALUES ($1, $2, now(), $3, $4)`,
          [kid, alg, wrapped.kekId, wrapped.ciphertext],
        );
      }

      it('an HS256 (shared secret) key is refused at open with ERR_KEY_INVALID, naming its kid', async () => {
        await plant({ kty: 'oct', k: randomBytes(32).toString('base64url') }, 'HS256');
        const error = await rejection(() => f.open());
        expect([error.code, error.message]).toEqual(['ERR_KEY_INVALID', expect.stringContaining('planted-')]);
      });

      it('a 1024-bit RSA key is refused at open with ERR_KEY_INVALID', async () => {
        // jose will not make one; node:crypto will, as an old tool might have.
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        await plant(privateKey.export({ format: 'jwk' }), 'RS256');
        expect((await rejection(() => f.open())).code).toBe('ERR_KEY_INVALID');
      });

      it('a row whose clear alg was changed no longer decrypts (the alg is authenticated)', async () => {
        await pool.query(`UPDATE ${f.table} SET alg = 'PS256'`);
        expect((await rejection(() => f.open())).code).toBe('ERR_KEY_ENCRYPTION_KEY');
      });

      it('the database down at open is ERR_KEY_STORE_UNAVAILABLE, with the cause kept', async () => {
        const down = createPool('postgres://postgres@127.0.0.1:1/none');
        try {
          const error = await rejection(() =>
            PostgresKeyStore.open({ pool: down, keyEncryptionKey: randomBytes(32), now: clock.now }),
          );
          expect(error.code).toBe('ERR_KEY_STORE_UNAVAILABLE');
          expect((error.cause as { code?: unknown }).code).toBe('ECONNREFUSED');
        } finally {
          await down.end();
        }
      });

      it('a missing table is ERR_KEY_STORE_UNAVAILABLE without migrate: true', async () => {
        const error = await rejection(() => f.open({ table: 'pkce_no_such_table', migrate: false }));
        expect(error.code).toBe('ERR_KEY_STORE_UNAVAILABLE');
      });
    });
    afterAll(() => pool.end());
  },
);

describeWithServer(
  { name: 'Redis', variable: 'REDIS_URL', url: REDIS_URL },
  'redis-key-store-specifics',
  'RedisKeyStore specifics',
  (url) => {
    let client: AnyRedis;
    beforeAll(async () => {
      client = await connectRedis(url);
    });
    sharedCases(
      'Redis',
      (now) => redisKeyFixture(client, now),
      async (f) => {
        const fields = await client.hgetall(`${(f as ReturnType<typeof redisKeyFixture>).prefix}signing-keys`);
        return Object.entries(fields)
          .filter(([field]) => field.startsWith('secret:'))
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([, value]) => value.split(' ')[0]!);
      },
    );
    afterAll(() => client.disconnect());
  },
);
