import pg from 'pg';
import { uniqueName } from './services.js';

/**
 * The pool settings docs/stores.md recommends: give up on a connection after a second and on a
 * query after two, so an unreachable database fails fast instead of queueing requests.
 */
export const RECOMMENDED_POOL_OPTIONS: pg.PoolConfig = {
  max: 10,
  connectionTimeoutMillis: 1_000,
  query_timeout: 2_000,
  idleTimeoutMillis: 10_000,
};

export function createPool(connectionString: string, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ ...RECOMMENDED_POOL_OPTIONS, connectionString, ...options });
  // An idle client whose server went away emits 'error' on the pool; unheard, it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** A fresh table name for one test; nobody else on the shared database uses it. */
export function freshTable(stem: string): string {
  return uniqueName(stem).toLowerCase();
}

/** Every row of the given tables, as JSON text: what the store keeps at rest. */
export async function dumpTables(pool: pg.Pool, tables: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const table of tables) {
    const { rows } = await pool.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${table} t`);
    lines.push(...rows.map((row) => `${table} ${row.row}`));
  }
  return lines.join('\n');
}

/** Drop tables this test made (its own, uniquely named: never a shared one). */
export async function dropTables(pool: pg.Pool, tables: readonly string[]): Promise<void> {
  // A code table's migrate() also makes `{table}_seen` (PostgresCodeStore.markSeen): dropped with it.
  const withSeen = tables.flatMap((table) => [table, `${table}_seen`]);
  await pool.query(`DROP TABLE IF EXISTS ${withSeen.join(', ')}`);
}

/** The same database, reached through another port on 127.0.0.1 (a TcpProxy in front of it). */
export function via(url: string, port: number): string {
  const rerouted = new URL(url);
  rerouted.hostname = '127.0.0.1';
  rerouted.port = String(port);
  return rerouted.toString();
}
