import { hash } from 'node:crypto';
import { ConfigurationError, describeValue } from '../../config/configuration-error.js';
import { booleanOption, checkOptionsObject, clockOption } from '../../config/option-checks.js';
import type { Clock } from '../../contracts.js';
import { resolveTimeout } from '../bounded-call.js';
import { resolveTableName, type TableName } from './postgres-schema.js';
import { StatementBatch } from './statement-batch.js';

/** A statement sent by name: prepared (parsed and planned) once per connection, as `pg` does. */
export interface PostgresNamedQuery {
  name: string;
  text: string;
  values: unknown[];
}

/** What the Postgres adapters need of a pool: a `pg` `Pool` fits as it is. */
export interface PostgresPool {
  /**
   * Run one statement with `$1`-style parameters; without `values`, text may hold several
   * statements. Given a {@link PostgresNamedQuery} (unless the store has
   * `preparedStatements: false`), run it as a named prepared statement.
   */
  query(
    textOrQuery: string | PostgresNamedQuery,
    values?: unknown[],
  ): Promise<{ rows: unknown[]; rowCount?: number | null }>;
}

/** Options of the Postgres stores. */
export interface PostgresStoreOptions {
  /** A `pg` Pool the host already has. The store never ends it. */
  pool: PostgresPool;
  /** The table, `name` or `schema.name`. Defaults: `pkce_authorization_codes`, `pkce_refresh_tokens`. */
  table?: string;
  /** Longest wait for one store operation, in milliseconds; then it rejects (the router answers 503). Default 2000. */
  timeoutMs?: number;
  /** The clock for expiry decisions: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /**
   * Send the store's statements as named prepared statements, parsed and planned once per
   * connection instead of on every call: about 40% less database CPU a token request
   * (docs/performance.md). Default `true`. Set `false` behind a pooler that cannot keep
   * prepared statements across transactions, such as PgBouncer in transaction mode (before
   * 1.21, or without `max_prepared_statements` set).
   */
  preparedStatements?: boolean;
}

/** The checked options of a Postgres store. */
export interface PostgresStoreConfig {
  pool: PostgresPool;
  table: TableName;
  timeoutMs: number;
  now: Clock;
  preparedStatements: boolean;
}

/** One of a store's statements: its text, and the name it is prepared under. */
export interface Statement {
  text: string;
  name: string;
}

/**
 * A statement, named after its text: stores on different tables have different texts, so
 * their names never clash on a connection they share.
 */
export function statement(text: string): Statement {
  return { text, name: `pkce_token_router_${hash('sha256', text, 'hex').slice(0, 24)}` };
}

/**
 * Whether a statement's failure may come from one of the values it carried: a data exception
 * (SQLSTATE class 22: a NUL in jsonb, a timestamp out of range), an integrity constraint
 * (23) or a limit of the server (54: nesting too deep). Connection and timeout failures are
 * not: sending each call again alone would only multiply the load on a database in trouble.
 */
function isValueRefused(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

/**
 * How a Postgres store shares a statement between calls that wait (see {@link StatementBatch}).
 * One statement of a kind at a time per store: the calls that arrive meanwhile make the next one
 * bigger. Measured with 16 concurrent token requests, two at a time gave smaller statements and
 * about twice the database CPU a request. A statement carries at most 500 calls, and a statement
 * the database refused for a value is sent again call by call.
 */
export function sharedStatement<Input, Output>(
  run: (inputs: readonly Input[]) => Promise<readonly Output[]>,
): StatementBatch<Input, Output> {
  return new StatementBatch(run, 1, 500, isValueRefused);
}

/** Run one of a store's statements, by name unless the store was told not to. */
export function runStatement(
  config: PostgresStoreConfig,
  { name, text }: Statement,
  values: unknown[],
): ReturnType<PostgresPool['query']> {
  return config.preparedStatements ? config.pool.query({ name, text, values }) : config.pool.query(text, values);
}

/** Check the options of a Postgres store at construction: a pool without `query` is a clear error. */
export function resolvePostgresOptions(
  adapter: string,
  options: unknown,
  table: { fallback: string; longestSuffix: string },
): PostgresStoreConfig {
  // The pool itself, given where its options object goes, would otherwise read as an options
  // object full of unknown names.
  if (typeof (options as Partial<PostgresPool> | null | undefined)?.query === 'function') {
    throw new ConfigurationError(
      'ERR_OPTIONS_NOT_OBJECT',
      'options',
      `${adapter} takes an options object holding the pool: new ${adapter}({ pool }), not new ${adapter}(pool)`,
    );
  }
  const given = checkOptionsObject(adapter, options, ['pool', 'table', 'timeoutMs', 'now', 'preparedStatements']);
  const { pool, now } = given;
  if (pool === undefined || pool === null) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'pool',
      `${adapter} needs { pool }: a pg Pool, such as new pg.Pool({ connectionString: process.env.DATABASE_URL })`,
    );
  }
  if (typeof (pool as Partial<PostgresPool>).query !== 'function') {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'pool',
      `${adapter}: pool must have query(text, values), as a pg Pool does; received ${describeValue(pool)}`,
    );
  }
  return {
    pool: pool as PostgresPool,
    table: resolveTableName(adapter, given.table, table.fallback, table.longestSuffix),
    timeoutMs: resolveTimeout(given.timeoutMs, adapter),
    now: clockOption(now, adapter),
    preparedStatements: booleanOption(given.preparedStatements, 'preparedStatements', true, adapter),
  };
}

/**
 * Run a schema's statements as one transaction (a multi-statement simple query is one), under
 * an advisory lock: instances that start together and all migrate then wait for each other
 * instead of racing `CREATE TABLE IF NOT EXISTS` into a duplicate-key error.
 */
export async function runMigration(pool: PostgresPool, schemaSql: string): Promise<void> {
  await pool.query(`SELECT pg_advisory_xact_lock(hashtext('pkce-token-router:migrate'));\n${schemaSql}`);
}
