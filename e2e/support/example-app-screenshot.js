/**
 * Remakes docs/example-app.png, the README's picture of the demo SPA signed in: the example app
 * at http://localhost:3000 (as `npm start` serves it), alice signed in through the host's page,
 * in Debian's Chromium. Run after `npm run build`: `node e2e/support/example-app-screenshot.js`.
 */
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createExampleApp } from '../../example-app/app.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

const PORT = 3000;
const OUTPUT = fileURLToPath(new URL('../../docs/example-app.png', import.meta.url));

const issuer = `http://localhost:${PORT}`;
const example = await createExampleApp({ issuer });
const server = example.app.listen(PORT, '127.0.0.1');
await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 820, height: 700 } });
  page.setDefaultTimeout(15_000);
  await page.goto(`${issuer}/spa/`);
  await page.locator('#sign-in').click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize?`));
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('alice-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#sign-out').waitFor({ state: 'visible' });
  await page.screenshot({ path: OUTPUT, fullPage: true });
  console.log(`wrote ${OUTPUT}`);
} finally {
  await browser.close();
  server.closeAllConnections();
  server.close();
  example.close();
}
