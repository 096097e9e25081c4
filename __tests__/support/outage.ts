import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import {
  type AuthorizationCodeStore,
  createTokenRouter,
  issueAuthorizationCode,
  type RefreshTokenStore,
  type TokenRouterOptions,
} from '../../lib/index.js';
import { CLIENT_ID, ISSUER, pkcePair, REDIRECT_URI, sharedKeyStore } from './helpers.js';
import type { TcpProxy } from './tcp-proxy.js';

/** The adapters' `timeoutMs` in these tests. */
export const STORE_TIMEOUT_MS = 1_000;
/** What "within a bounded time" means here: the adapter's timeout plus a second for a loaded machine. */
export const BOUND_MS = STORE_TIMEOUT_MS + 1_000;
/** How many token requests each outage case sends at once. */
const CONCURRENT = 20;

/** A token endpoint on given stores, listening on a free port; `options` adds router options (`dpop`). */
export async function tokenServer(
  codeStore: AuthorizationCodeStore,
  refreshTokenStore: RefreshTokenStore,
  options: Partial<TokenRouterOptions> = {},
) {
  const app = express().use(
    createTokenRouter({
      issuer: ISSUER,
      codeStore,
      refreshTokenStore,
      keyStore: await sharedKeyStore(),
      clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
      ...options,
    }),
  );
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    agent: request(server),
    /** Issue `count` codes (the store must be up), each with the form that redeems it. */
    async issue(count: number): Promise<Record<string, string>[]> {
      return Promise.all(
        Array.from({ length: count }, async () => {
          const { verifier, challenge } = pkcePair();
          const code = await issueAuthorizationCode(codeStore, {
            clientId: CLIENT_ID,
            redirectUri: REDIRECT_URI,
            codeChallenge: challenge,
            codeChallengeMethod: 'S256',
            subject: 'user-outage',
            scope: ['openid'],
          });
          return {
            client_id: CLIENT_ID,
            grant_type: 'authorization_code',
            code,
            redirect_uri: REDIRECT_URI,
            code_verifier: verifier,
          };
        }),
      );
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface TimedAnswer {
  status: number;
  body: unknown;
  text: string;
  headers: Record<string, string>;
  ms: number;
}

/** POST every form at once; each answer with how long it took. */
export function redeemAll(
  agent: request.Agent | ReturnType<typeof request>,
  forms: readonly Record<string, string>[],
): Promise<TimedAnswer[]> {
  return Promise.all(
    forms.map(async (form) => {
      const started = performance.now();
      const res = await agent.post('/oauth2/token').type('form').send(form);
      return {
        status: res.status,
        body: res.body as unknown,
        text: res.text,
        headers: res.headers as Record<string, string>,
        ms: performance.now() - started,
      };
    }),
  );
}

/** Retry one form until it gets 200 or `deadlineMs` passes: the store coming back on its own. */
export async function untilRedeemed(
  agent: request.Agent | ReturnType<typeof request>,
  form: Record<string, string>,
  deadlineMs: number,
): Promise<{ status: number; ms: number; attempts: number }> {
  const started = performance.now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const res = await agent.post('/oauth2/token').type('form').send(form);
    const ms = performance.now() - started;
    if (res.status !== 503 || ms > deadlineMs) return { status: res.status, ms, attempts };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The answers of an outage: 503 temporarily_unavailable, each within the bound, no internals, no secrets. */
export function expectCleanOutage(
  answers: readonly TimedAnswer[],
  forms: readonly Record<string, string>[],
  internals: readonly string[],
): void {
  for (const answer of answers) {
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.ms).toBeLessThan(BOUND_MS);
    for (const internal of internals) expect(answer.text).not.toContain(internal);
    for (const form of forms) {
      expect(answer.text).not.toContain(form.code);
      expect(answer.text).not.toContain(form.code_verifier);
    }
  }
}

/** "n requests: 503 in 3–12 ms (max 12 ms)", for the log. */
export function describeTimes(answers: readonly TimedAnswer[]): string {
  const times = answers.map((answer) => answer.ms).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  return `${times.length} requests: ${answers.map((a) => a.status).filter((s) => s === 503).length}× 503, median ${median.toFixed(0)} ms, max ${(times.at(-1) ?? 0).toFixed(0)} ms`;
}

type TokenServer = Awaited<ReturnType<typeof tokenServer>>;

/** What the outage cases need of one shared store: its server, reached through a proxy the test controls. */
export interface OutageSubject {
  /** For the log: "Redis", "PostgreSQL". */
  name: string;
  /** The token server on stores that reach the store's server through `proxy()`. */
  server(): TokenServer;
  proxy(): TcpProxy;
  /** Commands waiting in the client for the server to come back: none may pile up through an outage. */
  queued(): number;
  /** What an answer must not show of each case's failure (the proxy's port is added here). */
  internals: { cut: readonly string[]; stall: readonly string[]; closed: readonly string[] };
  /** A token server on stores whose server is at a closed port from the start. */
  serverAtClosedPort(): Promise<{ agent: TokenServer['agent']; close(): Promise<void> }>;
}

/** The outage cases every shared store must pass: cut, hung, and never there. */
export function outageCases(subject: OutageSubject): void {
  const { name } = subject;

  it('the server stopped mid-run: 503 temporarily_unavailable at once, no queue, then the same codes redeem once it is back', async () => {
    const server = subject.server();
    const proxy = subject.proxy();
    const [warmUp, ...forms] = await server.issue(CONCURRENT + 1);
    expect((await server.agent.post('/oauth2/token').type('form').send(warmUp!)).status).toBe(200);

    await proxy.cut();
    const answers = await redeemAll(server.agent, forms);
    expectCleanOutage(answers, forms, [...subject.internals.cut, String(proxy.port)]);
    expect(subject.queued()).toBe(0);
    console.info(`${name} stopped mid-run: ${describeTimes(answers)}`);

    await proxy.restore();
    const recovered = await untilRedeemed(server.agent, forms[0]!, 15_000);
    expect(recovered.status).toBe(200);
    console.info(`${name} back: first 200 after ${recovered.ms.toFixed(0)} ms (${recovered.attempts} attempts)`);
    // The outage spent no code: every request that got 503 can be retried.
    const retried = await redeemAll(server.agent, forms.slice(1));
    expect(retried.map((answer) => answer.status)).toEqual(forms.slice(1).map(() => 200));
  }, 30_000);

  it('the server hung (taking connections, never answering): 503 within the bound, then recovery', async () => {
    const server = subject.server();
    const proxy = subject.proxy();
    const forms = await server.issue(CONCURRENT);
    proxy.stall();
    const answers = await redeemAll(server.agent, forms);
    expectCleanOutage(answers, forms, [...subject.internals.stall, String(proxy.port)]);
    console.info(`${name} hung: ${describeTimes(answers)}`);

    await proxy.restore();
    const recovered = await untilRedeemed(server.agent, forms[0]!, 15_000);
    expect(recovered.status).toBe(200);
    console.info(
      `${name} back from a hang: first 200 after ${recovered.ms.toFixed(0)} ms (${recovered.attempts} attempts)`,
    );
    expect(subject.queued()).toBe(0);
  }, 30_000);

  it('a closed port from the start: the router still starts, and answers 503 within the bound', async () => {
    const lonely = await subject.serverAtClosedPort();
    try {
      // Codes can be issued only where the store is up: these are valid elsewhere, unknown here.
      const forms = await subject.server().issue(CONCURRENT);
      const answers = await redeemAll(lonely.agent, forms);
      expectCleanOutage(answers, forms, subject.internals.closed);
      console.info(`${name} port closed: ${describeTimes(answers)}`);
    } finally {
      await lonely.close();
    }
  }, 30_000);
}
