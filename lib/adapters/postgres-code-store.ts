import { bounded } from './bounded-call.js';
import type { AuthorizationCodeGrant, AuthorizationCodeStore, EpochSeconds, RedeemResult } from './interfaces.js';
import { resolvePostgresOptions, runMigration, type PostgresStoreConfig, type PostgresStoreOptions } from './postgres-pool.js';
import { CODE_TABLE_SUFFIX, codeTableSql, DEFAULT_CODE_TABLE } from './postgres-schema.js';

interface RedeemRow {
  grant_data: AuthorizationCodeGrant;
  replayed: boolean;
}

/**
 * Authorization codes in a PostgreSQL table, shared by every instance on the same database.
 * Redeem is one statement: the `UPDATE … WHERE redeemed_at IS NULL` row lock lets exactly one of
 * any number of concurrent callers through; the others find the row already redeemed. Rows are
 * keyed by the code's hash; `deleteExpired()` purges old ones.
 */
export class PostgresCodeStore implements AuthorizationCodeStore {
  readonly #config: PostgresStoreConfig;
  readonly #sql: { insert: string; redeem: string; deleteExpired: string };

  constructor(options: PostgresStoreOptions) {
    this.#config = resolvePostgresOptions('PostgresCodeStore', options, { fallback: DEFAULT_CODE_TABLE, longestSuffix: CODE_TABLE_SUFFIX });
    const table = this.#config.table.qualified;
    const now = 'to_timestamp($2::double precision / 1000)';
    this.#sql = {
      insert: `INSERT INTO ${table} (code_hash, grant_data, expires_at) VALUES ($1, $2::jsonb, to_timestamp($3::double precision))`,
      // The UPDATE decides; the SELECT only tells a replay (a live row it did not win) from nothing.
      redeem: `WITH won AS (
  UPDATE ${table} SET redeemed_at = ${now}
  WHERE code_hash = $1 AND expires_at > ${now} AND redeemed_at IS NULL
  RETURNING grant_data
)
SELECT grant_data, false AS replayed FROM won
UNION ALL
SELECT grant_data, true AS replayed FROM ${table}
WHERE code_hash = $1 AND expires_at > ${now} AND NOT EXISTS (SELECT 1 FROM won)`,
      deleteExpired: `DELETE FROM ${table} WHERE expires_at <= to_timestamp($1::double precision / 1000)`,
    };
  }

  /** Create the table and its index if they are missing. Safe to run on every start, from every instance. */
  migrate(): Promise<void> {
    return bounded('PostgresCodeStore.migrate', this.#config.timeoutMs, () =>
      runMigration(this.#config.pool, codeTableSql(this.#config.table)),
    );
  }

  save(key: string, grant: AuthorizationCodeGrant, expiresAt: EpochSeconds): Promise<void> {
    return bounded('PostgresCodeStore.save', this.#config.timeoutMs, async () => {
      await this.#config.pool.query(this.#sql.insert, [key, JSON.stringify(grant), expiresAt]);
    });
  }

  redeem(key: string): Promise<RedeemResult> {
    return bounded('PostgresCodeStore.redeem', this.#config.timeoutMs, async () => {
      const { rows } = await this.#config.pool.query(this.#sql.redeem, [key, this.#config.now()]);
      const row = rows[0] as RedeemRow | undefined;
      if (row === undefined) return { outcome: 'unknown' };
      return { outcome: row.replayed ? 'replayed' : 'redeemed', grant: row.grant_data };
    });
  }

  /** Delete the rows of expired codes, redeemed or not; resolves to how many went. */
  deleteExpired(): Promise<number> {
    return bounded('PostgresCodeStore.deleteExpired', this.#config.timeoutMs, async () => {
      const result = await this.#config.pool.query(this.#sql.deleteExpired, [this.#config.now()]);
      return result.rowCount ?? 0;
    });
  }
}
