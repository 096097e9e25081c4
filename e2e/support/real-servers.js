import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The e2e suites' gate for real servers, the JavaScript twin of __tests__/support/services.ts:
 * skipped with a message on a laptop without the server's URL, failed under `CI=true`, and a
 * marker in `$PKCE_SUITE_MARKERS` once the suite ran, which `.ci/run` requires.
 */

/** The real servers, when the environment names them (`.ci/run` always does). */
export const REDIS_URL = process.env.REDIS_URL;
export const DATABASE_URL = process.env.DATABASE_URL;

/**
 * The major version of the express the example app imports. The e2e config maps no `express4`,
 * so it is the package's own devDependency (5); the marker says which one really ran.
 */
export const EXPRESS_MAJOR = Number(createRequire(import.meta.url)('express/package.json').version.split('.')[0]);

/**
 * A describe block that needs a real server (`{ name, variable, url }`). Without its URL: on a
 * laptop the block is skipped with a message saying how to run it; under `CI=true` it fails, since
 * CI must run it. Once its tests have run it leaves `<marker>.express<major>` in
 * `$PKCE_SUITE_MARKERS`.
 */
export function describeWithServer(server, marker, title, body) {
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

function leaveMarker(marker) {
  const directory = process.env.PKCE_SUITE_MARKERS;
  if (directory === undefined || directory === '') return;
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, `${marker}.express${EXPRESS_MAJOR}`), `${new Date().toISOString()}\n`);
}
