import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import {
  type AuthorizationCodeStore,
  createTokenRouter,
  issueAuthorizationCode,
  type RefreshTokenStore,
  type TokenRouterEvent,
} from '../../lib/index.js';
import { CLIENT_ID, ISSUER, pkcePair, REDIRECT_URI, refreshForm, sharedKeyStore } from './helpers.js';

/* A token endpoint with a rotation grace window (docs/refresh.md "The grace window"), for its HTTP tests. */

export interface GraceStores {
  codeStore: AuthorizationCodeStore;
  refreshTokenStore: RefreshTokenStore;
  cleanup(): Promise<void> | void;
}

/** The router's clock: real time plus what a test adds, to step past the window without waiting. */
export class Clock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
}

/** The token endpoint on `stores`, listening, with the window given and every event kept. */
export async function graceServer(stores: GraceStores, refreshTokenReuseInterval: number) {
  const clock = new Clock();
  const events: TokenRouterEvent[] = [];
  const app = express().use(
    createTokenRouter({
      issuer: ISSUER,
      codeStore: stores.codeStore,
      refreshTokenStore: stores.refreshTokenStore,
      keyStore: await sharedKeyStore(),
      clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
      refreshTokenReuseInterval,
      now: clock.now,
      onEvent: (event) => {
        events.push(event);
      },
    }),
  );
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const agent = request(server);
  const post = (form: Record<string, string>) => agent.post('/oauth2/token').type('form').send(form);
  return {
    clock,
    events,
    post,
    refresh: (token: string) => post(refreshForm(token)),
    /** A code exchanged: the family's first refresh token. */
    async signIn(): Promise<string> {
      const { verifier, challenge } = pkcePair();
      const code = await issueAuthorizationCode(stores.codeStore, {
        clientId: CLIENT_ID,
        redirectUri: REDIRECT_URI,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        subject: 'user-two-tabs',
        scope: ['openid'],
      });
      const res = await post({
        client_id: CLIENT_ID,
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      });
      expect(res.status).toBe(200);
      return res.body.refresh_token as string;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type GraceServer = Awaited<ReturnType<typeof graceServer>>;

/** The `refresh_rotated` events, and whether each was a grace reissue. */
export function rotations(events: readonly TokenRouterEvent[]): (true | undefined)[] {
  return events.flatMap((event) => (event.type === 'refresh_rotated' ? [event.graceReissue] : []));
}
