// npm run bench [-- --json] [--save FILE] [--long] [--alg RS256,ES256] [--rounds N] [--seconds S]
//                  [--connections N] [--targets a,b] [--cpu-prof]
// npm run bench -- --memory [--codes N] [--json]
//
// Side by side, in alternating rounds: the library's router (in the example app, on in-process
// stores; on Redis / Postgres too when REDIS_URL / DATABASE_URL are set) and the bare reference
// handlers of bench/reference.js. Every target runs in its own process; codes are issued there
// before each round and each is redeemed exactly once. The figures that matter are the paired
// ratios: the median, over rounds, of (router req/s) / (reference req/s) in the same round.
// The api:router and api:jose targets measure a protected API call instead: GET /api/profile
// behind requireAccessToken, against a bare jose jwtVerify handler; api:userinfo the UserInfo
// endpoint against the same handler; logout:router and logout:jose a logout with an id_token_hint
// (docs/performance.md); cc:router and cc:jose a client credentials token request with client_secret_basic;
// introspect:router and introspect:jose an introspection of an access token by that client;
// refresh:rotate and refresh:grace a refresh request: a strict rotation of a fresh token, and a
// grace-window reissue of a token rotated a moment before (docs/refresh.md "The grace window").
// keys:postgres and keys:redis the router's code exchange with its keys in PostgresKeyStore or
// RedisKeyStore against keys:memory (MemoryKeyStore), the code stores in memory and the three
// apps in one process.

import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { median, sum } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN_PATH = '/oauth2/token';
const ISSUER = 'http://localhost';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    long: { type: 'boolean', default: false },
    memory: { type: 'boolean', default: false },
    alg: { type: 'string', default: 'RS256,ES256' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    // Enough that a shared store's round trips do not cap req/s: each adds latency to a request,
    // and with too few connections that wait, not the endpoint, would be the limit. docs/performance.md
    // ("How it measures") has the sweep behind 64.
    connections: { type: 'string', default: '64' },
    'cpu-prof': { type: 'boolean', default: false },
    targets: { type: 'string' },
    save: { type: 'string' },
    codes: { type: 'string' },
  },
});

/** Progress goes to stderr, so that `--json` leaves stdout to the results. */
const log = (line) => process.stderr.write(`${line}\n`);

ensureBuilt();

if (flags.memory) {
  const passed = [...(flags.json ? ['--json'] : []), ...(flags.codes === undefined ? [] : ['--codes', flags.codes])];
  const child = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'bench/memory.js'), ...passed], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const settings = {
  rounds: Number(flags.rounds ?? (flags.long ? 15 : 7)),
  /** Quick: about 4.5 s a round over all targets (1.5 s each for three), so a run stays under two minutes. */
  roundSeconds: flags.seconds === undefined ? undefined : Number(flags.seconds),
  connections: Number(flags.connections),
  algs: flags.alg.split(',').map((alg) => alg.trim()),
};

const runStarted = Date.now();
/** The machine's load before this run added its own. */
const loadAtStart = loadavg();
/** Whether the current rounds are profiled (`--cpu-prof`: the measured rounds, not the warm-up). */
let profiling = false;

/** What each algorithm is held to: [target, baseline, minimum paired ratio]. */
const TARGETS = {
  RS256: [
    ['router:memory', 'jose', 1.0],
    ['router:memory', 'node-crypto', 0.9],
  ],
  ES256: [
    ['router:memory', 'jose', 0.85],
    ['router:memory', 'node-crypto', 0.85],
  ],
};
const STORE_TARGETS = { redis: 0.85, postgres: 0.75 };
/** A protected API call: requireAccessToken against a bare jose jwtVerify handler, every algorithm. */
const API_TARGET = ['api:router', 'api:jose', 0.9];
/**
 * Client authentication, each against the same router with a public client (client:none): the
 * ratio and the CPU per request show what the secret's scrypt hash and the assertion's
 * verification cost. Reported, not held to a minimum (docs/performance.md "Client authentication").
 */
const CLIENT_AUTH_TARGETS = [
  ['client:basic', 'client:none', 0],
  ['client:jwt', 'client:none', 0],
];
/**
 * DPoP (RFC 9449) at the token endpoint: a code exchange with an ES256 proof against the same
 * router's Bearer exchange (DPoP on, no proof). The proof's verification and its jti's "seen
 * once" are what it adds; reported, with the CPU per request (docs/performance.md "DPoP").
 */
const DPOP_TARGET = ['token:dpop', 'token:bearer', 0];
/**
 * The UserInfo endpoint against the same bare handler: it verifies as requireAccessToken does,
 * then looks the token's refresh-token family up (revoked?), calls the host's userInfo and
 * filters its claims.
 */
const USERINFO_TARGET = ['api:userinfo', 'api:jose', 0.85];
/** RP-initiated logout: the router's logout endpoint against a bare jose handler, both 303. */
const LOGOUT_TARGET = ['logout:router', 'logout:jose', 0.85];
/**
 * The client credentials grant (RFC 6749 §4.4) with client_secret_basic: the router against a
 * bare jose handler (Basic decoded, the secret's SHA-256 compared, one token signed). The same
 * request again and again: the grant stores and spends nothing.
 */
const CLIENT_CREDENTIALS_TARGET = ['cc:router', 'cc:jose', 0.85];
/**
 * Introspection (RFC 7662) of an access token by a client_secret_basic resource server: the
 * router's endpoint against a bare jose handler (Basic checked, jwtVerify, the members as JSON).
 */
const INTROSPECTION_TARGET = ['introspect:router', 'introspect:jose', 0.85];
const INTROSPECTION_PATH = '/oauth2/introspect';
/**
 * The refresh grant's grace path (a spent token reissued a sibling by rotateWithinGrace) against
 * a normal strict rotation (rotateAndSave) on the same router and stores: it should cost no more.
 */
const REFRESH_GRACE_TARGET = ['refresh:grace', 'refresh:rotate', 0.9];
/**
 * A code exchange signed by an external signer (docs/external-signers.md): the router on memory
 * stores with a ChildProcessSigner, against the same router signing in process. The ratio is its
 * cost per request (the IPC round trips, the signature's verification, the code's read before the
 * spend); reported, not held to a minimum.
 */
const EXTERNAL_SIGNER_TARGET = ['external:memory', 'router:memory', 0];
/**
 * The same code exchange with the router's keys in a shared key store (docs/keys.md "Shared key
 * stores") against MemoryKeyStore, the code stores in memory for all, the apps in one process
 * (keys:memory, keys:redis, keys:postgres): with the keys cached in process, a token request
 * makes no round trip for them, so it costs what it does on memory.
 */
const KEY_STORE_MINIMUM = 0.97;
/** The client credentials request of the cc targets: the bench's machine client and its secret. */
const CC_CLIENT_ID = 'bench-machine';
const CC_CLIENT_SECRET = 'bench-machine-secret-0123456789abcdef';
const CC_AUTHORIZATION = `Basic ${Buffer.from(`${CC_CLIENT_ID}:${CC_CLIENT_SECRET}`).toString('base64')}`;
const CC_BODY = 'grant_type=client_credentials&scope=status%3Aread';
const API_PATH = '/api/profile';
/** Distinct tokens a round of an api target sends, each many times (verification holds no state). */
const API_TOKENS = 256;

const { KEY_STORE_BACKENDS, STORE_BACKENDS, unavailableReason } = await import('./stores.js');
const lib = await import('../dist/index.js');
const stores = [];
const skippedStores = {};
for (const name of Object.keys(STORE_BACKENDS)) {
  const reason = await unavailableReason(name, lib);
  if (reason === undefined) stores.push(name);
  else skippedStores[name] = reason;
}

const results = [];
for (const alg of settings.algs) {
  results.push(await benchAlgorithm(alg));
}
const report = {
  machine: machine(),
  settings,
  skippedStores,
  wallSeconds: Math.round((Date.now() - runStarted) / 1000),
  results,
};
if (flags.save !== undefined) writeFileSync(flags.save, `${JSON.stringify(report, null, 2)}\n`);
if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else printReport(report);
const failed = results.some((result) => result.comparisons.some((comparison) => !comparison.met));
process.exitCode = failed ? 1 : 0;

async function benchAlgorithm(alg) {
  // router:memory is in every comparison, so it runs in the middle of a round: next to both
  // reference handlers, and one target away from each shared store. The machine's load drifts
  // over seconds; the closer the two sides of a ratio run in time, the less of it they differ by.
  const shared = stores.filter((store) => store !== 'memory').map((store) => `router:${store}`);
  const half = Math.ceil(shared.length / 2);
  // keys:memory in the middle, next to each shared key store it is compared with.
  const sharedKeyStores = stores
    .filter((store) => typeof lib[KEY_STORE_BACKENDS[store]?.adapter] === 'function')
    .map((store) => `keys:${store}`);
  const keyTargets =
    sharedKeyStores.length === 0 ? [] : [sharedKeyStores[0], 'keys:memory', ...sharedKeyStores.slice(1)];
  const ordered = [
    ...shared.slice(0, half),
    'jose',
    'router:memory',
    'external:memory',
    'node-crypto',
    ...shared.slice(half),
    ...keyTargets,
    'api:jose',
    'api:router',
    'api:userinfo',
    'logout:jose',
    'logout:router',
    'client:none',
    'client:basic',
    'client:jwt',
    'token:bearer',
    'token:dpop',
    'cc:jose',
    'cc:router',
    'introspect:jose',
    'introspect:router',
    'refresh:rotate',
    'refresh:grace',
  ];
  const names =
    flags.targets === undefined ? ordered : ordered.filter((name) => flags.targets.split(',').includes(name));
  settings.roundSeconds ??= flags.long ? 5 : Math.min(1.5, 4.5 / names.length);
  log(`\n${alg}: starting ${names.join(', ')}`);
  // The keys targets share one process (bench/server.js, kind "keys"), one app and port each.
  const keyStores = names.filter((name) => name.startsWith('keys:')).map((name) => name.split(':')[1]);
  const keysHost = keyStores.length === 0 ? undefined : forkServer('keys', { kind: 'keys', alg, stores: keyStores });
  const servers = await Promise.all(
    names.map((name) => (name.startsWith('keys:') ? sideOf(keysHost, name) : startServer(name, alg))),
  );
  try {
    for (const server of servers) await checkTokens(server, alg);
    profiling = false;
    // Warm-up (JIT, connection pools, key caches), twice, which also sizes each target's rounds.
    const sized = (rps) => Math.max(settings.connections * 4, Math.round(rps * settings.roundSeconds));
    for (const server of servers) {
      server.amount = settings.connections * 50;
      for (let warm = 0; warm < 2; warm++) server.amount = sized((await runRound(server, server.amount)).rps);
      log(
        `  warmed up ${server.name}: ${server.amount} ${/^(api|logout|cc|introspect|refresh):/.test(server.name) ? 'requests' : 'codes'} a round`,
      );
    }
    const rounds = [];
    profiling = flags['cpu-prof'];
    for (let round = 0; round < settings.rounds; round++) {
      // Alternate the order, so no target always runs first (or just after the same one).
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      const measured = {};
      for (const server of order) {
        measured[server.name] = await runRound(server, server.amount);
        // Keep rounds near their length as the machine's load changes.
        server.amount = sized(measured[server.name].rps);
      }
      rounds.push(measured);
      log(
        `  round ${round + 1}/${settings.rounds}: ${names.map((name) => `${name} ${measured[name].rps.toFixed(0)}`).join(', ')}`,
      );
    }
    if (profiling) writeProfiles(alg, servers);
    return summarise(alg, names, rounds);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** The requests of a round: each code redeemed once; or, for an api target, GETs with its tokens. */
async function roundRequests(server, amount, onResponse) {
  if (server.name.startsWith('introspect:')) {
    // Introspection requests for the target's own tokens, each sent many times (it changes nothing).
    const bodies = (await server.call('tokens', { count: Math.min(API_TOKENS, amount) })).map(
      (token) => `token=${token}`,
    );
    let sent = 0;
    return {
      sent: () => sent,
      requests: [
        {
          method: 'POST',
          path: INTROSPECTION_PATH,
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: CC_AUTHORIZATION },
          setupRequest: (request) => ({ ...request, body: bodies[sent++ % bodies.length] }),
          onResponse,
        },
      ],
    };
  }
  if (server.name.startsWith('refresh:')) {
    // Refresh requests, each with a token of its own sent once: a token is spent by its request.
    const bodies = await server.call('tokens', { count: amount });
    let sent = 0;
    return {
      sent: () => sent,
      requests: [
        {
          method: 'POST',
          path: TOKEN_PATH,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          setupRequest: (request) => ({ ...request, body: bodies[sent++] }),
          onResponse,
        },
      ],
    };
  }
  if (server.name.startsWith('cc:')) {
    let sent = 0;
    return {
      sent: () => sent,
      requests: [
        {
          method: 'POST',
          path: TOKEN_PATH,
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: CC_AUTHORIZATION },
          body: CC_BODY,
          setupRequest: (request) => {
            sent++;
            return request;
          },
          onResponse,
        },
      ],
    };
  }
  if (server.name.startsWith('logout:')) {
    // Logout requests with fresh ID tokens, each sent many times (a logout changes nothing here).
    const paths = await server.call('tokens', { count: Math.min(API_TOKENS, amount) });
    let sent = 0;
    return {
      sent: () => sent,
      requests: [
        { method: 'GET', setupRequest: (request) => ({ ...request, path: paths[sent++ % paths.length] }), onResponse },
      ],
    };
  }
  if (server.name.startsWith('api:')) {
    const tokens = await server.call('tokens', { count: Math.min(API_TOKENS, amount) });
    let sent = 0;
    return {
      sent: () => sent,
      requests: [
        {
          method: 'GET',
          path: API_PATH,
          setupRequest: (request) => ({
            ...request,
            headers: { ...request.headers, authorization: `Bearer ${tokens[sent++ % tokens.length]}` },
          }),
          onResponse,
        },
      ],
    };
  }
  const forms = await server.call('issue', { count: amount });
  let next = 0;
  return {
    sent: () => next,
    requests: [
      {
        method: 'POST',
        path: TOKEN_PATH,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        // Each code goes out exactly once; autocannon calls this once per request it sends. A
        // client target's forms carry their credentials (an Authorization header, or in the body).
        setupRequest: (request) => {
          const form = forms[next++];
          if (typeof form === 'string') return { ...request, body: form };
          const headers = {
            ...request.headers,
            ...(form.authorization === undefined ? {} : { authorization: form.authorization }),
            ...(form.dpop === undefined ? {} : { dpop: form.dpop }),
          };
          return { ...request, headers, body: form.body };
        },
        onResponse,
      },
    ],
  };
}

/** One round against one target: issue `amount` codes (or tokens), send each request once, measure. */
async function runRound(server, amount) {
  let finished;
  // Time the requests themselves, to the last response.
  const round = await roundRequests(server, amount, () => {
    finished = process.hrtime.bigint();
  });
  // Every target collects what issuing codes (and sending them here) left behind before it is
  // measured, so that no round pays for the bench's own setup.
  await server.call('collect');
  if (profiling) await server.call('profile-start');
  const before = await server.call('usage');
  const started = process.hrtime.bigint();
  finished = started;
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections: Math.min(settings.connections, amount),
    amount,
    timeout: 20,
    // autocannon ends a run on its sampling tick: 50 ms rather than a second wasted a round.
    sampleInt: 50,
    requests: round.requests,
  });
  const seconds = Number(finished - started) / 1e9;
  const after = await server.call('usage');
  // A logout answers 303 (to the registered post-logout URI); every other target 200.
  const ok = result.statusCodeStats[server.name.startsWith('logout:') ? '303' : '200']?.count ?? 0;
  const responses = sum(Object.values(result.statusCodeStats).map((stat) => stat.count));
  if (profiling) keepProfile(server, { ...(await server.call('profile-stop')), benchRequests: responses });
  const cpuMs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000;
  if (round.sent() !== amount) throw new Error(`${server.name}: ${round.sent()} requests made for ${amount}`);
  return {
    requests: responses,
    rps: responses / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non200: responses - ok + result.errors + result.timeouts,
    cpuMsPerRequest: cpuMs / Math.max(responses, 1),
    loopBusy:
      (after.loop.active - before.loop.active) /
      (after.loop.active + after.loop.idle - before.loop.active - before.loop.idle),
  };
}

function summarise(alg, names, rounds) {
  const targets = {};
  for (const name of names) {
    const of = (field) => rounds.map((round) => round[name][field]);
    targets[name] = {
      rps: median(of('rps')),
      p50: median(of('p50')),
      p99: median(of('p99')),
      non200: sum(of('non200')),
      requests: sum(of('requests')),
      cpuMsPerRequest: median(of('cpuMsPerRequest')),
      loopBusy: median(of('loopBusy')),
    };
  }
  const pairs = [
    ...(TARGETS[alg] ?? []),
    API_TARGET,
    USERINFO_TARGET,
    LOGOUT_TARGET,
    ...CLIENT_AUTH_TARGETS,
    DPOP_TARGET,
    CLIENT_CREDENTIALS_TARGET,
    INTROSPECTION_TARGET,
    REFRESH_GRACE_TARGET,
    EXTERNAL_SIGNER_TARGET,
  ];
  for (const name of names) {
    const store = name.split(':')[1];
    if (name.startsWith('router:') && store !== 'memory') pairs.push([name, 'router:memory', STORE_TARGETS[store]]);
    if (name.startsWith('keys:') && store !== 'memory') pairs.push([name, 'keys:memory', KEY_STORE_MINIMUM]);
  }
  const comparisons = pairs
    .filter(([target, baseline]) => names.includes(target) && names.includes(baseline))
    .map(([target, baseline, minimum]) => {
      const ratios = rounds.map((round) => round[target].rps / round[baseline].rps);
      const ratio = median(ratios);
      const non200 = targets[target].non200 + targets[baseline].non200;
      return {
        target,
        baseline,
        ratio,
        minRatio: Math.min(...ratios),
        maxRatio: Math.max(...ratios),
        cpuRatio: targets[baseline].cpuMsPerRequest / targets[target].cpuMsPerRequest,
        minimum,
        met: ratio >= minimum && non200 === 0,
      };
    });
  return { alg, targets, comparisons, rounds };
}

function keepProfile(server, profile) {
  if (server.profiles === undefined) server.profiles = [];
  server.profiles.push(profile);
}

/** One .cpuprofile per target and round (bench/profile-summary.js adds them up; DevTools opens each). */
function writeProfiles(alg, servers) {
  const dir = join(ROOT, 'bench/profiles');
  mkdirSync(dir, { recursive: true });
  for (const server of servers) {
    server.profiles.forEach((profile, index) => {
      const file = join(dir, `${alg}-${server.name.replace(':', '-')}-round${index + 1}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
    });
    log(`  profiles: ${join('bench/profiles', `${alg}-${server.name.replace(':', '-')}-round*.cpuprofile`)}`);
  }
}

/** Fork a target's server process and wait until it listens. */
function startServer(name, alg) {
  const [kind, store] = name.split(':');
  return forkServer(name, { kind, alg, store });
}

/**
 * The target `name` ("keys:<store>") of the keys process: its own port, its operations sent to
 * its side of the process; stopping any of them stops the process, once.
 */
async function sideOf(host, name) {
  const process = await host;
  const side = name.split(':')[1];
  return {
    name,
    port: process.ports[side],
    call: (op, args = {}) => process.call(op, { ...args, side }),
    stop: () => process.stop(),
  };
}

/** Fork bench/server.js with `options` and wait until it listens; `stop()` ends it once. */
function forkServer(name, options) {
  let stopping;
  const child = fork(join(ROOT, 'bench/server.js'), [JSON.stringify(options)], {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 0;
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    child.on('message', (message) => {
      if (message.op === 'ready') {
        child.removeAllListeners('exit');
        child.once('exit', (code) => {
          for (const { reject: fail } of pending.values()) fail(new Error(`${name} exited with ${code}`));
        });
        resolve({
          name,
          port: message.port,
          ports: message.ports,
          call(op, args = {}) {
            const id = nextId++;
            return new Promise((done, fail) => {
              pending.set(id, { resolve: done, reject: fail });
              child.send({ id, op, ...args });
            });
          },
          stop() {
            stopping ??= (async () => {
              if (child.exitCode !== null) return;
              const exited = new Promise((done) => child.once('exit', done));
              await this.call('exit').catch(() => {});
              await exited;
            })();
            return stopping;
          },
        });
        return;
      }
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`${name}: ${message.error}`));
      else waiter.resolve(message.result);
    });
  });
}

/**
 * Before measuring, check that the target really issues tokens: a code redeemed once gives 200
 * and two tokens that jose verifies against the target's public keys; the same code again fails.
 */
async function checkTokens(server, alg) {
  if (server.name.startsWith('api:')) return checkApi(server);
  if (server.name.startsWith('logout:')) return checkLogout(server);
  if (server.name.startsWith('cc:')) return checkClientCredentials(server, alg);
  if (server.name.startsWith('introspect:')) return checkIntrospection(server);
  if (server.name.startsWith('refresh:')) return checkRefresh(server, alg);
  const [issued] = await server.call('issue', { count: 1 });
  const form = typeof issued === 'string' ? issued : issued.body;
  const authorization =
    typeof issued === 'string' ? {} : issued.authorization === undefined ? {} : { authorization: issued.authorization };
  if (typeof issued !== 'string' && issued.dpop !== undefined) authorization.dpop = issued.dpop;
  const jwks = createLocalJWKSet(await server.call('jwks'));
  const post = () =>
    fetch(`http://127.0.0.1:${server.port}${TOKEN_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...authorization },
      body: form,
    });
  const response = await post();
  if (response.status !== 200) throw new Error(`${server.name}: a fresh code got ${response.status}`);
  const body = await response.json();
  const clientId = new URLSearchParams(form).get('client_id');
  // RFC 9449 §5: a DPoP target's access token is bound to its proof's key.
  if ((authorization.dpop !== undefined) !== (body.token_type === 'DPoP')) {
    throw new Error(`${server.name}: token_type ${body.token_type}`);
  }
  for (const token of [body.access_token, body.id_token]) {
    const { protectedHeader } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: clientId, algorithms: [alg] });
    if (protectedHeader.typ !== 'JWT') throw new Error(`${server.name}: typ is ${protectedHeader.typ}`);
  }
  const replay = await post();
  if (replay.status === 200) throw new Error(`${server.name}: a code was redeemed twice`);
  await replay.arrayBuffer();
}

/**
 * Before measuring a refresh target: its token gets 200 with tokens that verify; presented again,
 * a strict rotation's token is reuse (400), and a grace token (rotated once already) is reissued
 * once more (200), then is reuse past the count.
 */
async function checkRefresh(server, alg) {
  const [body] = await server.call('tokens', { count: 1 });
  const jwks = createLocalJWKSet(await server.call('jwks'));
  const post = () =>
    fetch(`http://127.0.0.1:${server.port}${TOKEN_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
  const response = await post();
  if (response.status !== 200) throw new Error(`${server.name}: a refresh got ${response.status}`);
  const answer = await response.json();
  const clientId = new URLSearchParams(body).get('client_id');
  await jwtVerify(answer.access_token, jwks, { issuer: ISSUER, audience: clientId, algorithms: [alg] });
  const expected = server.name === 'refresh:grace' ? [200, 400] : [400];
  for (const status of expected) {
    const again = await post();
    if (again.status !== status) throw new Error(`${server.name}: the token presented again got ${again.status}`);
    await again.arrayBuffer();
  }
}

/** Before measuring a cc target: its token verifies with sub = the client; a wrong secret gets 401. */
async function checkClientCredentials(server, alg) {
  const post = (authorization) =>
    fetch(`http://127.0.0.1:${server.port}${TOKEN_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      body: CC_BODY,
    });
  const response = await post(CC_AUTHORIZATION);
  if (response.status !== 200) throw new Error(`${server.name}: the machine client got ${response.status}`);
  const body = await response.json();
  const jwks = createLocalJWKSet(await server.call('jwks'));
  const { payload } = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, algorithms: [alg] });
  if (payload.sub !== CC_CLIENT_ID || body.refresh_token !== undefined) {
    throw new Error(`${server.name}: the token is not for the client alone`);
  }
  const wrong = await post(`Basic ${Buffer.from(`${CC_CLIENT_ID}:wrong`).toString('base64')}`);
  if (wrong.status !== 401) throw new Error(`${server.name}: a wrong secret got ${wrong.status}`);
  await wrong.arrayBuffer();
}

/** Before measuring an introspect target: its own token is active; a broken one is not. */
async function checkIntrospection(server) {
  const [token] = await server.call('tokens', { count: 1 });
  const post = async (body) => {
    const response = await fetch(`http://127.0.0.1:${server.port}${INTROSPECTION_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: CC_AUTHORIZATION },
      body,
    });
    if (response.status !== 200) throw new Error(`${server.name}: introspection answered ${response.status}`);
    return response.json();
  };
  const live = await post(`token=${token}`);
  if (live.active !== true || live.sub !== CC_CLIENT_ID) throw new Error(`${server.name}: a fresh token is not active`);
  const broken = await post(`token=${token.slice(0, -4)}AAAA`);
  if (broken.active !== false) throw new Error(`${server.name}: a token with a broken signature is active`);
}

/** Before measuring a logout target: its own ID token gets 303 with the state; a broken one gets 400. */
async function checkLogout(server) {
  const [path] = await server.call('tokens', { count: 1 });
  const get = (target) => fetch(`http://127.0.0.1:${server.port}${target}`, { redirect: 'manual' });
  const ok = await get(path);
  const state = new URL(path, 'http://x').searchParams.get('state');
  if (ok.status !== 303 || !ok.headers.get('location')?.endsWith(`state=${state}`)) {
    throw new Error(`${server.name}: a fresh ID token got ${ok.status} ${ok.headers.get('location')}`);
  }
  await ok.arrayBuffer();
  const url = new URL(path, 'http://x');
  url.searchParams.set('id_token_hint', `${url.searchParams.get('id_token_hint').slice(0, -4)}AAAA`);
  const broken = await get(`${url.pathname}${url.search}`);
  if (broken.status !== 400)
    throw new Error(`${server.name}: an ID token with a broken signature got ${broken.status}`);
  await broken.arrayBuffer();
}

/** Before measuring an api target: its own token passes (200), a token with a broken signature gets 401. */
async function checkApi(server) {
  const [token] = await server.call('tokens', { count: 1 });
  const get = (bearer) =>
    fetch(`http://127.0.0.1:${server.port}${API_PATH}`, { headers: { authorization: `Bearer ${bearer}` } });
  const ok = await get(token);
  if (ok.status !== 200) throw new Error(`${server.name}: a fresh token got ${ok.status}`);
  await ok.arrayBuffer();
  const broken = await get(`${token.slice(0, -4)}AAAA`);
  if (broken.status !== 401) throw new Error(`${server.name}: a token with a broken signature got ${broken.status}`);
  await broken.arrayBuffer();
}

function machine() {
  const [first] = cpus();
  return {
    cpus: cpus().length,
    cpuModel: first?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadAtStart.map((load) => Number(load.toFixed(2))),
    loadAverageAtEnd: loadavg().map((load) => Number(load.toFixed(2))),
  };
}

function printReport({ machine: host, settings: used, skippedStores: skipped, wallSeconds, results: all }) {
  const line = (cells, widths) => cells.map((cell, index) => String(cell).padStart(widths[index])).join('  ');
  console.log(`\n${host.cpus} × ${host.cpuModel}, ${host.memoryGiB} GiB, Node ${host.node}, ${host.platform}`);
  console.log(
    `load average ${host.loadAverageAtStart.join(' ')} at the start, ${host.loadAverageAtEnd.join(' ')} at the end (this run included)`,
  );
  console.log(
    `${used.rounds} rounds of ~${used.roundSeconds} s per target, ${used.connections} connections; medians over rounds; the run took ${wallSeconds} s`,
  );
  for (const [name, reason] of Object.entries(skipped)) console.log(`store ${name} skipped: ${reason}`);
  for (const result of all) {
    console.log(`\n${result.alg}`);
    const widths = [16, 9, 9, 9, 8, 12, 10];
    console.log(line(['target', 'req/s', 'p50 ms', 'p99 ms', 'non-200', 'CPU ms/req', 'loop busy'], widths));
    for (const [name, stats] of Object.entries(result.targets)) {
      console.log(
        line(
          [
            name,
            stats.rps.toFixed(0),
            stats.p50.toFixed(1),
            stats.p99.toFixed(1),
            stats.non200,
            stats.cpuMsPerRequest.toFixed(3),
            stats.loopBusy.toFixed(2),
          ],
          widths,
        ),
      );
    }
    for (const comparison of result.comparisons) {
      console.log(
        `  ${comparison.target} / ${comparison.baseline}: ${comparison.ratio.toFixed(3)} ` +
          `(rounds ${comparison.minRatio.toFixed(3)}–${comparison.maxRatio.toFixed(3)}; CPU ${comparison.cpuRatio.toFixed(3)}) ` +
          `target ≥ ${comparison.minimum.toFixed(2)}: ${comparison.met ? 'met' : 'NOT MET'}`,
      );
    }
  }
}

/** Build dist/ when it is missing or older than a source file, so the bench never runs stale code. */
function ensureBuilt() {
  const built = join(ROOT, 'dist/index.js');
  const newest = (dir) =>
    Math.max(
      ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
        entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs,
      ),
    );
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(ROOT, 'lib'))) return;
  log('building dist/ (npm run build) ...');
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    {
      stdio: ['ignore', 2, 2],
    },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}
