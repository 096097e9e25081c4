import type {
  AtomicCodeExchange,
  AuthorizationCodeGrant,
  AuthorizationCodeStore,
  EpochSeconds,
  FirstRefreshToken,
  RedeemResult,
  RefreshTokenStore,
  ReplayStore,
} from '../../contracts.js';
import { bounded } from '../bounded-call.js';
import { GRANT_CARRIED_FIELDS } from '../refresh-records.js';
import {
  type PostgresStoreConfig,
  type PostgresStoreOptions,
  resolvePostgresOptions,
  runMigration,
  runSpendingStatement,
  runStatement,
  type Statement,
  sharedStatement,
  statement,
} from './postgres-pool.js';
import { type PostgresRefreshLayout, postgresRefreshLayout } from './postgres-refresh-token-store.js';
import { CODE_TABLE_SUFFIX, codeTableSql, DEFAULT_CODE_TABLE, seenKeysTable } from './postgres-schema.js';
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
export class PostgresCodeStore implements AuthorizationCodeStore, ReplayStore {
  readonly #config: PostgresStoreConfig;
  readonly #sql: {
    insert: Statement;
    redeem: Statement;
    find: Statement;
    deleteExpired: Statement;
    markSeen: Statement;
    deleteExpiredSeen: Statement;
  };
  readonly #redeems: StatementBatch<Redeem, RedeemResult>;

  constructor(options: PostgresStoreOptions) {
    this.#config = resolvePostgresOptions('PostgresCodeStore', options, {
      fallback: DEFAULT_CODE_TABLE,
      longestSuffix: CODE_TABLE_SUFFIX,
    });
    const table = this.#config.table.qualified;
    const seen = seenKeysTable(this.#config.table);
    this.#sql = {
      insert: statement(
        `INSERT INTO ${table} (code_hash, grant_data, expires_at) VALUES ($1, $2::jsonb, to_timestamp($3::double precision))`,
      ),
      redeem: statement(redeemSql(table, 'SELECT unnest($1::text[]) AS code_hash')),
      find: statement(
        `SELECT grant_data, redeemed_at IS NOT NULL AS redeemed FROM ${table} WHERE code_hash = $1 AND expires_at > ${NOW}`,
      ),
      // Rows a redeem statement holds are left for the next run: a redeem locks several rows in
      // code order, and a delete waiting on them while holding others could close a deadlock.
      deleteExpired: statement(`DELETE FROM ${table} WHERE code_hash IN (
  SELECT code_hash FROM ${table} WHERE expires_at <= to_timestamp($1::double precision / 1000) FOR UPDATE SKIP LOCKED
)`),
      // docs/stores.md "Seen once": the row is the decision. Of concurrent inserts of one key,
      // one inserts; the others wait on its row and then do nothing. A row past its expiry, not yet
      // deleted, is taken over as new.
      markSeen:
        statement(`INSERT INTO ${seen} AS s (seen_key, expires_at) VALUES ($1, to_timestamp($2::double precision))
ON CONFLICT (seen_key) DO UPDATE SET expires_at = EXCLUDED.expires_at
  WHERE s.expires_at <= to_timestamp($3::double precision / 1000)
RETURNING 1`),
      deleteExpiredSeen: statement(`DELETE FROM ${seen} WHERE expires_at <= to_timestamp($1::double precision / 1000)`),
    };
    this.#redeems = sharedStatement((redeems: readonly Redeem[]) => this.#redeemAll(redeems));
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
    return bounded('PostgresCodeStore.redeem', this.#config.timeoutMs, (onDeadline, deadline) =>
      this.#redeems.call({ key, deadline }, onDeadline),
    );
  }

  /** The grant under `key` and whether it was redeemed; read-only (a plain SELECT, no lock). */
  find(key: string): Promise<{ grant: AuthorizationCodeGrant; redeemed: boolean } | undefined> {
    return bounded('PostgresCodeStore.find', this.#config.timeoutMs, async () => {
      const { rows } = await runStatement(this.#config, this.#sql.find, [key, this.#config.now()]);
      const row = rows[0] as { grant_data: AuthorizationCodeGrant; redeemed: boolean } | undefined;
      return row === undefined ? undefined : { grant: row.grant_data, redeemed: row.redeemed };
    });
  }

  /** One statement for the redeems waiting; a key given twice is redeemed once, then replayed. */
  async #redeemAll(redeems: readonly Redeem[]): Promise<RedeemResult[]> {
    const keys = redeems.map((redeem) => redeem.key);
    const values = [keys, this.#config.now()];
    const { rows } = await runSpendingStatement(this.#config, this.#sql.redeem, values, earliestDeadline(redeems));
    return this.#answer(keys, rows as RedeemRow[]);
  }

  /** Each key's outcome from a redeem's rows: a key given twice is redeemed once, then replayed. */
  #answer(keys: readonly string[], rows: readonly RedeemRow[]): RedeemResult[] {
    const found = new Map(rows.map((row) => [row.code_hash, row]));
    const answered = new Set<string>();
    return keys.map((key): RedeemResult => {
      const row = found.get(key);
      if (row === undefined) return { outcome: 'unknown' };
      const first = !answered.has(key);
      answered.add(key);
      return { outcome: first && !row.replayed ? 'redeemed' : 'replayed', grant: row.grant_data };
    });
  }

  /**
   * With a `PostgresRefreshTokenStore` on the same pool (so the same database): one statement
   * that redeems the codes of every exchange waiting, as `redeem` does, and inserts the first
   * refresh token of each code it redeemed. One statement is one transaction: both or neither.
   */
  atomicExchange(refreshTokenStore: RefreshTokenStore): AtomicCodeExchange | undefined {
    const refresh = postgresRefreshLayout(refreshTokenStore);
    if (refresh === undefined || refresh.pool !== this.#config.pool) return undefined;
    const sql = exchangeStatement(this.#config.table.qualified, refresh);
    const exchanges = sharedStatement((inputs: readonly Exchange[]) => this.#exchangeAll(sql, inputs));
    return (codeKey, first) =>
      bounded('PostgresCodeStore.atomicExchange', this.#config.timeoutMs, (onDeadline, deadline) =>
        exchanges.call({ codeKey, first, deadline }, onDeadline),
      );
  }

  async #exchangeAll(sql: Statement, inputs: readonly Exchange[]): Promise<RedeemResult[]> {
    const wanted = inputs.map(({ codeKey, first }, ord) => ({
      ord,
      code_hash: codeKey,
      token_hash: first.key,
      family_id: first.familyId,
      family_expires_at: first.familyExpiresAt,
      expires_at: first.expiresAt,
      dpop_jkt: first.dpopJkt ?? null,
    }));
    const values = [JSON.stringify(wanted), this.#config.now(), GRANT_CARRIED_FIELDS];
    const { rows } = await runSpendingStatement(this.#config, sql, values, earliestDeadline(inputs));
    return this.#answer(
      inputs.map((input) => input.codeKey),
      rows as RedeemRow[],
    );
  }

  /** Remember `key` until `expiresAt` (epoch seconds), in `{table}_seen`; `true` the first time. */
  markSeen(key: string, expiresAt: EpochSeconds): Promise<boolean> {
    return bounded('PostgresCodeStore.markSeen', this.#config.timeoutMs, async () => {
      const { rows } = await runStatement(this.#config, this.#sql.markSeen, [key, expiresAt, this.#config.now()]);
      return rows.length === 1;
    });
  }

  /** Delete the rows of expired codes, redeemed or not, and of expired seen keys; resolves to how many went. */
  deleteExpired(): Promise<number> {
    return bounded('PostgresCodeStore.deleteExpired', this.#config.timeoutMs, async () => {
      const now = this.#config.now();
      const codes = await runStatement(this.#config, this.#sql.deleteExpired, [now]);
      const seen = await runStatement(this.#config, this.#sql.deleteExpiredSeen, [now]);
      return (codes.rowCount ?? 0) + (seen.rowCount ?? 0);
    });
  }
}

/** One redeem waiting for the next statement, and when its caller is answered 503 (epoch ms). */
interface Redeem {
  key: string;
  deadline: number;
}

/** One exchange waiting for the next statement, and when its caller is answered 503 (epoch ms). */
interface Exchange {
  codeKey: string;
  first: FirstRefreshToken;
  deadline: number;
}

/** A statement commits only while none of the calls it carries has been answered 503. */
function earliestDeadline(calls: readonly { deadline: number }[]): number {
  return Math.min(...calls.map((call) => call.deadline));
}

/**
 * The exchange statement: `redeem`'s locking and UPDATE, then the INSERT of the first token of
 * each code this statement redeemed (the first exchange given for it, by `ord`, as `#answer`
 * gives `'redeemed'` to the first), unless its family was revoked. The record is the grant's
 * carried members ($3, all but its own `dpopJkt`), the family's and the family's DPoP key: what
 * `firstRefreshTokenRecord` builds.
 * $1: the exchanges as a JSON array; $2: now, epoch milliseconds.
 */
function exchangeStatement(codes: string, refresh: PostgresRefreshLayout): Statement {
  const wanted = `SELECT * FROM jsonb_to_recordset($1::jsonb) AS w(ord int, code_hash text, token_hash text, family_id text,
    family_expires_at double precision, expires_at double precision, dpop_jkt text)`;
  return statement(
    redeemSql(
      codes,
      wanted,
      `,
first AS (
  SELECT DISTINCT ON (w.code_hash) w.*, won.grant_data FROM wanted AS w JOIN won USING (code_hash)
  ORDER BY w.code_hash, w.ord
),
saved AS (
  INSERT INTO ${refresh.table} (token_hash, family_id, record, expires_at, family_expires_at)
  SELECT f.token_hash, f.family_id,
    COALESCE((SELECT jsonb_object_agg(key, value) FROM jsonb_each(f.grant_data) WHERE key = ANY ($3::text[])), '{}'::jsonb)
      || jsonb_build_object('familyId', f.family_id, 'familyExpiresAt', f.family_expires_at, 'expiresAt', f.expires_at)
      || CASE WHEN f.dpop_jkt IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('dpopJkt', f.dpop_jkt) END,
    to_timestamp(f.expires_at), to_timestamp(f.family_expires_at)
  FROM first AS f
  WHERE NOT EXISTS (SELECT 1 FROM ${refresh.revoked} AS r WHERE r.family_id = f.family_id AND r.expires_at > ${NOW})
  RETURNING 1
)`,
    ),
  );
}

/** Now, as the statements take it: $2, epoch milliseconds. */
const NOW = 'to_timestamp($2::double precision / 1000)';

/**
 * The redeem of the codes `wanted` selects (a `code_hash` column, a code possibly more than
 * once): it locks their live, unredeemed rows in code order, so two statements with codes in
 * common cannot deadlock, and marks them redeemed. The UPDATE decides; the last SELECT only
 * tells a replay (a live row it did not win) from nothing. `more` adds WITH queries after `won`.
 */
function redeemSql(table: string, wanted: string, more = ''): string {
  return `WITH wanted AS (${wanted}),
locked AS (
  SELECT t.code_hash FROM ${table} AS t
  WHERE t.code_hash IN (SELECT code_hash FROM wanted) AND t.expires_at > ${NOW} AND t.redeemed_at IS NULL
  ORDER BY t.code_hash
  FOR UPDATE OF t
),
won AS (
  UPDATE ${table} AS t SET redeemed_at = ${NOW}
  FROM locked WHERE t.code_hash = locked.code_hash AND t.redeemed_at IS NULL
  RETURNING t.code_hash, t.grant_data
)${more}
SELECT code_hash, grant_data, false AS replayed FROM won
UNION ALL
SELECT t.code_hash, t.grant_data, true AS replayed FROM ${table} AS t
WHERE t.code_hash IN (SELECT code_hash FROM wanted) AND t.expires_at > ${NOW}
  AND NOT EXISTS (SELECT 1 FROM won WHERE won.code_hash = t.code_hash)`;
}
