import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { closedPort } from './tcp-proxy.js';

const SERVER = fileURLToPath(new URL('../../example-app/server.js', import.meta.url));

/** The one client of these tests, given to every instance through CLIENTS. */
export const CLIENT_ID = 'multi-instance-app';
export const REDIRECT_URI = 'https://app.example.com/callback';
/** What a load balancer in front of the instances would be called: the same for all of them. */
export const ISSUER = 'http://localhost:8080';

/** A private JWKS (ES256: quick to make) for SIGNING_JWKS, so every instance signs alike. */
export async function signingJwks(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return JSON.stringify({
    keys: [{ ...(await exportJWK(privateKey)), kid: `multi-${randomBytes(4).toString('hex')}`, alg: 'ES256' }],
  });
}

export interface Instance {
  url: string;
  /** What the process wrote to stderr (store status lines, start-up errors). */
  stderr: string[];
  stop(): Promise<void>;
}

/**
 * `node example-app/server.js` as its own process, configured only through the environment; or
 * another script that starts the example app the same way (deployment-server.js).
 */
export async function startInstance(env: Record<string, string>, script: string = SERVER): Promise<Instance> {
  const port = await closedPort();
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: { ...process.env, ...env, PORT: String(port), ISSUER },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const started = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('pkce-token-router example listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the example app exited (${code}): ${stderr.join(' | ')}`)));
  });
  const timeout = setTimeout(() => child.kill(), 20_000);
  try {
    await started;
  } finally {
    clearTimeout(timeout);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A token-request form, and the verifier behind it. */
export type TokenForm = Record<'client_id' | 'grant_type' | 'code' | 'redirect_uri' | 'code_verifier', string>;

/**
 * Sign in at `instance` as a browser would (POST /login carrying the authorization request) and
 * follow nothing: the redirect back to the client carries the code. Resolves the form that
 * redeems it, or the status the host answered when it issued none.
 */
export async function authorizeAt(instance: Instance): Promise<{ form: TokenForm } | { status: number }> {
  const verifier = randomBytes(32).toString('base64url');
  const authorizeQuery = new URLSearchParams({
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const res = await fetch(`${instance.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'alice', password: 'alice-password', authorize_query: authorizeQuery }),
  });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 302 || location === null) return { status: res.status };
  const code = new URL(location).searchParams.get('code');
  if (code === null) return { status: res.status };
  return {
    form: {
      client_id: CLIENT_ID,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    },
  };
}

/** `authorizeAt`, for when the store is up and a code must come. */
export async function codeFrom(instance: Instance): Promise<TokenForm> {
  const result = await authorizeAt(instance);
  if (!('form' in result)) throw new Error(`no code from ${instance.url}: ${result.status}`);
  return result.form;
}

export async function postToken(
  instance: Instance,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${instance.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
