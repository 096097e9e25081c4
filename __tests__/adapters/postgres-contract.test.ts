import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { PostgresCodeStore, PostgresRefreshTokenStore, postgresSchema } from '../../lib/index.js';
import { authorizationCodeStoreContract, refreshTokenStoreContract } from '../../lib/testing/index.js';
import { createPool, dropTables, dumpTables, freshTable } from './postgres-fixture.js';
import { DATABASE_URL, describeWithServer } from './services.js';

const POSTGRES = { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL } as const;

/** The stores take the clock as an option, so the suite moves it instead of waiting. */
function fakeClock(): { now: () => number; advanceTime: (ms: number) => void } {
  let now = Date.now();
  return { now: () => now, advanceTime: (ms) => void (now += ms) };
}

describe('the shipped SQL file', () => {
  it('is exactly what migrate() runs for the default tables', () => {
    expect(readFileSync(new URL('../../sql/postgres-schema.sql', import.meta.url), 'utf8')).toBe(postgresSchema());
  });
});

describeWithServer(POSTGRES, 'postgres-contract', 'PostgreSQL stores on a real server', (url) => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = createPool(url);
  });
  afterAll(async () => {
    await pool.end();
  });

  const codeClock = fakeClock();
  authorizationCodeStoreContract({ describe, it, expect }, {
    name: 'PostgresCodeStore',
    ...codeClock,
    create: async () => {
      const table = freshTable('pkce_c');
      const store = new PostgresCodeStore({ pool, table, now: codeClock.now });
      await store.migrate();
      return { store, readAtRest: () => dumpTables(pool, [table]), cleanup: () => dropTables(pool, [table]) };
    },
  });

  const refreshClock = fakeClock();
  refreshTokenStoreContract({ describe, it, expect }, {
    name: 'PostgresRefreshTokenStore',
    ...refreshClock,
    create: async () => {
      const table = freshTable('pkce_r');
      const tables = [table, `${table}_revoked_families`];
      const store = new PostgresRefreshTokenStore({ pool, table, now: refreshClock.now });
      await store.migrate();
      return { store, readAtRest: () => dumpTables(pool, tables), cleanup: () => dropTables(pool, tables) };
    },
  });

  describe('PostgreSQL specifics', () => {
    const grant = {
      clientId: 'web',
      redirectUri: 'https://app.example.com/cb',
      codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      codeChallengeMethod: 'S256' as const,
      subject: 'u',
      scope: ['openid'],
    };

    it('migrate() is idempotent, also when several instances run it at once', async () => {
      const table = freshTable('pkce_m');
      const tables = [table, `${table}_revoked_families`];
      try {
        const stores = [0, 1, 2, 3].map(() => new PostgresRefreshTokenStore({ pool, table }));
        await Promise.all(stores.map((store) => store.migrate()));
        await stores[0]!.migrate();
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_indexes WHERE tablename = ANY($1)', [tables]);
        // Two primary keys, two indexes on tokens, one on revoked families.
        expect(Number(rows[0]!.n)).toBe(5);
      } finally {
        await dropTables(pool, tables);
      }
    });

    it('deleteExpired() purges expired codes, redeemed or not, and keeps live ones', async () => {
      const table = freshTable('pkce_d');
      const clock = fakeClock();
      try {
        const store = new PostgresCodeStore({ pool, table, now: clock.now });
        await store.migrate();
        const soon = Math.floor(clock.now() / 1000) + 10;
        const later = soon + 600;
        await store.save('a', { ...grant, expiresAt: soon }, soon);
        await store.save('b', { ...grant, expiresAt: soon }, soon);
        await store.save('c', { ...grant, expiresAt: later }, later);
        await store.redeem('a');
        expect(await store.deleteExpired()).toBe(0);
        clock.advanceTime(11_000);
        expect(await store.deleteExpired()).toBe(2);
        const { rows } = await pool.query<{ code_hash: string }>(`SELECT code_hash FROM ${table}`);
        expect(rows.map((row) => row.code_hash)).toEqual(['c']);
      } finally {
        await dropTables(pool, [table]);
      }
    });

    it('deleteExpired() purges expired refresh tokens and revocations that have run out', async () => {
      const table = freshTable('pkce_e');
      const tables = [table, `${table}_revoked_families`];
      const clock = fakeClock();
      try {
        const store = new PostgresRefreshTokenStore({ pool, table, now: clock.now });
        await store.migrate();
        const soon = Math.floor(clock.now() / 1000) + 10;
        await store.save('old', { clientId: 'web', subject: 'u', scope: [], familyId: 'f1', familyExpiresAt: soon }, soon);
        await store.save('new', { clientId: 'web', subject: 'u', scope: [], familyId: 'f2', familyExpiresAt: soon + 600 }, soon + 600);
        await store.revokeFamily('f1');
        expect(await store.deleteExpired()).toBe(0);
        clock.advanceTime(11_000);
        // The revocation of f1 lasts as long as its family, which has now ended.
        expect(await store.deleteExpired()).toBe(1);
        expect((await store.rotate('new')).outcome).toBe('rotated');
      } finally {
        await dropTables(pool, tables);
      }
    });

    it('takes a schema-qualified table', async () => {
      const table = freshTable('pkce_s');
      try {
        const store = new PostgresCodeStore({ pool, table: `public.${table}` });
        await store.migrate();
        const expiresAt = Math.floor(Date.now() / 1000) + 60;
        await store.save('k', { ...grant, expiresAt }, expiresAt);
        expect((await store.redeem('k')).outcome).toBe('redeemed');
      } finally {
        await dropTables(pool, [table]);
      }
    });
  });
});
