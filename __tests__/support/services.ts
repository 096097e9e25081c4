import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

declare const EXPRESS_MAJOR: 4 | 5;

/** The real servers, when the environment names them (`.ci/run` always does). */
export const REDIS_URL = process.env.REDIS_URL;
export const DATABASE_URL = process.env.DATABASE_URL;
/** The distributed deployments `.ci/run` starts with `.ci/services/` (docs/development.md). */
export const REDIS_CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES;
export const REDIS_SENTINELS = process.env.REDIS_SENTINELS;
export const REDIS_SENTINEL_NAME = process.env.REDIS_SENTINEL_NAME || 'pkce';
export const PGBOUNCER_URL = process.env.PGBOUNCER_URL;

/** A real server (or deployment) a suite needs, and the variable that names it. */
export interface ServerSpec {
  name: 'Redis' | 'PostgreSQL' | 'Redis Cluster' | 'Redis Sentinel' | 'PgBouncer';
  variable: 'REDIS_URL' | 'DATABASE_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS' | 'PGBOUNCER_URL';
  url: string | undefined;
}

/** A name no other run, engineer or test on the same server uses. */
export function uniqueName(stem: string): string {
  return `${stem}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * A describe block that needs a real server. Without its URL: on a laptop, the block is skipped
 * with a message saying how to run it; under `CI=true` it fails, since CI must run it. Once its
 * tests have run, it leaves a marker file in `$PKCE_SUITE_MARKERS` (set by `.ci/run`), so CI can
 * tell that the suite really ran.
 */
export function describeWithServer(
  server: ServerSpec,
  marker: string,
  title: string,
  body: (url: string) => void,
): void {
  const { url } = server;
  if (url !== undefined && url !== '') {
    describe(title, () => {
      body(url);
      afterAll(() => leaveMarker(marker));
    });
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it(`needs ${server.variable}: CI runs this suite against a real ${server.name}`, () => {
        throw new Error(`${server.variable} is not set; .ci/run sets it`);
      });
    });
    return;
  }
  console.warn(
    `pkce-token-router: "${title}" skipped: set ${server.variable} to run it against a real ${server.name}.`,
  );
  describe(`${title} [skipped: set ${server.variable} to run it against a real ${server.name}]`, () => {
    it.skip(`runs against a real ${server.name}`, () => undefined);
  });
}

/**
 * Figures a suite measured (a failover's 503 count, latencies, time to recovery…): printed, and
 * written to `$PKCE_SUITE_MARKERS/figures/{name}.json`, which `.ci/run` prints at the end.
 */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  console.info(`${name}: ${JSON.stringify(figures)}`);
  const directory = process.env.PKCE_SUITE_MARKERS;
  if (directory === undefined || directory === '') return;
  mkdirSync(join(directory, 'figures'), { recursive: true });
  writeFileSync(join(directory, 'figures', `${name}.json`), `${JSON.stringify(figures, null, 2)}\n`);
}

function leaveMarker(marker: string): void {
  const directory = process.env.PKCE_SUITE_MARKERS;
  if (directory === undefined || directory === '') return;
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, `${marker}.express${EXPRESS_MAJOR}`), `${new Date().toISOString()}\n`);
}

/** Wait for an event, or fail after `ms`: for waiting on a reconnect instead of sleeping. */
export function once(
  emitter: { once(event: string, listener: () => void): unknown; off?(event: string, listener: () => void): unknown },
  event: string,
  ms: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    emitter.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
