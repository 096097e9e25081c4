import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { PostgresCodeStore, type PostgresPool, PostgresRefreshTokenStore, postgresSchema } from '../../../lib/index.js';
import {
  atomicExchangeContract,
  authorizationCodeStoreContract,
  refreshTokenStoreContract,
  replayStoreContract,
} from '../../../lib/testing/index.js';
import { PGBOUNCER } from '../../support/deployments.js';
import { fakeClock } from '../../support/fake-clock.js';
import { STORE_TEST_GRANT } from '../../support/helpers.js';
import { createPool, dropTables, dumpTables, freshTable } from '../../support/postgres-fixture.js';
import { DATABASE_URL, describeWithServer } from '../../support/services.js';

const POSTGRES = { name: 'PostgreSQL', variable: 'DATABASE_URL', url: DATABASE_URL } as const;

/** Poll `condition` until it holds (a state to wait for, not a race to sleep through). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('the shipped SQL file', () => {
  it('is exactly what migrate() runs for the default tables', () => {
    expect(readFileSync(new URL('../../../sql/postgres-schema.sql', import.meta.url), 'utf8')).toBe(postgresSchema());
  });
});

/** The store contract (lib/testing) on the pool `pool()` returns, each test on fresh tables. */
function storeContracts(pool: () => pg.Pool, on: string, storeOptions: { preparedStatements?: boolean } = {}): void {
  const codeClock = fakeClock();
  const seenClock = fakeClock();
  replayStoreContract(
    { describe, it, expect },
    {
      name: `PostgresCodeStore${on}`,
      ...seenClock,
      checkAtRest: false,
      create: async () => {
        const table = freshTable('pkce_c');
        const store = new PostgresCodeStore({ pool: pool(), table, now: seenClock.now, ...storeOptions });
        await store.migrate();
        return { store, cleanup: () => dropTables(pool(), [table]) };
      },
    },
  );
  authorizationCodeStoreContract(
    { describe, it, expect },
    {
      name: `PostgresCodeStore${on}`,
      ...codeClock,
      create: async () => {
        const table = freshTable('pkce_c');
        const store = new PostgresCodeStore({ pool: pool(), table, now: codeClock.now, ...storeOptions });
        await store.migrate();
        return { store, readAtRest: () => dumpTables(pool(), [table]), cleanup: () => dropTables(pool(), [table]) };
      },
    },
  );

  const refreshClock = fakeClock();
  refreshTokenStoreContract(
    { describe, it, expect },
    {
      name: `PostgresRefreshTokenStore${on}`,
      ...refreshClock,
      create: async () => {
        const table = freshTable('pkce_r');
        const tables = [table, `${table}_revoked_families`];
        const store = new PostgresRefreshTokenStore({ pool: pool(), table, now: refreshClock.now, ...storeOptions });
        await store.migrate();
        return { store, readAtRest: () => dumpTables(pool(), tables), cleanup: () => dropTables(pool(), tables) };
      },
    },
  );

  const pairClock = fakeClock();
  atomicExchangeContract(
    { describe, it, expect },
    {
      name: `PostgresCodeStore with PostgresRefreshTokenStore on one pool${on}`,
      ...pairClock,
      create: async () => {
        const [codeTable, refreshTable] = [freshTable('pkce_c'), freshTable('pkce_r')];
        const tables = [codeTable, refreshTable, `${refreshTable}_revoked_families`];
        const codeStore = new PostgresCodeStore({
          pool: pool(),
          table: codeTable,
          now: pairClock.now,
          ...storeOptions,
        });
        const refreshTokenStore = new PostgresRefreshTokenStore({
          pool: pool(),
          table: refreshTable,
          now: pairClock.now,
          ...storeOptions,
        });
        await Promise.all([codeStore.migrate(), refreshTokenStore.migrate()]);
        return {
          store: { codeStore, refreshTokenStore },
          readAtRest: () => dumpTables(pool(), tables),
          cleanup: () => dropTables(pool(), tables),
        };
      },
    },
  );
}

describeWithServer(POSTGRES, 'postgres-contract', 'PostgreSQL stores on a real server', (url) => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = createPool(url);
  });
  afterAll(async () => {
    await pool.end();
  });

  storeContracts(() => pool, '');

  describe('PostgreSQL specifics', () => {
    const grant = STORE_TEST_GRANT;

    it('migrate() is idempotent, also when several instances run it at once', async () => {
      const table = freshTable('pkce_m');
      const tables = [table, `${table}_revoked_families`];
      try {
        const stores = [0, 1, 2, 3].map(() => new PostgresRefreshTokenStore({ pool, table }));
        await Promise.all(stores.map((store) => store.migrate()));
        await stores[0]!.migrate();
        const { rows } = await pool.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_indexes WHERE tablename = ANY($1)',
          [tables],
        );
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
        await store.save(
          'old',
          { clientId: 'web', subject: 'u', scope: [], familyId: 'f1', familyExpiresAt: soon },
          soon,
        );
        await store.save(
          'new',
          { clientId: 'web', subject: 'u', scope: [], familyId: 'f2', familyExpiresAt: soon + 600 },
          soon + 600,
        );
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

    /** The pool, counting the statements sent through it. */
    function countingPool(): { pool: PostgresPool; statements: () => number } {
      let statements = 0;
      return {
        pool: {
          query: async (text, values) => {
            statements += 1;
            return pool.query(text, values);
          },
        },
        statements: () => statements,
      };
    }

    it('redeems that wait share one statement: of 60 concurrent redeems of 20 codes, one per code is redeemed, the rest replayed', async () => {
      const table = freshTable('pkce_b');
      try {
        const counting = countingPool();
        const store = new PostgresCodeStore({ pool: counting.pool, table });
        await store.migrate();
        const expiresAt = Math.floor(Date.now() / 1000) + 60;
        const codes = Array.from({ length: 20 }, (_, index) => `code-${index}`);
        await Promise.all(codes.map((code) => store.save(code, { ...grant, expiresAt }, expiresAt)));
        const before = counting.statements();
        const calls = [...codes, ...codes, ...codes];
        const results = await Promise.all(calls.map((code) => store.redeem(code)));
        expect(counting.statements() - before).toBeLessThan(calls.length);
        for (const code of codes) {
          const outcomes = results.filter((_, index) => calls[index] === code).map((result) => result.outcome);
          expect(outcomes.sort()).toEqual(['redeemed', 'replayed', 'replayed']);
        }
      } finally {
        await dropTables(pool, [table]);
      }
    });

    it('two instances redeeming the same 40 codes in opposite orders at once do not deadlock: each code is redeemed exactly once', async () => {
      const table = freshTable('pkce_o');
      const otherPool = createPool(url);
      const holder = await pool.connect();
      try {
        const stores = [
          new PostgresCodeStore({ pool, table }),
          new PostgresCodeStore({ pool: otherPool, table }),
        ] as const;
        await stores[0].migrate();
        const expiresAt = Math.floor(Date.now() / 1000) + 60;
        const codes = Array.from({ length: 40 }, (_, index) => `code-${String(index).padStart(2, '0')}`);
        await Promise.all(codes.map((code) => stores[0].save(code, { ...grant, expiresAt }, expiresAt)));
        // A table of some size, analyzed: the planner then looks the codes up by index, one by
        // one, in whatever order the statement gives them.
        await pool.query(
          `INSERT INTO ${table} (code_hash, grant_data, expires_at) SELECT 'other-' || n, '{}', now() + interval '1 minute' FROM generate_series(1, 50000) n`,
        );
        await pool.query(`ANALYZE ${table}`);
        // Force the overlap: a third session holds the middle code, so each statement locks the
        // codes it reaches first and then waits; only when both wait is the middle code let go.
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM ${table} WHERE code_hash = 'code-20' FOR UPDATE`);
        const redeemed = Promise.all([
          Promise.all(codes.map((code) => stores[0].redeem(code))),
          Promise.all([...codes].reverse().map((code) => stores[1].redeem(code))),
        ]);
        await until(async () => {
          const { rows } = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%${table}%'`,
          );
          return rows[0]!.n >= 2;
        });
        await holder.query('COMMIT');
        const [forward, backward] = await redeemed;
        backward.reverse();
        codes.forEach((_, index) => {
          expect([forward[index]!.outcome, backward[index]!.outcome].sort()).toEqual(['redeemed', 'replayed']);
        });
      } finally {
        holder.release();
        await otherPool.end();
        await dropTables(pool, [table]);
      }
    });

    it('refresh-token saves that wait share one statement, and every token is kept', async () => {
      const table = freshTable('pkce_v');
      const tables = [table, `${table}_revoked_families`];
      try {
        const counting = countingPool();
        const store = new PostgresRefreshTokenStore({ pool: counting.pool, table });
        await store.migrate();
        const expiresAt = Math.floor(Date.now() / 1000) + 600;
        const before = counting.statements();
        const keys = Array.from({ length: 50 }, (_, index) => `token-${index}`);
        await Promise.all(
          keys.map((key, index) =>
            store.save(
              key,
              {
                clientId: 'web',
                subject: `u${index}`,
                scope: ['openid'],
                familyId: `f${index}`,
                familyExpiresAt: expiresAt,
              },
              expiresAt,
            ),
          ),
        );
        expect(counting.statements() - before).toBeLessThan(keys.length);
        const rotated = await Promise.all(keys.map((key) => store.rotate(key)));
        rotated.forEach((result, index) => {
          expect(result).toMatchObject({ outcome: 'rotated', record: { subject: `u${index}`, familyId: `f${index}` } });
        });
      } finally {
        await dropTables(pool, tables);
      }
    });

    it.each([
      ['a NUL character', 'nul\u0000'],
      ['an unpaired surrogate', 'half\ud800'],
    ])(
      'a refresh token whose record jsonb refuses (%s) fails alone: the saves beside it are kept',
      async (_what, subject) => {
        const table = freshTable('pkce_n');
        const tables = [table, `${table}_revoked_families`];
        try {
          const store = new PostgresRefreshTokenStore({ pool, table });
          await store.migrate();
          const expiresAt = Math.floor(Date.now() / 1000) + 600;
          const record = (name: string) => ({
            clientId: 'web',
            subject: name,
            scope: ['openid'],
            familyId: `f-${name}`,
            familyExpiresAt: expiresAt,
          });
          const saves = await Promise.allSettled([
            ...['a', 'b', 'c'].map((name) => store.save(`token-${name}`, record(name), expiresAt)),
            store.save('token-bad', record(subject), expiresAt),
            ...['d', 'e', 'f'].map((name) => store.save(`token-${name}`, record(name), expiresAt)),
          ]);
          expect(saves.map((save) => save.status)).toEqual([
            'fulfilled',
            'fulfilled',
            'fulfilled',
            'rejected',
            'fulfilled',
            'fulfilled',
            'fulfilled',
          ]);
          for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
            expect((await store.rotate(`token-${name}`)).outcome).toBe('rotated');
          }
        } finally {
          await dropTables(pool, tables);
        }
      },
    );

    it('a redeem stuck on a row another session holds costs only its own call: a redeem after its bound goes through', async () => {
      const table = freshTable('pkce_k');
      const holder = await pool.connect();
      try {
        const store = new PostgresCodeStore({ pool, table, timeoutMs: 200 });
        await store.migrate();
        const expiresAt = Math.floor(Date.now() / 1000) + 60;
        await store.save('held', { ...grant, expiresAt }, expiresAt);
        await store.save('free', { ...grant, expiresAt }, expiresAt);
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM ${table} WHERE code_hash = 'held' FOR UPDATE`);
        await expect(store.redeem('held')).rejects.toMatchObject({ code: 'ERR_STORE_TIMEOUT' });
        // The held statement still waits on the lock; another code is not held back behind it.
        await expect(store.redeem('free')).resolves.toMatchObject({ outcome: 'redeemed' });
        await holder.query('ROLLBACK');
      } finally {
        holder.release();
        await dropTables(pool, [table]);
      }
    });

    it('a refresh token whose record cannot be serialized is a rejected save, not a throw', async () => {
      const store = new PostgresRefreshTokenStore({ pool, table: freshTable('pkce_j') });
      const expiresAt = Math.floor(Date.now() / 1000) + 60;
      const record = {
        clientId: 'web',
        subject: 'u',
        scope: [],
        familyId: 'f',
        familyExpiresAt: expiresAt,
        idTokenClaims: { big: 1n },
      };
      let saved: Promise<void> | undefined;
      expect(() => (saved = store.save('t', record as never, expiresAt))).not.toThrow();
      await expect(saved).rejects.toThrow(TypeError);
    });

    it.each([
      [true, 'sends its statements by name, prepared once on each connection'],
      [false, 'sends them unnamed, and they work the same'],
    ])('preparedStatements %s: %s', async (preparedStatements) => {
      const codeTable = freshTable('pkce_p');
      const refreshTable = freshTable('pkce_q');
      const tables = [codeTable, refreshTable, `${refreshTable}_revoked_families`];
      // One connection, so the statements prepared on it can be listed from it.
      const single = createPool(url, { max: 1 });
      try {
        const codes = new PostgresCodeStore({ pool: single, table: codeTable, preparedStatements });
        const tokens = new PostgresRefreshTokenStore({ pool: single, table: refreshTable, preparedStatements });
        await codes.migrate();
        await tokens.migrate();
        const expiresAt = Math.floor(Date.now() / 1000) + 60;
        await codes.save('k', { ...grant, expiresAt }, expiresAt);
        expect((await codes.redeem('k')).outcome).toBe('redeemed');
        await tokens.save(
          't',
          { clientId: 'web', subject: 'u', scope: [], familyId: 'f', familyExpiresAt: expiresAt },
          expiresAt,
        );
        expect((await tokens.rotate('t')).outcome).toBe('rotated');
        const { rows } = await single.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
        const names = rows.map((row) => row.name).filter((name) => name.startsWith('pkce_token_router_'));
        expect(names).toHaveLength(preparedStatements ? 4 : 0);
      } finally {
        await single.end();
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

// The same contract through PgBouncer in transaction mode (`.ci/run` starts it in front of the
// same server): every statement may land on another server connection.
describeWithServer(
  PGBOUNCER.server,
  `${PGBOUNCER.marker}-contract`,
  'PostgreSQL stores through PgBouncer in transaction mode',
  (url) => {
    let pool: pg.Pool;
    beforeAll(() => {
      pool = PGBOUNCER.pool(url);
    });
    afterAll(async () => {
      await pool.end();
    });
    storeContracts(() => pool, ' through PgBouncer', PGBOUNCER.storeOptions);
  },
);
