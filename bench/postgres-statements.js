// What the PostgreSQL stores cost the database, without HTTP: a token request's two writes (a
// code's redeem, then the new refresh token's save), from 16 concurrent callers, and the CPU
// the database's processes (read from /proc, so Linux only, with the server on this machine)
// and this process spent per request.
//   DATABASE_URL=postgres://... node bench/postgres-statements.js [--requests N] [--unprepared]
// The runner's statement count shows how many calls shared each statement.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PostgresCodeStore, PostgresRefreshTokenStore } from '../dist/index.js';

const { values: flags } = parseArgs({
  options: { requests: { type: 'string', default: '4000' }, unprepared: { type: 'boolean', default: false } },
});
const REQUESTS = Number(flags.requests);
const CALLERS = 16;

if (!process.env.DATABASE_URL) {
  console.error('DATABASE_URL is not set');
  process.exit(1);
}

/** CPU time (ms) of every process named postgres, living or (through the postmaster) reaped. */
function postgresCpuMs() {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    if (!stat.includes('(postgres)')) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, and for the postmaster cutime and cstime: its ended backends.
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks * 10;
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000, query_timeout: 2000 });
let statements = 0;
const counted = { query: (...args) => ((statements += 1), pool.query(...args)) };
const stem = `pkce_bench_${randomBytes(4).toString('hex')}`;
// Set only when asked, so the script also runs on versions without the option.
const options = flags.unprepared ? { preparedStatements: false } : {};
const codes = new PostgresCodeStore({ pool: counted, table: `${stem}_codes`, ...options });
const refreshTokens = new PostgresRefreshTokenStore({ pool: counted, table: `${stem}_refresh`, ...options });

try {
  await codes.migrate();
  await refreshTokens.migrate();
  const expiresAt = Math.floor(Date.now() / 1000) + 600;
  const grant = {
    clientId: 'bench-client',
    redirectUri: 'http://localhost/callback',
    codeChallenge: randomBytes(32).toString('base64url'),
    codeChallengeMethod: 'S256',
    subject: 'user-1',
    scope: ['openid'],
    expiresAt,
  };
  const keys = Array.from({ length: REQUESTS }, () => randomBytes(32).toString('base64url'));
  for (let start = 0; start < keys.length; start += 200) {
    await Promise.all(keys.slice(start, start + 200).map((key) => codes.save(key, grant, expiresAt)));
  }

  const statementsBefore = statements;
  const databaseBefore = postgresCpuMs();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < keys.length) {
        const key = keys[next++];
        await codes.redeem(key);
        const record = { clientId: grant.clientId, subject: grant.subject, scope: grant.scope, familyId: key, familyExpiresAt: expiresAt };
        await refreshTokens.save(randomBytes(32).toString('base64url'), record, expiresAt);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownBefore);
  const database = postgresCpuMs() - databaseBefore;
  const perRequest = (ms) => `${Math.round((ms * 1000) / REQUESTS)} µs`;
  console.log(`${REQUESTS} token requests' writes (redeem + refresh-token save) from ${CALLERS} callers, prepared statements ${flags.unprepared ? 'off' : 'on (where the version has them)'}`);
  console.log(`  ${Math.round(REQUESTS / seconds)} requests/s; ${((REQUESTS * 2) / (statements - statementsBefore)).toFixed(1)} calls a statement`);
  console.log(`  CPU per request: PostgreSQL ${perRequest(database)}, this process ${perRequest((own.user + own.system) / 1000)}`);
} finally {
  const { rows } = await pool.query('SELECT tablename FROM pg_tables WHERE tablename LIKE $1', [`${stem}\\_%`]);
  for (const { tablename } of rows) await pool.query(`DROP TABLE IF EXISTS "${tablename}"`);
  await pool.end();
}
