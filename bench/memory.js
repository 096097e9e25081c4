// npm run bench -- --memory [--codes N] [--json]      (runs as: node --expose-gc bench/memory.js)
//
// Memory stays flat: on a MemoryCodeStore with an injected clock, N codes are issued and redeemed
// and N more issued and never redeemed, at a steady simulated rate; the store's sweep runs every
// 60 simulated seconds, as its timer would. Once every code has expired and been swept, the heap
// (after a full GC) must be back within 50 MB of where it started. Then, for scale, what a held
// refresh token costs on a MemoryRefreshTokenStore (the router saves one a token response).
import { parseArgs } from 'node:util';
import { familyIdFor, hashSecret, REFRESH_TOKEN_BYTES, randomSecret } from '../dist/crypto/secrets.js';
import { issueAuthorizationCode, MemoryCodeStore, MemoryRefreshTokenStore } from '../dist/index.js';

const { values: flags } = parseArgs({
  options: { codes: { type: 'string', default: '1000000' }, json: { type: 'boolean', default: false } },
  strict: false,
});
const CODES = Number(flags.codes);
/** Issued per simulated second: a busy authorization server. */
const RATE = 1000;
/** A code is redeemed this long after it was issued (simulated ms). */
const REDEEM_AFTER_MS = 5_000;
const SWEEP_INTERVAL_MS = 60_000;
const CODE_TTL_S = 600;
const LIMIT_BYTES = 50 * 2 ** 20;

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (npm run bench -- --memory does)');
  process.exit(2);
}
const log = (line) => process.stderr.write(`${line}\n`);
const heapAfterGc = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

let clock = Date.UTC(2030, 0, 1);
const now = () => clock;
// The timer's own period is real time; the simulation calls sweep() on the simulated clock instead.
const store = new MemoryCodeStore({ now, sweepIntervalMs: 2 ** 31 - 1 });
const grant = (index) => ({
  clientId: 'example-spa',
  redirectUri: 'https://app.example.com/callback',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  codeChallengeMethod: 'S256',
  subject: `user-${index}`,
  scope: ['openid'],
  nonce: `nonce-${index}`,
});

const startHeap = heapAfterGc();
let peakHeap = startHeap;
let peakEntries = 0;
let slowestSweepMs = 0;
let nextSweepAt = clock + SWEEP_INTERVAL_MS;
let redeemed = 0;
let bytesPerHeldCode = 0;
const toRedeem = []; // [dueAt, code]
const started = Date.now();

const sweepIfDue = () => {
  while (clock >= nextSweepAt) {
    peakEntries = Math.max(peakEntries, store.size);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    const sweepStarted = performance.now();
    store.sweep();
    slowestSweepMs = Math.max(slowestSweepMs, performance.now() - sweepStarted);
    nextSweepAt += SWEEP_INTERVAL_MS;
  }
};

for (let index = 0; index < 2 * CODES; index++) {
  clock += 1000 / RATE;
  const code = await issueAuthorizationCode(store, grant(index), { now, ttl: CODE_TTL_S });
  // Every other code is redeemed (REDEEM_AFTER_MS later); the rest are left to expire.
  if (index % 2 === 0) toRedeem.push([clock + REDEEM_AFTER_MS, code]);
  while (toRedeem.length > 0 && toRedeem[0][0] <= clock) {
    const [, due] = toRedeem.shift();
    const result = await store.redeem(hashSecret(due));
    if (result.outcome !== 'redeemed') throw new Error(`a fresh code was ${result.outcome}`);
    redeemed++;
  }
  sweepIfDue();
  // Halfway, in the steady state: what a held code costs once garbage is collected.
  if (index === CODES) bytesPerHeldCode = (heapAfterGc() - startHeap) / store.size;
  if (index % 200_000 === 0 && index > 0)
    log(`  ${index} codes issued, ${store.size} held, heap ${mb(process.memoryUsage().heapUsed)} MB`);
}
while (toRedeem.length > 0) {
  const [dueAt, code] = toRedeem.shift();
  clock = Math.max(clock, dueAt);
  if ((await store.redeem(hashSecret(code))).outcome !== 'redeemed') throw new Error('a fresh code was not redeemable');
  redeemed++;
}
// Let every code expire, and the sweep run (this last one drops everything; it is not counted
// in the slowest steady-state sweep).
const steadySlowestSweepMs = slowestSweepMs;
clock += (CODE_TTL_S + 1) * 1000 + SWEEP_INTERVAL_MS;
sweepIfDue();
const endHeap = heapAfterGc();
store.close();

/** Heap bytes a held refresh token costs, once garbage is collected: as the router saves them. */
async function bytesPerHeldRefreshToken(count) {
  const tokens = new MemoryRefreshTokenStore({ now, sweepIntervalMs: 2 ** 31 - 1 });
  const before = heapAfterGc();
  const iat = Math.floor(clock / 1000);
  for (let index = 0; index < count; index++) {
    const record = {
      clientId: 'example-spa',
      subject: `user-${index}`,
      scope: ['openid'],
      familyId: familyIdFor(hashSecret(randomSecret(32))),
      // The router's default lifetimes: a family 90 days, a token 30.
      familyExpiresAt: iat + 90 * 86_400,
      expiresAt: iat + 30 * 86_400,
    };
    await tokens.save(hashSecret(randomSecret(REFRESH_TOKEN_BYTES)), record, record.expiresAt);
  }
  const bytes = (heapAfterGc() - before) / count;
  tokens.close();
  return bytes;
}

const result = {
  bytesPerHeldRefreshToken: Math.round(await bytesPerHeldRefreshToken(100_000)),
  codesIssued: 2 * CODES,
  codesRedeemed: redeemed,
  simulatedSeconds: Math.round((2 * CODES) / RATE),
  peakEntries,
  bytesPerHeldCode: Math.round(bytesPerHeldCode),
  entriesLeft: store.size,
  startHeapMB: Number(mb(startHeap)),
  peakHeapMB: Number(mb(peakHeap)),
  endHeapMB: Number(mb(endHeap)),
  growthMB: Number(mb(endHeap - startHeap)),
  limitMB: LIMIT_BYTES / 2 ** 20,
  slowestSweepMs: Number(steadySlowestSweepMs.toFixed(1)),
  wallSeconds: Number(((Date.now() - started) / 1000).toFixed(1)),
  met: endHeap - startHeap <= LIMIT_BYTES && store.size === 0,
};
if (flags.json) {
  process.stdout.write(`${JSON.stringify({ memory: result }, null, 2)}\n`);
} else {
  console.log(
    `\nMemoryCodeStore: ${result.codesIssued} codes issued (${result.codesRedeemed} redeemed, the rest left to expire) ` +
      `over ${result.simulatedSeconds} simulated s at ${RATE}/s, sweep every ${SWEEP_INTERVAL_MS / 1000} s`,
  );
  console.log(
    `  held at most ${result.peakEntries} codes, ${result.bytesPerHeldCode} bytes of heap each; slowest sweep ${result.slowestSweepMs} ms; ${result.entriesLeft} left at the end`,
  );
  console.log(
    `  heap after GC: ${result.startHeapMB} MB at the start, ${result.endHeapMB} MB at the end ` +
      `(growth ${result.growthMB} MB, limit ${result.limitMB} MB; peak ${result.peakHeapMB} MB): ${result.met ? 'met' : 'NOT MET'}`,
  );
  console.log(
    `MemoryRefreshTokenStore: ${result.bytesPerHeldRefreshToken} bytes of heap a held refresh token (100000 saved)`,
  );
}
process.exitCode = result.met ? 0 : 1;
