// What a shared store costs its server and this process, without HTTP: a token request's two
// writes (a code's redeem, then the new refresh token's save), from 16 concurrent callers, and
// the CPU the server (PostgreSQL: its processes, read from /proc, so Linux only with the server
// on this machine; Redis: INFO cpu) and this process spent per request.
//   DATABASE_URL=postgres://... node bench/store-writes.js postgres [--requests N] [--unprepared]
//   REDIS_URL=redis://... node bench/store-writes.js redis [--requests N]
// The count of statements or scripts sent shows how many calls shared each one.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as lib from '../dist/index.js';
import { deleteRedisKeys, dropPostgresTables } from './stores.js';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string', default: '4000' }, unprepared: { type: 'boolean', default: false } },
});
const REQUESTS = Number(flags.requests);
const CALLERS = 16;

/** Each store: the variable with its URL, and how to open its two stores and read its CPU. */
const BACKENDS = {
  postgres: { variable: 'DATABASE_URL', open: openPostgres },
  redis: { variable: 'REDIS_URL', open: openRedis },
};

const backend = BACKENDS[positionals[0]];
if (backend === undefined) {
  console.error(`usage: node bench/store-writes.js ${Object.keys(BACKENDS).join('|')} [--requests N] [--unprepared]`);
  process.exit(1);
}
if (!process.env[backend.variable]) {
  console.error(`${backend.variable} is not set`);
  process.exit(1);
}

/** Count what reaches the server, so the calls a statement (or script) can be told. */
let sent = 0;
const counting =
  (send) =>
  (...args) => {
    sent += 1;
    return send(...args);
  };

const target = await backend.open(process.env[backend.variable]);
try {
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
  const tokenKeys = Array.from({ length: REQUESTS }, () => randomBytes(32).toString('base64url'));
  for (let start = 0; start < keys.length; start += 200) {
    await Promise.all(keys.slice(start, start + 200).map((key) => target.codes.save(key, grant, expiresAt)));
  }

  const sentBefore = sent;
  const serverBefore = await target.serverCpuMs();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < keys.length) {
        const index = next++;
        await target.codes.redeem(keys[index]);
        const record = {
          clientId: grant.clientId,
          subject: grant.subject,
          scope: grant.scope,
          familyId: keys[index],
          familyExpiresAt: expiresAt,
        };
        await target.refreshTokens.save(tokenKeys[index], record, expiresAt);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownBefore);
  const server = (await target.serverCpuMs()) - serverBefore;
  const perRequest = (ms) => `${Math.round((ms * 1000) / REQUESTS)} µs`;
  console.log(
    `${REQUESTS} token requests' writes (redeem + refresh-token save) from ${CALLERS} callers on ${target.description}`,
  );
  const sentNow = sent - sentBefore;
  // A request makes two store calls; PostgreSQL calls that wait share a statement.
  const shared = target.unit === 'statement' ? `, ${((REQUESTS * 2) / sentNow).toFixed(1)} calls a statement` : '';
  console.log(
    `  ${Math.round(REQUESTS / seconds)} requests/s; ${(sentNow / REQUESTS).toFixed(2)} ${target.unit}s a request${shared}`,
  );
  console.log(
    `  CPU per request: ${target.server} ${perRequest(server)}, this process ${perRequest((own.user + own.system) / 1000)}`,
  );
} finally {
  await target.close();
}

async function openPostgres(url) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 2000, query_timeout: 2000 });
  const counted = { query: counting((...args) => pool.query(...args)) };
  const stem = `pkce_bench_${randomBytes(4).toString('hex')}`;
  // Set only when asked, so the script also runs on versions without the option.
  const options = flags.unprepared ? { preparedStatements: false } : {};
  const codes = new lib.PostgresCodeStore({ pool: counted, table: `${stem}_codes`, ...options });
  const refreshTokens = new lib.PostgresRefreshTokenStore({ pool: counted, table: `${stem}_refresh`, ...options });
  await codes.migrate();
  await refreshTokens.migrate();
  return {
    codes,
    refreshTokens,
    description: `PostgreSQL, prepared statements ${flags.unprepared ? 'off' : 'on (where the version has them)'}`,
    unit: 'statement',
    server: 'PostgreSQL',
    serverCpuMs: async () => postgresCpuMs(),
    async close() {
      await dropPostgresTables(pool, stem);
      await pool.end();
    },
  };
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

async function openRedis(url) {
  const { Redis } = await import('ioredis');
  // The bench's client settings (bench/stores.js): auto-pipelining on.
  const client = new Redis(url, { enableAutoPipelining: true });
  const admin = new Redis(url);
  const counted = {
    isCluster: client.isCluster,
    evalsha: counting((...args) => client.evalsha(...args)),
    eval: counting((...args) => client.eval(...args)),
  };
  const prefix = `pkce-bench:${randomBytes(6).toString('hex')}:`;
  return {
    codes: new lib.RedisCodeStore({ client: counted, prefix }),
    refreshTokens: new lib.RedisRefreshTokenStore({ client: counted, prefix }),
    description: 'Redis, auto-pipelining on',
    unit: 'script',
    server: 'Redis',
    async serverCpuMs() {
      const info = await admin.info('cpu');
      return [...info.matchAll(/^used_cpu_(?:sys|user):([\d.]+)/gm)].reduce(
        (total, [, seconds]) => total + Number(seconds) * 1000,
        0,
      );
    },
    async close() {
      await deleteRedisKeys(admin, prefix);
      client.disconnect();
      admin.disconnect();
    },
  };
}
