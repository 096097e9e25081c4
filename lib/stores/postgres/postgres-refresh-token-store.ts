import type {
  EpochSeconds,
  GraceRotateResult,
  GraceWindow,
  RefreshTokenRecord,
  RefreshTokenStore,
  RotateResult,
} from '../../contracts.js';
import { bounded } from '../bounded-call.js';
import { storedRefreshTokenRecord, UNSEEN_FAMILY_REVOCATION_TTL } from '../refresh-records.js';
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
import {
  DEFAULT_REFRESH_TOKEN_TABLE,
  REFRESH_TOKEN_TABLE_SUFFIX,
  refreshTokenTableSql,
  revokedFamiliesTable,
} from './postgres-schema.js';
import type { StatementBatch } from './statement-batch.js';

/** A refresh token as the save statement reads it, with the columns' names. */
interface SavedRow {
  token_hash: string;
  family_id: string;
  record: RefreshTokenRecord;
  expires_at: EpochSeconds;
  family_expires_at: EpochSeconds;
}

interface RotateRow {
  record: RefreshTokenRecord;
  reused: boolean;
}

/** A row of the grace statement: the record as it is now, with the store's own `graceReissues`. */
interface GraceRow {
  record: RefreshTokenRecord & { graceReissues?: number };
  reused: boolean;
}

/**
 * The store's own member of a row's `record` (stripped from every record it returns): set by
 * `rotateWithinGrace` when it spends a token, to how many siblings it reissued since. `spent_at`
 * then holds the start of the token's grace window; a token spent by `rotate` or `rotateAndSave`
 * has no such member, and no window.
 */
const GRACE_REISSUES_MEMBER = 'graceReissues';

/**
 * Refresh tokens in a PostgreSQL table, shared by every instance on the same database. Rotate is
 * one statement, like the code store's redeem. Revoking a family deletes its tokens and records
 * the revocation in `{table}_revoked_families` until the family would have ended, so a token
 * saved into it later is never rotated. Rows are keyed by the token's hash.
 */
export class PostgresRefreshTokenStore implements RefreshTokenStore {
  readonly #config: PostgresStoreConfig;
  readonly #sql: {
    insert: Statement;
    rotate: Statement;
    rotateAndSave: Statement;
    rotateWithinGrace: Statement;
    find: Statement;
    revoke: Statement;
    isRevoked: Statement;
    deleteExpired: Statement;
  };
  readonly #saves: StatementBatch<string, undefined>;

  constructor(options: PostgresStoreOptions) {
    this.#config = resolvePostgresOptions('PostgresRefreshTokenStore', options, {
      fallback: DEFAULT_REFRESH_TOKEN_TABLE,
      longestSuffix: REFRESH_TOKEN_TABLE_SUFFIX,
    });
    const table = this.#config.table.qualified;
    const revoked = revokedFamiliesTable(this.#config.table);
    const notRevoked = (now: string): string =>
      `NOT EXISTS (SELECT 1 FROM ${revoked} r WHERE r.family_id = t.family_id AND r.expires_at > ${now})`;
    const now2 = 'to_timestamp($2::double precision / 1000)';
    // The grace window is the router's: its start and its end by the clock it gives ($7).
    const graceNow = 'to_timestamp($7::double precision / 1000)';
    this.#sql = {
      // One row per save waiting (see StatementBatch), from one JSON array of them.
      insert: statement(`INSERT INTO ${table} (token_hash, family_id, record, expires_at, family_expires_at)
SELECT s.token_hash, s.family_id, s.record, to_timestamp(s.expires_at), to_timestamp(s.family_expires_at)
FROM jsonb_to_recordset($1::jsonb)
  AS s(token_hash text, family_id text, record jsonb, expires_at double precision, family_expires_at double precision)
WHERE NOT EXISTS (SELECT 1 FROM ${revoked} r WHERE r.family_id = s.family_id AND r.expires_at > to_timestamp($2::double precision / 1000))`),
      // As in the code store: the UPDATE decides, the SELECT tells a reuse from nothing. The
      // revocation is checked here too, so a save that raced a revocation still cannot rotate.
      rotate: statement(`WITH won AS (
  UPDATE ${table} AS t SET spent_at = ${now2}
  WHERE token_hash = $1 AND expires_at > ${now2} AND spent_at IS NULL AND ${notRevoked(now2)}
  RETURNING record
)
SELECT record, false AS reused FROM won
UNION ALL
SELECT record, true AS reused FROM ${table} AS t
WHERE token_hash = $1 AND expires_at > ${now2} AND ${notRevoked(now2)} AND NOT EXISTS (SELECT 1 FROM won)`),
      // ROTATE's UPDATE and, when it won, the successor's INSERT: one statement, one transaction.
      // A data-modifying WITH runs whether or not the final SELECT reads it.
      rotateAndSave: statement(`WITH won AS (
  UPDATE ${table} AS t SET spent_at = ${now2}
  WHERE token_hash = $1 AND expires_at > ${now2} AND spent_at IS NULL AND ${notRevoked(now2)}
  RETURNING record, family_id, family_expires_at,
    LEAST($4::double precision, extract(epoch FROM family_expires_at)::double precision) AS next_expires_at
),
saved AS (
  INSERT INTO ${table} (token_hash, family_id, record, expires_at, family_expires_at)
  SELECT $3, family_id, jsonb_set(record, '{expiresAt}', to_jsonb(next_expires_at)), to_timestamp(next_expires_at), family_expires_at
  FROM won
  RETURNING 1
)
SELECT record, false AS reused FROM won
UNION ALL
SELECT record, true AS reused FROM ${table} AS t
WHERE token_hash = $1 AND expires_at > ${now2} AND ${notRevoked(now2)} AND NOT EXISTS (SELECT 1 FROM won)`),
      // rotateAndSave with the grace window, in one UPDATE: a token not yet spent (spent_at NULL)
      // is spent, its window opening at $7, its count at 0; one spent by this statement less than
      // $5 seconds before $7, reissued fewer than $6 times, has its count raised. Concurrent calls
      // queue on the row's lock, and each re-reads the row a call before it left (READ COMMITTED
      // re-checks the WHERE against it), so each count is given out once. The count after the
      // UPDATE says which it was: 0 rotated, more reissued. Either way the new token is inserted.
      rotateWithinGrace: statement(`WITH won AS (
  UPDATE ${table} AS t SET
    spent_at = COALESCE(t.spent_at, ${graceNow}),
    record = jsonb_set(t.record, '{${GRACE_REISSUES_MEMBER}}',
      to_jsonb(CASE WHEN t.spent_at IS NULL THEN 0 ELSE (t.record->>'${GRACE_REISSUES_MEMBER}')::int + 1 END))
  WHERE token_hash = $1 AND expires_at > ${now2} AND ${notRevoked(now2)} AND (
    spent_at IS NULL OR (
      t.record ? '${GRACE_REISSUES_MEMBER}'
      AND ${graceNow} < t.spent_at + make_interval(secs => $5::double precision)
      AND (t.record->>'${GRACE_REISSUES_MEMBER}')::int < $6::int
    )
  )
  RETURNING record, family_id, family_expires_at,
    LEAST($4::double precision, extract(epoch FROM family_expires_at)::double precision) AS next_expires_at
),
saved AS (
  INSERT INTO ${table} (token_hash, family_id, record, expires_at, family_expires_at)
  SELECT $3, family_id, jsonb_set(record - '${GRACE_REISSUES_MEMBER}', '{expiresAt}', to_jsonb(next_expires_at)),
    to_timestamp(next_expires_at), family_expires_at
  FROM won
  RETURNING 1
)
SELECT record, false AS reused FROM won
UNION ALL
SELECT record, true AS reused FROM ${table} AS t
WHERE token_hash = $1 AND expires_at > ${now2} AND ${notRevoked(now2)} AND NOT EXISTS (SELECT 1 FROM won)`),
      find: statement(
        `SELECT record, spent_at IS NOT NULL AS spent FROM ${table} AS t WHERE token_hash = $1 AND expires_at > ${now2} AND ${notRevoked(now2)}`,
      ),
      revoke: statement(`WITH gone AS (DELETE FROM ${table} WHERE family_id = $1 RETURNING family_expires_at)
INSERT INTO ${revoked} AS r (family_id, expires_at)
SELECT $1, COALESCE((SELECT max(family_expires_at) FROM gone), ${now2} + make_interval(secs => $3))
ON CONFLICT (family_id) DO UPDATE SET expires_at = GREATEST(r.expires_at, EXCLUDED.expires_at)`),
      isRevoked: statement(`SELECT 1 FROM ${revoked} WHERE family_id = $1 AND expires_at > ${now2}`),
      // Rows a rotate holds are left for the next run, so the two never wait on each other.
      deleteExpired: statement(`WITH tokens AS (
  DELETE FROM ${table} WHERE token_hash IN (
    SELECT token_hash FROM ${table} WHERE expires_at <= to_timestamp($1::double precision / 1000) FOR UPDATE SKIP LOCKED
  ) RETURNING 1
),
families AS (DELETE FROM ${revoked} WHERE expires_at <= to_timestamp($1::double precision / 1000) RETURNING 1)
SELECT (SELECT count(*) FROM tokens) + (SELECT count(*) FROM families) AS deleted`),
    };
    this.#saves = sharedStatement((rows: readonly string[]) => this.#saveAll(rows));
    layouts.set(this, { pool: this.#config.pool, table, revoked });
  }

  /** Create the tables and their indexes if they are missing. Safe to run on every start, from every instance. */
  migrate(): Promise<void> {
    return bounded('PostgresRefreshTokenStore.migrate', this.#config.timeoutMs, () =>
      runMigration(this.#config.pool, refreshTokenTableSql(this.#config.table)),
    );
  }

  save(key: string, record: RefreshTokenRecord, expiresAt: EpochSeconds): Promise<void> {
    return bounded('PostgresRefreshTokenStore.save', this.#config.timeoutMs, (onDeadline) => {
      // Inside the operation: a record that cannot be serialized is a rejection, not a throw.
      const saved: SavedRow = {
        token_hash: key,
        family_id: record.familyId,
        record,
        expires_at: expiresAt,
        family_expires_at: record.familyExpiresAt,
      };
      return this.#saves.call(JSON.stringify(saved), onDeadline);
    });
  }

  /** One statement for the saves of `rows`, each a {@link SavedRow} as JSON. */
  async #saveAll(rows: readonly string[]): Promise<undefined[]> {
    await runStatement(this.#config, this.#sql.insert, [`[${rows.join(',')}]`, this.#config.now()]);
    return rows.map(() => undefined);
  }

  rotate(key: string): Promise<RotateResult> {
    return bounded('PostgresRefreshTokenStore.rotate', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const values = [key, this.#config.now()];
      const { rows } = await runSpendingStatement(this.#config, this.#sql.rotate, values, deadline);
      return rotateResultOf(rows[0] as RotateRow | undefined);
    });
  }

  rotateAndSave(key: string, successor: { key: string; expiresAt: EpochSeconds }): Promise<RotateResult> {
    return bounded('PostgresRefreshTokenStore.rotateAndSave', this.#config.timeoutMs, async (_onDeadline, deadline) => {
      const values = [key, this.#config.now(), successor.key, successor.expiresAt];
      const { rows } = await runSpendingStatement(this.#config, this.#sql.rotateAndSave, values, deadline);
      return rotateResultOf(rows[0] as RotateRow | undefined);
    });
  }

  /**
   * In one statement, through `runSpendingStatement` as the other rotations: an answer lost on
   * its way rolls back, so neither the rotation nor a reissue (nor its count) is spent by it.
   */
  rotateWithinGrace(
    key: string,
    successor: { key: string; expiresAt: EpochSeconds },
    grace: GraceWindow,
  ): Promise<GraceRotateResult> {
    return bounded(
      'PostgresRefreshTokenStore.rotateWithinGrace',
      this.#config.timeoutMs,
      async (_onDeadline, deadline) => {
        const values = [
          key,
          this.#config.now(),
          successor.key,
          successor.expiresAt,
          grace.interval,
          grace.maxReissues,
          grace.now,
        ];
        const { rows } = await runSpendingStatement(this.#config, this.#sql.rotateWithinGrace, values, deadline);
        const row = rows[0] as GraceRow | undefined;
        if (row === undefined) return { outcome: 'unknown' };
        const record = storedRefreshTokenRecord(row.record);
        if (row.reused) return { outcome: 'reused', record };
        const reissues = Number(row.record[GRACE_REISSUES_MEMBER] ?? 0);
        return reissues === 0 ? { outcome: 'rotated', record } : { outcome: 'reissued', record, reissues };
      },
    );
  }

  find(key: string): Promise<RefreshTokenRecord | undefined> {
    return bounded('PostgresRefreshTokenStore.find', this.#config.timeoutMs, async () => {
      const { rows } = await runStatement(this.#config, this.#sql.find, [key, this.#config.now()]);
      const row = rows[0] as { record: RefreshTokenRecord } | undefined;
      return row === undefined ? undefined : storedRefreshTokenRecord(row.record);
    });
  }

  inspect(key: string): Promise<{ record: RefreshTokenRecord; spent: boolean } | undefined> {
    return bounded('PostgresRefreshTokenStore.inspect', this.#config.timeoutMs, async () => {
      const { rows } = await runStatement(this.#config, this.#sql.find, [key, this.#config.now()]);
      const row = rows[0] as { record: RefreshTokenRecord; spent: boolean } | undefined;
      return row === undefined ? undefined : { record: storedRefreshTokenRecord(row.record), spent: row.spent };
    });
  }

  revokeFamily(familyId: string): Promise<void> {
    return bounded('PostgresRefreshTokenStore.revokeFamily', this.#config.timeoutMs, async () => {
      await runStatement(this.#config, this.#sql.revoke, [familyId, this.#config.now(), UNSEEN_FAMILY_REVOCATION_TTL]);
    });
  }

  isFamilyRevoked(familyId: string): Promise<boolean> {
    return bounded('PostgresRefreshTokenStore.isFamilyRevoked', this.#config.timeoutMs, async () => {
      const { rows } = await runStatement(this.#config, this.#sql.isRevoked, [familyId, this.#config.now()]);
      return rows.length > 0;
    });
  }

  /** Delete expired tokens and forgotten revocations; resolves to how many rows went. */
  deleteExpired(): Promise<number> {
    return bounded('PostgresRefreshTokenStore.deleteExpired', this.#config.timeoutMs, async () => {
      const { rows } = await runStatement(this.#config, this.#sql.deleteExpired, [this.#config.now()]);
      return Number((rows[0] as { deleted: string | number } | undefined)?.deleted ?? 0);
    });
  }
}

/** A rotate or rotateAndSave row as a result, its record without the store's own members. */
function rotateResultOf(row: RotateRow | undefined): RotateResult {
  if (row === undefined) return { outcome: 'unknown' };
  return { outcome: row.reused ? 'reused' : 'rotated', record: storedRefreshTokenRecord(row.record) };
}

/** Where a `PostgresRefreshTokenStore` keeps its tokens: for `PostgresCodeStore`'s atomic exchange. */
export interface PostgresRefreshLayout {
  pool: PostgresStoreConfig['pool'];
  /** The tokens' table, schema-qualified when configured so. */
  table: string;
  /** The revoked families' table. */
  revoked: string;
}

const layouts = new WeakMap<RefreshTokenStore, PostgresRefreshLayout>();

/** The layout of `store` when it is a `PostgresRefreshTokenStore`. */
export function postgresRefreshLayout(store: RefreshTokenStore): PostgresRefreshLayout | undefined {
  return layouts.get(store);
}
