import { hash } from 'node:crypto';
import { ConfigurationError, describeValue } from '../../config/configuration-error.js';
import { booleanOption, checkOptionsObject, clockOption } from '../../config/option-checks.js';
import type { Clock } from '../../contracts.js';
import { resolveTimeout, StoreTimeoutError } from '../bounded-call.js';
import { resolveTableName, type TableName } from './postgres-schema.js';
import { StatementBatch } from './statement-batch.js';

/** A statement sent by name: prepared (parsed and planned) once per connection, as `pg` does. */
export interface PostgresNamedQuery {
  name: string;
  text: string;
  values: unknown[];
}

/** The answer to one statement. */
export interface PostgresQueryResult {
  rows: unknown[];
  rowCount?: number | null;
}

/** What the Postgres adapters need of a pool: a `pg` `Pool` fits as it is. */
export interface PostgresPool {
  /**
   * Run one statement with `$1`-style parameters; without `values`, text may hold several
   * statements. Given a {@link PostgresNamedQuery} (unless the store has
   * `preparedStatements: false`), run it as a named prepared statement.
   */
  query(textOrQuery: string | PostgresNamedQuery, values?: unknown[]): Promise<PostgresQueryResult>;
  /**
   * Check out one connection, as `pg`'s `Pool.connect()` does. Optional: with it, a statement
   * that spends a code or a refresh token runs in a transaction of its own, committed only once
   * its rows have arrived (see {@link runSpendingStatement}); without it, such a statement
   * commits on the server before its answer travels back.
   */
  connect?(): Promise<PostgresPoolClient>;
}

/** One connection checked out of a {@link PostgresPool}: a `pg` `PoolClient` fits as it is. */
export interface PostgresPoolClient {
  query(textOrQuery: string | PostgresNamedQuery, values?: unknown[]): Promise<PostgresQueryResult>;
  /** Give the connection back; given an error (or `true`), the pool closes it instead. */
  release(destroy?: Error | boolean): void;
  /** A `pg` client emits `error` when its connection drops; the store listens while it holds one. */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
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
  statement: Statement,
  values: unknown[],
): Promise<PostgresQueryResult> {
  return sendStatement(config, config.pool, statement, values);
}

function sendStatement(
  config: PostgresStoreConfig,
  target: Pick<PostgresPool, 'query'>,
  { name, text }: Statement,
  values: unknown[],
): Promise<PostgresQueryResult> {
  return config.preparedStatements ? target.query({ name, text, values }) : target.query(text, values);
}

/**
 * Run a statement that spends a code or a refresh token (a redeem, an exchange, a rotation)
 * so that a lost answer costs nothing: BEGIN, the statement, and COMMIT only once its rows
 * are here and the earliest `deadline` of the calls it carries (epoch milliseconds) has not
 * passed, so none of them has been answered 503 yet; past it, ROLLBACK. A connection that
 * drops before the COMMIT (a pooler restarted, a network cut) leaves the transaction open on
 * the server, which rolls it back when it sees the connection gone: the code or refresh token
 * is still there for the retry. What is left is the COMMIT's own round trip: an answer lost
 * after the COMMIT reached the server (docs/contract.md "When a store fails", fourth row).
 * Costs two round trips more than a bare statement, shared by every call the statement
 * carries (docs/performance.md). A pool without `connect` runs the bare statement.
 */
export async function runSpendingStatement(
  config: PostgresStoreConfig,
  statement: Statement,
  values: unknown[],
  deadline: number,
): Promise<PostgresQueryResult> {
  if (typeof config.pool.connect !== 'function') return runStatement(config, statement, values);
  const client = await config.pool.connect();
  // A checked-out pg client that loses its connection emits `error`, and an EventEmitter with no
  // listener throws it: the failure is already the pending query's rejection, handled below.
  const ignore = (): void => undefined;
  client.on?.('error', ignore);
  try {
    await client.query('BEGIN');
    const result = await sendStatement(config, client, statement, values);
    if (Date.now() >= deadline)
      throw new StoreTimeoutError('a statement spending a code or refresh token', config.timeoutMs);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    // A failed statement aborted the transaction; a dead connection cannot roll back, and
    // the server rolls back what it held when the connection goes: either way nothing is kept.
    await client.query('ROLLBACK').then(
      () => client.release(),
      (rollbackError: unknown) => client.release(rollbackError instanceof Error ? rollbackError : true),
    );
    throw error;
  } finally {
    client.removeListener?.('error', ignore);
  }
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
