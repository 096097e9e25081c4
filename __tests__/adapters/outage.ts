import express from 'express';
import type { Server } from 'node:http';
import request from 'supertest';
import {
  createTokenRouter,
  issueAuthorizationCode,
  type AuthorizationCodeStore,
  type RefreshTokenStore,
} from '../../lib/index.js';
import { CLIENT_ID, ISSUER, pkcePair, REDIRECT_URI, sharedKeyStore } from '../helpers.js';

/** The adapters' `timeoutMs` in these tests. */
export const STORE_TIMEOUT_MS = 1_000;
/** What "within a bounded time" means here: the adapter's timeout plus a second for a loaded machine. */
export const BOUND_MS = STORE_TIMEOUT_MS + 1_000;

/** A token endpoint on given stores, listening on a free port. */
export async function tokenServer(codeStore: AuthorizationCodeStore, refreshTokenStore: RefreshTokenStore) {
  const app = express().use(
    createTokenRouter({
      issuer: ISSUER,
      codeStore,
      refreshTokenStore,
      keyStore: await sharedKeyStore(),
      clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
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
          return { client_id: CLIENT_ID, grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
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
export function redeemAll(agent: request.Agent | ReturnType<typeof request>, forms: readonly Record<string, string>[]): Promise<TimedAnswer[]> {
  return Promise.all(
    forms.map(async (form) => {
      const started = performance.now();
      const res = await agent.post('/oauth2/token').type('form').send(form);
      return { status: res.status, body: res.body as unknown, text: res.text, headers: res.headers as Record<string, string>, ms: performance.now() - started };
    }),
  );
}

/** Retry one form until it gets 200 or `deadlineMs` passes: the store coming back on its own. */
export async function untilRedeemed(agent: request.Agent | ReturnType<typeof request>, form: Record<string, string>, deadlineMs: number): Promise<{ status: number; ms: number; attempts: number }> {
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
export function expectCleanOutage(answers: readonly TimedAnswer[], forms: readonly Record<string, string>[], internals: readonly string[]): void {
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
