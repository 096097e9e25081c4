import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BOUND_MS, type tokenServer } from './outage.js';

type TokenServer = Awaited<ReturnType<typeof tokenServer>>;

/**
 * A failover during a stream of token requests, on a real distributed deployment: a master (or
 * PgBouncer) goes away mid-stream and its replacement takes over. The scenario runs once per
 * deployment; each rule is then its own test over what it recorded.
 */

/** Token requests in flight at once, and the pause each sender takes between two of its requests. */
const SENDERS = 6;
const GAP_MS = 100;
/** Codes the stream may use, and the codes issued before the fault that it never sends. */
const STREAM_CODES = 1_200;
const RESERVE_CODES = 40;
/** Traffic before the fault, and the 200s in a row after the replacement that end the stream. */
const BEFORE_FAULT_MS = 1_000;
const CALM_AFTER_MS = 2_000;
/** The longest the stream runs after the replacement, and at all: every loop here is bounded. */
export const RECOVERY_LIMIT_MS = 10_000;
const STREAM_LIMIT_MS = 60_000;

const execFileAsync = promisify(execFile);
const SERVICES = fileURLToPath(new URL('../../.ci/services/', import.meta.url));

/** Run `.ci/services/{script} {command}` (the environment of `.ci/run` names the temp dir and ports). */
export async function service(script: string, command: string): Promise<void> {
  await execFileAsync('bash', [`${SERVICES}${script}`, command], { timeout: 90_000 });
}

/**
 * Poll `condition` every 100 ms until it holds, or fail after `ms`: a state to wait for, not a
 * race. Resolves to when the last check that saw it not hold began (performance.now()): up to
 * then, it surely did not hold.
 */
export async function waitFor(what: string, ms: number, condition: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + ms;
  let notYet = performance.now();
  while (performance.now() < deadline) {
    const checked = performance.now();
    if (await condition().catch(() => false)) return notYet;
    notYet = checked;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** The key hash of a code, as the stores keep it (docs/stores.md: `{prefix}code:{code hash}`). */
export const codeHash = (code: string) => createHash('sha256').update(code).digest('base64url');

/** What goes wrong, and how the deployment gets over it. */
export interface Fault {
  /** For the figures: "Redis Cluster", … */
  deployment: string;
  /** Called once the codes are issued, before any traffic: pick the victim. */
  prepare(forms: readonly Record<string, string>[]): Promise<void>;
  /** Take the server away; resolves once it is gone (its port refuses connections). */
  inject(): Promise<void>;
  /**
   * Resolves once the replacement serves (a promoted replica, or PgBouncer started again), to the
   * last moment (performance.now()) it surely did not yet: the end of the outage for the rules.
   */
  replaced(): Promise<number>;
  /** Whether a token request for this code needs the server that went away (a Cluster: only the master of its slot). */
  needsVictim(form: Record<string, string>): boolean;
}

export interface StreamAnswer {
  form: Record<string, string>;
  status: number;
  error: string | undefined;
  /** From the start of the stream, in ms. */
  started: number;
  ended: number;
}

export interface FailoverRecord {
  answers: StreamAnswer[];
  /**
   * When the server was gone, the last moment it surely had no replacement, and when the
   * replacement was seen serving (ms from the stream's start).
   */
  down: number;
  stillDown: number;
  replacedAt: number;
  /** The status of each 503'd code's retry after recovery, and of each replay of a redeemed code. */
  retriesOf503: { form: Record<string, string>; status: number }[];
  replays: { status: number }[];
  /** The codes issued before the fault and never sent in the stream: their first redeem after recovery, then a replay. */
  reserve: { first: number; replay: number }[];
}

async function post(
  server: TokenServer,
  form: Record<string, string>,
): Promise<{ status: number; error: string | undefined }> {
  const res = await server.agent.post('/oauth2/token').type('form').send(form);
  return { status: res.status, error: (res.body as { error?: string }).error };
}

/** The stream, the fault and the replacement, then the checks after recovery: all recorded, nothing asserted. */
export async function runFailover(server: TokenServer, fault: Fault): Promise<FailoverRecord> {
  const forms = await server.issue(STREAM_CODES + RESERVE_CODES);
  const stream = forms.slice(0, STREAM_CODES);
  const reserveForms = forms.slice(STREAM_CODES);
  await fault.prepare(forms);

  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const answers: StreamAnswer[] = [];
  let next = 0;
  let stop = false;
  const sender = async () => {
    while (!stop && next < stream.length && now() < STREAM_LIMIT_MS) {
      const form = stream[next++]!;
      const started = now();
      const { status, error } = await post(server, form);
      answers.push({ form, status, error, started, ended: now() });
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    }
  };
  const senders = Array.from({ length: SENDERS }, sender);

  let down = Number.NaN;
  let stillDown = Number.NaN;
  let replacedAt = Number.NaN;
  try {
    await new Promise((resolve) => setTimeout(resolve, BEFORE_FAULT_MS));
    await fault.inject();
    down = now();
    stillDown = (await fault.replaced()) - t0;
    replacedAt = now();
    // Until CALM_AFTER_MS of nothing but 200s after the replacement, at most RECOVERY_LIMIT_MS + CALM_AFTER_MS.
    const calm = () => {
      const lastBad = Math.max(replacedAt, ...answers.filter((a) => a.status !== 200).map((a) => a.ended));
      return answers.some((a) => a.started > lastBad && a.status === 200) && now() - lastBad >= CALM_AFTER_MS;
    };
    while (!calm() && now() < replacedAt + RECOVERY_LIMIT_MS + CALM_AFTER_MS && next < stream.length) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    stop = true;
    await Promise.all(senders);
  }

  // After recovery: a code that got 503 must still redeem; a redeemed code must never redeem again.
  const retriesOf503: FailoverRecord['retriesOf503'] = [];
  for (const answer of answers.filter((a) => a.status === 503)) {
    retriesOf503.push({ form: answer.form, status: (await post(server, answer.form)).status });
  }
  const replays: FailoverRecord['replays'] = [];
  const redeemed = [
    ...answers.filter((a) => a.status === 200).map((a) => a.form),
    ...retriesOf503.filter((r) => r.status === 200).map((r) => r.form),
  ];
  for (const form of redeemed) replays.push({ status: (await post(server, form)).status });
  const reserve: FailoverRecord['reserve'] = [];
  for (const form of reserveForms) {
    const first = (await post(server, form)).status;
    reserve.push({ first, replay: (await post(server, form)).status });
  }
  return { answers, down, stillDown, replacedAt, retriesOf503, replays, reserve };
}

/** The answers of requests that needed the victim and ran entirely while it was down, before any replacement. */
export function whileDown(record: FailoverRecord, fault: Fault): StreamAnswer[] {
  return record.answers.filter(
    (a) => a.started >= record.down && a.ended <= record.stillDown && fault.needsVictim(a.form),
  );
}

/**
 * How long after the replacement the 200s came back for good: from the last moment there surely
 * was no replacement yet (so the figure errs long) to the start of the first request after which
 * every answer was 200 (Infinity if they never did).
 */
export function recoveryMs(record: FailoverRecord): number {
  const byStart = [...record.answers].sort((a, b) => a.started - b.started);
  const lastBad = byStart.map((a) => a.status !== 200).lastIndexOf(true);
  const firstGood = byStart[lastBad + 1];
  if (firstGood === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(0, firstGood.started - record.stillDown);
}

/** The figures the lead quotes: 503s, their latency, time to recovery, codes spent by a 503. */
export function figures(record: FailoverRecord, fault: Fault): Record<string, unknown> {
  const unavailable = record.answers.filter((a) => a.status === 503);
  const latencies = unavailable.map((a) => a.ended - a.started);
  const statuses: Record<string, number> = {};
  for (const answer of record.answers) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
  return {
    deployment: fault.deployment,
    requests: record.answers.length,
    statuses,
    '503s': unavailable.length,
    'max 503 ms': Math.round(Math.max(0, ...latencies)),
    'median 503 ms': Math.round([...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)] ?? 0),
    'requests that needed it while down': whileDown(record, fault).length,
    '200s while down': record.answers.filter(
      (a) => a.started >= record.down && a.ended <= record.stillDown && a.status === 200,
    ).length,
    'down to replaced ms': Math.round(record.stillDown - record.down),
    'recovery after replacement ms': Math.round(recoveryMs(record)),
    'codes spent by a 503': record.retriesOf503.filter((r) => r.status !== 200).length,
    'replays redeemed': record.replays.filter((r) => r.status === 200).length,
    replays: record.replays.length,
    'reserve codes not redeemed once': record.reserve.filter((r) => r.first !== 200 || r.replay === 200).length,
    reserve: record.reserve.length,
    bound503ms: BOUND_MS,
  };
}
