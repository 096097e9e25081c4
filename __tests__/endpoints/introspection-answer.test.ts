import { decodeJwt } from 'jose';
import { type RouterConfig, resolveOptions } from '../../lib/config/configuration.js';
import { introspectionVerifier, introspectToken } from '../../lib/endpoints/introspection-answer.js';
import { MemoryKeyStore, type RefreshTokenStore, type TokenRouterOptions } from '../../lib/index.js';
import { RequestError } from '../../lib/response/request-error.js';
import { unsecuredJwt } from '../support/access-tokens.js';
import { fakeClock } from '../support/fake-clock.js';
import { CLIENT_ID, type Harness, harness, ISSUER, postToken, refreshForm, signIn } from '../support/helpers.js';

/*
 * RFC 7662 §2.2: what the introspection endpoint answers for a token, before the endpoint's own
 * request handling (client authentication, the form) is applied.
 */

function configOf(h: Harness, extra: Partial<TokenRouterOptions> = {}): RouterConfig {
  return resolveOptions({
    issuer: ISSUER,
    codeStore: h.codeStore,
    keyStore: h.keyStore,
    refreshTokenStore: h.refreshTokenStore,
    ...extra,
  });
}

function introspect(config: RouterConfig, token: string) {
  return introspectToken(config, introspectionVerifier(config), token);
}

describe('introspection: the answer for a token (RFC 7662 §2.2)', () => {
  const clock = fakeClock();
  let h: Harness;
  let config: RouterConfig;
  beforeAll(async () => {
    h = await harness({ now: clock.now });
    config = configOf(h, { now: clock.now });
  });
  afterAll(() => h.close());

  it('RFC 7662 §2.2 "active … REQUIRED": an access token issued here is active, with scope as a space-separated string, client_id, token_type, exp, iat, nbf, sub, aud, iss and jti', async () => {
    const tokens = await signIn(h, { scope: ['openid', 'profile'] });
    const claims = decodeJwt(tokens.access_token!);
    expect(await introspect(config, tokens.access_token!)).toEqual({
      active: true,
      scope: 'openid profile',
      client_id: CLIENT_ID,
      token_type: 'Bearer',
      exp: claims.exp,
      iat: claims.iat,
      nbf: claims.nbf,
      sub: 'user-123',
      aud: CLIENT_ID,
      iss: ISSUER,
      jti: claims.jti,
    });
  });

  it('RFC 7662 §2.2: "the authorization server MUST return … {"active": false}" for an expired access token', async () => {
    const tokens = await signIn(h);
    clock.advanceTime(301_000);
    try {
      expect(await introspect(config, tokens.access_token!)).toEqual({ active: false });
    } finally {
      clock.advanceTime(-301_000);
    }
  });

  it('RFC 7662 §2.2: an access token whose refresh-token family was revoked is not active', async () => {
    const tokens = await signIn(h);
    const family = tokens.refresh_token!.slice(0, 43);
    await h.refreshTokenStore.revokeFamily(family);
    expect(await introspect(config, tokens.access_token!)).toEqual({ active: false });
  });

  it('RFC 7662 §2.2: a refresh token issued here is active, with scope, client_id, exp, sub and iss, and no token_type (RFC 6749 §5.1 types access tokens)', async () => {
    const tokens = await signIn(h, { scope: ['openid', 'offline_access'] });
    const answer = await introspect(config, tokens.refresh_token!);
    expect(answer).toEqual({
      active: true,
      scope: 'openid offline_access',
      client_id: CLIENT_ID,
      exp: expect.any(Number),
      sub: 'user-123',
      iss: ISSUER,
    });
    expect(answer.exp! * 1000).toBeGreaterThan(clock.now());
  });

  it('looking a refresh token up does not spend it: it still refreshes after introspection', async () => {
    const tokens = await signIn(h);
    await introspect(config, tokens.refresh_token!);
    expect((await postToken(h.app, refreshForm(tokens.refresh_token!))).status).toBe(200);
  });

  it('RFC 7662 §2.2: a rotated refresh token (spent: only its successor works) is not active; its successor is', async () => {
    const tokens = await signIn(h);
    const rotated = await postToken(h.app, refreshForm(tokens.refresh_token!));
    expect(rotated.status).toBe(200);
    expect(await introspect(config, tokens.refresh_token!)).toEqual({ active: false });
    expect((await introspect(config, rotated.body.refresh_token)).active).toBe(true);
  });

  it('RFC 7662 §2.2: a revoked refresh token is not active', async () => {
    const tokens = await signIn(h);
    await h.refreshTokenStore.revokeFamily(tokens.refresh_token!.slice(0, 43));
    expect(await introspect(config, tokens.refresh_token!)).toEqual({ active: false });
  });

  it("RFC 7662 §2.2: a refresh token past its idle lifetime by the router's clock is not active", async () => {
    const tokens = await signIn(h);
    clock.advanceTime(31 * 86_400_000);
    try {
      expect(await introspect(config, tokens.refresh_token!)).toEqual({ active: false });
    } finally {
      clock.advanceTime(-31 * 86_400_000);
    }
  });

  it.each([
    ['an ID token', async () => (await signIn(h)).id_token!],
    ['an unsigned JWT', async () => unsecuredJwt({ iss: ISSUER, sub: 'x', aud: CLIENT_ID, scope: ['openid'] })],
    [
      'a JWT signed by another key',
      async () => {
        const other = await harness({ keyStore: await MemoryKeyStore.generate({ alg: 'ES256' }) });
        try {
          return (await signIn(other)).access_token!;
        } finally {
          other.close();
        }
      },
    ],
    ['a refresh token never issued', async () => `${'A'.repeat(43)}.${'B'.repeat(84)}`],
    ['anything else', async () => 'not-a-token'],
  ])('RFC 7662 §2.2: %s is {"active": false}', async (_, make) => {
    expect(await introspect(config, await make())).toEqual({ active: false });
  });

  it('a refresh-token store without inspect() cannot tell a spent token: every refresh token is inactive', async () => {
    const tokens = await signIn(h);
    const { inspect: _, ...rest } = Object.fromEntries(
      ['save', 'rotate', 'revokeFamily', 'find', 'isFamilyRevoked'].map((name) => [
        name,
        (h.refreshTokenStore as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(
          h.refreshTokenStore,
        ),
      ]),
    ) as Record<string, unknown>;
    const withoutInspect = configOf(h, { refreshTokenStore: rest as unknown as RefreshTokenStore });
    expect(await introspect(withoutInspect, tokens.refresh_token!)).toEqual({ active: false });
  });

  it('a refresh-token store that fails is a 503 (store_unavailable), never an inactive answer', async () => {
    const tokens = await signIn(h);
    const failing = configOf(h, {
      refreshTokenStore: {
        save: () => Promise.resolve(),
        rotate: () => Promise.reject(new Error('down')),
        revokeFamily: () => Promise.resolve(),
        inspect: () => Promise.reject(new Error('down')),
      },
    });
    await expect(introspect(failing, tokens.refresh_token!)).rejects.toEqual(new RequestError('store_unavailable'));
  });

  it('RFC 9068 access tokens are introspected by their own rules: aud is the resource, client_id the client', async () => {
    const rfc = await harness({ accessTokenFormat: 'rfc9068', accessTokenAudience: 'https://api.example.com' });
    try {
      const tokens = await signIn(rfc);
      const answer = await introspect(
        configOf(rfc, { accessTokenFormat: 'rfc9068', accessTokenAudience: 'https://api.example.com' }),
        tokens.access_token!,
      );
      expect(answer).toMatchObject({
        active: true,
        client_id: CLIENT_ID,
        aud: 'https://api.example.com',
        token_type: 'Bearer',
        sub: 'user-123',
      });
    } finally {
      rfc.close();
    }
  });
});
