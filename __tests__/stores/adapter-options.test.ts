import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { familyIdFor } from '../../lib/crypto/secrets.js';
import {
  ConfigurationError,
  PostgresCodeStore,
  type PostgresPool,
  PostgresRefreshTokenStore,
  RedisCodeStore,
  RedisRefreshTokenStore,
  type RedisScriptClient,
  StoreTimeoutError,
} from '../../lib/index.js';

const fakeRedis: RedisScriptClient = { eval: () => Promise.resolve(null), evalsha: () => Promise.resolve(null) };
const fakePool: PostgresPool = { query: () => Promise.resolve({ rows: [] }) };

function thrown(make: () => unknown): ConfigurationError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('did not throw');
}

describe('adapter options are checked at construction', () => {
  it.each([
    ['RedisCodeStore', (options: unknown) => new RedisCodeStore(options as never)],
    ['RedisRefreshTokenStore', (options: unknown) => new RedisRefreshTokenStore(options as never)],
  ])('%s needs a client with eval and evalsha, and knows its options', (_name, make) => {
    expect(() => make({ client: fakeRedis, prefix: 'p:', timeoutMs: 500 })).not.toThrow();
    expect(thrown(() => make(undefined)).code).toBe('ERR_OPTIONS_NOT_OBJECT');
    expect(thrown(() => make({})).code).toBe('ERR_OPTION_MISSING');
    const noScripts = thrown(() => make({ client: { get: () => undefined } }));
    expect([noScripts.code, noScripts.option]).toEqual(['ERR_OPTION_INVALID', 'client']);
    expect(thrown(() => make({ client: fakeRedis, prefix: 7 })).option).toBe('prefix');
    expect(thrown(() => make({ client: fakeRedis, timeoutMs: 0 })).option).toBe('timeoutMs');
    expect(thrown(() => make({ client: fakeRedis, timeoutMs: 1.5 })).option).toBe('timeoutMs');
    const typo = thrown(() => make({ client: fakeRedis, prefx: 'p:' }));
    expect([typo.code, typo.option]).toEqual(['ERR_OPTION_UNKNOWN', 'prefx']);
  });

  it.each([
    ['PostgresCodeStore', (options: unknown) => new PostgresCodeStore(options as never)],
    ['PostgresRefreshTokenStore', (options: unknown) => new PostgresRefreshTokenStore(options as never)],
  ])('%s needs a pool with query, and a table name that is a plain identifier', (_name, make) => {
    expect(() => make({ pool: fakePool, table: 'auth.codes_2', timeoutMs: 500, now: Date.now })).not.toThrow();
    expect(thrown(() => make({})).code).toBe('ERR_OPTION_MISSING');
    expect(thrown(() => make({ pool: {} })).option).toBe('pool');
    expect(thrown(() => make({ pool: fakePool, now: 5 })).option).toBe('now');
    expect(() => make({ pool: fakePool, preparedStatements: false })).not.toThrow();
    expect(thrown(() => make({ pool: fakePool, preparedStatements: 'no' })).option).toBe('preparedStatements');
    for (const table of ['codes; DROP TABLE users', 'Codes', '"codes"', 'a.b.c', '', '1codes', 'x'.repeat(49)]) {
      expect([table, thrown(() => make({ pool: fakePool, table })).option]).toEqual([table, 'table']);
    }
    expect(thrown(() => make({ pool: fakePool, tableName: 'x' })).code).toBe('ERR_OPTION_UNKNOWN');
  });

  it('refuses a table name whose derived index names Postgres would cut short (63 bytes)', () => {
    expect(() => new PostgresCodeStore({ pool: fakePool, table: 'x'.repeat(48) })).not.toThrow();
    expect(() => new PostgresRefreshTokenStore({ pool: fakePool, table: 'x'.repeat(31) })).not.toThrow();
    expect(thrown(() => new PostgresRefreshTokenStore({ pool: fakePool, table: 'x'.repeat(32) })).option).toBe('table');
  });
});

describe('every store operation is bounded by timeoutMs', () => {
  const never = () => new Promise<never>(() => undefined);

  it('a Redis store whose server never answers rejects with StoreTimeoutError', async () => {
    const store = new RedisCodeStore({ client: { eval: never, evalsha: never }, timeoutMs: 50 });
    await expect(store.redeem('k')).rejects.toBeInstanceOf(StoreTimeoutError);
    await expect(
      new RedisRefreshTokenStore({ client: { eval: never, evalsha: never }, timeoutMs: 50 }).rotate('k'),
    ).rejects.toBeInstanceOf(StoreTimeoutError);
  });

  it('a Postgres store whose server never answers rejects with StoreTimeoutError', async () => {
    const store = new PostgresCodeStore({ pool: { query: never }, timeoutMs: 50 });
    await expect(store.redeem('k')).rejects.toBeInstanceOf(StoreTimeoutError);
    await expect(store.migrate()).rejects.toBeInstanceOf(StoreTimeoutError);
  });

  it('a client that throws synchronously gives a rejection, not a throw', async () => {
    const closed: PostgresPool = {
      query: () => {
        throw new Error('Cannot use a pool after calling end on the pool');
      },
    };
    await expect(new PostgresCodeStore({ pool: closed }).redeem('k')).rejects.toThrow('after calling end');
  });
});

describe('Redis scripts go by SHA-1, and are sent in full when the server lacks them', () => {
  it('falls back to EVAL on NOSCRIPT, with the same keys and arguments', async () => {
    const calls: string[] = [];
    const client: RedisScriptClient = {
      evalsha: (sha1, numkeys, ...rest) => {
        calls.push(`evalsha ${sha1.length} ${numkeys} ${rest.join(' ')}`);
        return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
      },
      eval: (script, numkeys, ...rest) => {
        calls.push(`eval ${script.includes('HSETNX')} ${numkeys} ${rest.join(' ')}`);
        const seconds = String(Math.floor(Date.now() / 1000));
        // The fence's first question, the server's clock; then what the fenced script answers
        // when its body returns nil (docs/contract.md "When a store fails").
        return Promise.resolve(numkeys === 0 ? [seconds, '0'] : [1, seconds, '0']);
      },
    };
    expect(await new RedisCodeStore({ client, prefix: 'p:' }).redeem('k')).toEqual({ outcome: 'unknown' });
    // The code's key, in its family's hash slot; then, for a code of 0.1.0, its key of then. The
    // last argument is the deadline fence (docs/contract.md "When a store fails"), in the server's clock.
    const slotted = `p:code:{${familyIdFor('k')}}:k`;
    expect(calls.map((call) => call.replace(/ \d+$/, ' <deadline>'))).toEqual([
      'eval false 0 ',
      `evalsha 40 1 ${slotted} <deadline>`,
      `eval true 1 ${slotted} <deadline>`,
      'evalsha 40 1 p:code:k <deadline>',
      'eval true 1 p:code:k <deadline>',
    ]);
  });

  it('passes any other error on, without retrying', async () => {
    let evals = 0;
    const client: RedisScriptClient = {
      evalsha: () => Promise.reject(new Error("READONLY You can't write against a read only replica.")),
      eval: (_script, numkeys) => {
        // The fence's question for the server's clock (no keys) is not a retry of the script.
        if (numkeys === 0) return Promise.resolve([String(Math.floor(Date.now() / 1000)), '0']);
        evals += 1;
        return Promise.resolve(null);
      },
    };
    await expect(new RedisCodeStore({ client }).redeem('k')).rejects.toThrow('READONLY');
    expect(evals).toBe(0);
  });
});

describe('the package ships the contract suite and the schema', () => {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    exports: Record<string, unknown>;
    files: string[];
    dependencies: Record<string, string>;
  };

  it('exports pkce-token-router/testing, types first, and the SQL file', () => {
    expect(Object.keys(manifest.exports['./testing'] as object)).toEqual(['types', 'default']);
    expect(manifest.exports['./sql/postgres-schema.sql']).toBe('./sql/postgres-schema.sql');
    expect(manifest.files).toContain('sql');
  });

  it('imports by its public name from the built package', () => {
    const script = "const m = await import('pkce-token-router/testing'); console.log(Object.keys(m).sort().join(','));";
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
    });
    expect(result.stdout.trim()).toBe(
      'atomicExchangeContract,authorizationCodeStoreContract,externalKeyStoreContract,keyStoreContract,refreshTokenStoreContract,replayStoreContract',
    );
  });

  it('leaves the drivers to the host: neither ioredis nor pg is a dependency', () => {
    expect(Object.keys(manifest.dependencies)).not.toContain('ioredis');
    expect(Object.keys(manifest.dependencies)).not.toContain('pg');
  });
});
