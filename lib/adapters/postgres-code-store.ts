import { bounded } from './bounded-call.js';
import type { AuthorizationCodeGrant, AuthorizationCodeStore, EpochSeconds, RedeemResult } from './interfaces.js';
import {
  resolvePostgresOptions,
  runMigration,
  runStatement,
  sharedStatement,
  statement,
  type PostgresStoreConfig,
  type PostgresStoreOptions,
  type Statement,
} from './postgres-pool.js';
import { CODE_TABLE_SUFFIX, codeTableSql, DEFAULT_CODE_TABLE } from './postgres-schema.js';
import type { StatementBatch } from './statement-batch.js';

interface RedeemRow {
  code_hash: string;
  grant_data: AuthorizationCodeGrant;
  replayed: boolean;
}

/**
 * Authorization codes in a PostgreSQL table, shared by every instance on the same database.
 * Redeem is one statement for every redeem waiting (see {@link StatementBatch}): it locks the
 * live, unredeemed rows of its codes in code order (so two statements with codes in common
 * cannot deadlock), marks them redeemed and returns them; a row locked by another statement is
 * read again once that one ends, and left out if it was redeemed meanwhile. Of any number of
 * concurrent callers with one code, exactly one gets it; the others find it already redeemed.
 * Rows are keyed by the code's hash; `deleteExpired()` purges old ones.
 */
export class PostgresCodeStore implements AuthorizationCodeStore {
  readonly #config: PostgresStoreConfig;
  readonly #sql: { insert: Statement; redeem: Statement; deleteExpired: Statement };
  readonly #redeems: StatementBatch<string, RedeemResult>;

  constructor(options: PostgresStoreOptions) {
    this.#config = resolvePostgresOptions('PostgresCodeStore', options, { fallback: DEFAULT_CODE_TABLE, longestSuffix: CODE_TABLE_SUFFIX });
    const table = this.#config.table.qualified;
    const now = 'to_timestamp($2::double precision / 1000)';
    this.#sql = {
      insert: statement(`INSERT INTO ${table} (code_hash, grant_data, expires_at) VALUES ($1, $2::jsonb, to_timestamp($3::double precision))`),
      // The UPDATE decides; the last SELECT only tells a replay (a live row it did not win) from nothing.
      redeem: statement(`WITH wanted AS (SELECT DISTINCT unnest($1::text[]) AS code_hash),
locked AS (
  SELECT t.code_hash FROM ${table} AS t JOIN wanted USING (code_hash)
  WHERE t.expires_at > ${now} AND t.redeemed_at IS NULL
  ORDER BY t.code_hash
  FOR UPDATE OF t
),
won AS (
  UPDATE ${table} AS t SET redeemed_at = ${now}
  FROM locked WHERE t.code_hash = locked.code_hash AND t.redeemed_at IS NULL
  RETURNING t.code_hash, t.grant_data
)
SELECT code_hash, grant_data, false AS replayed FROM won
UNION ALL
SELECT t.code_hash, t.grant_data, true AS replayed FROM ${table} AS t JOIN wanted USING (code_hash)
WHERE t.expires_at > ${now} AND NOT EXISTS (SELECT 1 FROM won WHERE won.code_hash = t.code_hash)`),
      // Rows a redeem statement holds are left for the next run: a redeem locks several rows in
      // code order, and a delete waiting on them while holding others could close a deadlock.
      deleteExpired: statement(`DELETE FROM ${table} WHERE code_hash IN (
  SELECT code_hash FROM ${table} WHERE expires_at <= to_timestamp($1::double precision / 1000) FOR UPDATE SKIP LOCKED
)`),
    };
    this.#redeems = sharedStatement((keys: readonly string[]) => this.#redeemAll(keys));
  }

  /** Create the table and its index if they are missing. Safe to run on every start, from every instance. */
  migrate(): Promise<void> {
    return bounded('PostgresCodeStore.migrate', this.#config.timeoutMs, () =>
      runMigration(this.#config.pool, codeTableSql(this.#config.table)),
    );
  }

  save(key: string, grant: AuthorizationCodeGrant, expiresAt: EpochSeconds): Promise<void> {
    return bounded('PostgresCodeStore.save', this.#config.timeoutMs, async () => {
      await runStatement(this.#config, this.#sql.insert, [key, JSON.stringify(grant), expiresAt]);
    });
  }

  redeem(key: string): Promise<RedeemResult> {
    return bounded('PostgresCodeStore.redeem', this.#config.timeoutMs, (onDeadline) => this.#redeems.call(key, onDeadline));
  }

  /** One statement for the redeems of `keys`; a key given twice is redeemed once, then replayed. */
  async #redeemAll(keys: readonly string[]): Promise<RedeemResult[]> {
    const { rows } = await runStatement(this.#config, this.#sql.redeem, [keys, this.#config.now()]);
    const found = new Map((rows as RedeemRow[]).map((row) => [row.code_hash, row]));
    const answered = new Set<string>();
    return keys.map((key): RedeemResult => {
      const row = found.get(key);
      if (row === undefined) return { outcome: 'unknown' };
      const first = !answered.has(key);
      answered.add(key);
      return { outcome: first && !row.replayed ? 'redeemed' : 'replayed', grant: row.grant_data };
    });
  }

  /** Delete the rows of expired codes, redeemed or not; resolves to how many went. */
  deleteExpired(): Promise<number> {
    return bounded('PostgresCodeStore.deleteExpired', this.#config.timeoutMs, async () => {
      const result = await runStatement(this.#config, this.#sql.deleteExpired, [this.#config.now()]);
      return result.rowCount ?? 0;
    });
  }
}
