import { booleanOption, checkOptionsObject } from '../../config/option-checks.js';
import { bounded } from '../bounded-call.js';
import type { WrappedKey } from '../key-encryption.js';
import type { KeyTimes } from '../key-schedule.js';
import {
  type KeyBackend,
  SHARED_KEY_STORE_OPTIONS,
  SharedKeyStore,
  type SharedKeyStoreOptions,
  type StoredKey,
} from '../shared-key-store.js';
import {
  type PostgresStoreConfig,
  type PostgresStoreOptions,
  resolvePostgresOptions,
  runMigration,
  runStatement,
  type Statement,
  statement,
} from './postgres-pool.js';
import { DEFAULT_KEY_TABLE, KEY_TABLE_SUFFIX, keyTableSql } from './postgres-schema.js';

/** Options of {@link PostgresKeyStore.open}. */
export interface PostgresKeyStoreOptions
  extends SharedKeyStoreOptions,
    Pick<PostgresStoreOptions, 'pool' | 'timeoutMs' | 'preparedStatements'> {
  /** The table, `name` or `schema.name`. Default `pkce_signing_keys`. */
  table?: string;
  /** Create the table if it is missing, before the first read. Default `false` (run sql/postgres-schema.sql). */
  migrate?: boolean;
}

/** A row as the read statement gives it. */
interface KeyRow {
  kid: string;
  alg: string;
  period: string | null;
  created_at: number;
  signs_from: number | null;
  retired_at: number | null;
  kek_id: string;
  private_jwk: string;
}

const OWNER = 'PostgresKeyStore';
const ms = (column: string) => `round(extract(epoch FROM ${column}) * 1000)::float8 AS ${column}`;
const at = (parameter: string) => `to_timestamp(${parameter}::double precision / 1000)`;

/** The key table's statements, for one table. */
class PostgresKeyTable implements KeyBackend {
  readonly #config: PostgresStoreConfig;
  readonly #sql: Record<'readAll' | 'insert' | 'setTimes' | 'rewrap' | 'delete', Statement>;

  constructor(config: PostgresStoreConfig) {
    this.#config = config;
    const table = config.table.qualified;
    this.#sql = {
      readAll: statement(
        `SELECT kid, alg, period, ${ms('created_at')}, ${ms('signs_from')}, ${ms('retired_at')}, kek_id, private_jwk FROM ${table} ORDER BY created_at`,
      ),
      // ON CONFLICT without a target covers both the kid and the period: the period's first INSERT wins.
      insert:
        statement(`INSERT INTO ${table} (kid, alg, period, created_at, signs_from, retired_at, kek_id, private_jwk)
VALUES ($1, $2, $3, ${at('$4')}, ${at('$5')}, ${at('$6')}, $7, $8) ON CONFLICT DO NOTHING RETURNING 1`),
      setTimes: statement(`UPDATE ${table} SET signs_from = ${at('$2')}, retired_at = ${at('$3')} WHERE kid = $1`),
      rewrap: statement(`UPDATE ${table} SET kek_id = $3, private_jwk = $4 WHERE kid = $1 AND kek_id = $2`),
      delete: statement(`DELETE FROM ${table} WHERE kid = ANY($1::text[])`),
    };
  }

  migrate(): Promise<void> {
    return this.#run('migrate', () => runMigration(this.#config.pool, keyTableSql(this.#config.table)));
  }

  readAll(): Promise<StoredKey[]> {
    return this.#run('read', async () => {
      const { rows } = await runStatement(this.#config, this.#sql.readAll, []);
      return (rows as KeyRow[]).map((row) => ({
        kid: row.kid,
        alg: row.alg,
        period: row.period === null ? null : Number(row.period),
        createdAt: Number(row.created_at),
        signsFrom: row.signs_from === null ? null : Number(row.signs_from),
        retiredAt: row.retired_at === null ? null : Number(row.retired_at),
        kekId: row.kek_id,
        ciphertext: row.private_jwk,
      }));
    });
  }

  insert(key: StoredKey): Promise<boolean> {
    return this.#run('insert', async () => {
      const values = [
        key.kid,
        key.alg,
        key.period,
        key.createdAt,
        key.signsFrom,
        key.retiredAt,
        key.kekId,
        key.ciphertext,
      ];
      const { rows } = await runStatement(this.#config, this.#sql.insert, values);
      return rows.length === 1;
    });
  }

  setTimes(kid: string, times: Pick<KeyTimes, 'signsFrom' | 'retiredAt'>): Promise<boolean> {
    return this.#run('update', async () => {
      const result = await runStatement(this.#config, this.#sql.setTimes, [kid, times.signsFrom, times.retiredAt]);
      return (result.rowCount ?? 0) > 0;
    });
  }

  rewrap(kid: string, fromKekId: string, wrapped: WrappedKey): Promise<boolean> {
    return this.#run('rewrap', async () => {
      const values = [kid, fromKekId, wrapped.kekId, wrapped.ciphertext];
      return ((await runStatement(this.#config, this.#sql.rewrap, values)).rowCount ?? 0) > 0;
    });
  }

  delete(kids: readonly string[]): Promise<void> {
    return this.#run('delete', async () => {
      await runStatement(this.#config, this.#sql.delete, [kids]);
    });
  }

  #run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return bounded(`${OWNER}.${operation}`, this.#config.timeoutMs, call);
  }
}

/**
 * Signing keys in a PostgreSQL table every instance shares: private JWKs encrypted under the
 * host's key-encryption key, rotated on a schedule (docs/keys.md "Shared key stores"). One key a
 * rotation period, by the table's UNIQUE (period). Open it once per process, before the router:
 *
 * ```ts
 * const keyStore = await PostgresKeyStore.open({ pool, keyEncryptionKey: process.env.KEY_ENCRYPTION_KEY! });
 * ```
 */
export class PostgresKeyStore extends SharedKeyStore {
  private constructor(backend: KeyBackend, options: PostgresKeyStoreOptions) {
    super(OWNER, backend, options);
  }

  /**
   * Check the options, read and decrypt every stored key (making the first one in an empty
   * table), and resolve to the store. Rejects with a ConfigurationError: ERR_KEY_ENCRYPTION_KEY
   * (missing, short or wrong key-encryption key; a tampered row), ERR_KEY_INVALID (a stored key
   * of an unsupported alg, or weak), ERR_KEY_STORE_UNAVAILABLE (the database cannot be read).
   */
  static async open(options: PostgresKeyStoreOptions): Promise<PostgresKeyStore> {
    const given = checkOptionsObject(OWNER, options, [
      'pool',
      'table',
      'timeoutMs',
      'preparedStatements',
      'migrate',
      ...SHARED_KEY_STORE_OPTIONS,
    ]);
    const { pool, table, timeoutMs, preparedStatements, now } = given;
    const config = resolvePostgresOptions(
      OWNER,
      { pool, table, timeoutMs, preparedStatements, now },
      { fallback: DEFAULT_KEY_TABLE, longestSuffix: KEY_TABLE_SUFFIX },
    );
    const backend = new PostgresKeyTable(config);
    const store = new PostgresKeyStore(backend, options);
    if (booleanOption(given.migrate, 'migrate', false, OWNER)) {
      await store.start(() => backend.migrate());
    } else {
      await store.start();
    }
    return store;
  }
}
