import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import request from 'supertest';
import {
  ConfigurationError,
  createTokenRouter,
  issueAuthorizationCode,
  MemoryCodeStore,
  MemoryKeyStore,
  type TokenRouterOptions,
} from '../../lib/index.js';
import { atHash } from '../../lib/tokens/at-hash.js';
import { CLIENT_ID, harness, ISSUER, pkcePair, postToken, sharedKeyStore } from '../support/helpers.js';

describe('at_hash (OIDC Core §3.1.3.6)', () => {
  it('is the base64url of the left half of the SHA-256 of the access token, for RS256 (a published vector)', () => {
    // The example of the oidc-token-hash package's README.
    const accessToken =
      'YmJiZTAwYmYtMzgyOC00NzhkLTkyOTItNjJjNDM3MGYzOWIy9sFhvH8K_x8UIHj1osisS57f5DduL-ar_qw5jl3lthwpMjm283aVMQXDmoqqqydDSqJfbhptzw8rUVwkuQbolw';
    expect(atHash(accessToken, 'RS256')).toBe('x7vk7f6BvQj0jQHYFIk4ag');
  });

  it.each([
    ['PS256', 'sha256', 16],
    ['ES256', 'sha256', 16],
    ['ES384', 'sha384', 24],
    ['RS512', 'sha512', 32],
    // OIDC Core 1.0 errata set 2: Ed25519 uses SHA-512.
    ['EdDSA', 'sha512', 32],
  ])('%s uses %s: the left %i bytes', (alg, hash, bytes) => {
    const expected = createHash(hash).update('token').digest().subarray(0, bytes).toString('base64url');
    expect(atHash('token', alg)).toBe(expected);
  });

  it('refuses an algorithm it has no hash for', () => {
    expect(() => atHash('token', 'HS256x')).toThrow();
  });
});

describe('ID token: nonce, auth_time, acr, amr, at_hash', () => {
  it('carries nonce, auth_time, acr and amr when the grant has them', async () => {
    const h = await harness();
    const res = await postToken(
      h.app,
      await h.issue({ nonce: 'n1', authTime: 1_700_000_000, acr: 'urn:mace:incommon:iap:silver', amr: ['pwd', 'mfa'] }),
    );
    expect(decodeJwt(res.body.id_token)).toMatchObject({
      nonce: 'n1',
      auth_time: 1_700_000_000,
      acr: 'urn:mace:incommon:iap:silver',
      amr: ['pwd', 'mfa'],
    });
    h.close();
  });

  it('leaves acr, amr and at_hash out by default', async () => {
    const h = await harness();
    const claims = decodeJwt((await postToken(h.app, await h.issue())).body.id_token);
    for (const name of ['acr', 'amr', 'at_hash', 'nonce', 'auth_time']) expect(claims).not.toHaveProperty(name);
    h.close();
  });

  it.each(['RS256', 'ES256', 'EdDSA'] as const)(
    'idTokenAtHash: true adds at_hash of the access token issued with it (%s)',
    async (alg) => {
      const keyStore = alg === 'RS256' ? await sharedKeyStore() : await MemoryKeyStore.generate({ alg });
      const h = await harness({ keyStore, idTokenAtHash: true });
      const first = await postToken(h.app, await h.issue());
      expect(decodeJwt(first.body.id_token).at_hash).toBe(atHash(first.body.access_token, alg));
      const refreshed = await postToken(h.app, {
        client_id: CLIENT_ID,
        grant_type: 'refresh_token',
        refresh_token: first.body.refresh_token,
      });
      expect(decodeJwt(refreshed.body.id_token).at_hash).toBe(atHash(refreshed.body.access_token, alg));
      h.close();
    },
  );

  it('host claims never override or fill in registered ones: acr, amr, at_hash, nbf, client_id are dropped', async () => {
    const h = await harness();
    const res = await postToken(
      h.app,
      await h.issue({
        acr: 'real',
        idTokenClaims: {
          acr: 'forged',
          amr: ['forged'],
          at_hash: 'forged',
          nbf: 1,
          sid: 'session-1',
          email: 'u@example.com',
        },
        accessTokenClaims: { client_id: 'forged', cnf: { jkt: 'x' }, tenant: 't1' },
      }),
    );
    const id = decodeJwt(res.body.id_token);
    expect(id).toMatchObject({ acr: 'real', sid: 'session-1', email: 'u@example.com' });
    for (const name of ['amr', 'at_hash', 'nbf']) expect(id).not.toHaveProperty(name);
    const access = decodeJwt(res.body.access_token);
    expect(access).toMatchObject({ tenant: 't1' });
    expect(access).not.toHaveProperty('client_id');
    expect(access).not.toHaveProperty('cnf');
    h.close();
  });

  it('issueAuthorizationCode checks acr and amr', async () => {
    const store = new MemoryCodeStore();
    const grant = {
      clientId: 'web',
      redirectUri: 'https://app.example.com/cb',
      codeChallenge: pkcePair().challenge,
      codeChallengeMethod: 'S256' as const,
      subject: 'u',
      scope: ['openid'],
    };
    for (const bad of [{ acr: '' }, { acr: 1 }, { amr: 'pwd' }, { amr: [''] }, { amr: [1] }]) {
      const error = await issueAuthorizationCode(store, { ...grant, ...(bad as object) }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).code).toBe('ERR_GRANT_INVALID');
      expect((error as ConfigurationError).option).toBe(Object.keys(bad)[0]);
    }
    await expect(issueAuthorizationCode(store, { ...grant, acr: '1', amr: ['pwd'] })).resolves.toMatch(
      /^[A-Za-z0-9_-]{43}$/,
    );
    store.close();
  });
});

describe('access-token format', () => {
  it("'ciam' (the default) is the Tencent Cloud CIAM token API's shape", async () => {
    const h = await harness({ accessTokenFormat: 'ciam' });
    const res = await postToken(h.app, await h.issue({ scope: ['openid', 'api'] }));
    expect(decodeProtectedHeader(res.body.access_token).typ).toBe('JWT');
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ aud: CLIENT_ID, scope: ['openid', 'api'] });
    expect(claims).not.toHaveProperty('client_id');
    h.close();
  });

  it("'rfc9068': typ at+jwt, aud the configured resource, client_id, space-separated scope (RFC 9068 §2)", async () => {
    const h = await harness({ accessTokenFormat: 'rfc9068', accessTokenAudience: 'https://api.example.com' });
    const res = await postToken(
      h.app,
      await h.issue({ scope: ['openid', 'api'], authTime: 1_700_000_000, acr: 'loa2', amr: ['pwd'] }),
    );
    expect(res.status).toBe(200);
    const jwks = createLocalJWKSet((await request(h.app).get('/oauth2/jwks')).body as { keys: JWK[] });
    const { payload, protectedHeader } = await jwtVerify(res.body.access_token, jwks, {
      issuer: ISSUER,
      audience: 'https://api.example.com',
      typ: 'at+jwt',
      requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      client_id: CLIENT_ID,
      scope: 'openid api',
      sub: 'user-123',
      auth_time: 1_700_000_000,
      acr: 'loa2',
      amr: ['pwd'],
    });
    expect(payload.exp).toBe(payload.iat! + 300);
    // The ID token is unchanged: it is for the client.
    expect(decodeJwt(res.body.id_token).aud).toBe(CLIENT_ID);
    h.close();
  });

  it("'rfc9068' with several resources: aud is the array", async () => {
    const h = await harness({
      accessTokenFormat: 'rfc9068',
      accessTokenAudience: ['https://a.example', 'https://b.example'],
    });
    const res = await postToken(h.app, await h.issue());
    expect(decodeJwt(res.body.access_token).aud).toEqual(['https://a.example', 'https://b.example']);
    h.close();
  });

  it("'rfc9068' refreshed tokens keep the format, with the narrowed scope", async () => {
    const h = await harness({ accessTokenFormat: 'rfc9068', accessTokenAudience: 'https://api.example.com' });
    const first = await postToken(h.app, await h.issue({ scope: ['openid', 'api'] }));
    const res = await postToken(h.app, {
      client_id: CLIENT_ID,
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token,
      scope: 'api',
    });
    expect(decodeProtectedHeader(res.body.access_token).typ).toBe('at+jwt');
    expect(decodeJwt(res.body.access_token)).toMatchObject({
      scope: 'api',
      client_id: CLIENT_ID,
      aud: 'https://api.example.com',
    });
    h.close();
  });

  describe('options', () => {
    let base: TokenRouterOptions;
    const codeStore = new MemoryCodeStore();
    beforeAll(async () => {
      base = { issuer: ISSUER, codeStore, keyStore: await sharedKeyStore() };
    });
    afterAll(() => codeStore.close());

    const thrown = (options: TokenRouterOptions): ConfigurationError => {
      try {
        createTokenRouter(options);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return error as ConfigurationError;
      }
      throw new Error('createTokenRouter did not throw');
    };

    it("'rfc9068' needs accessTokenAudience", () => {
      const error = thrown({ ...base, accessTokenFormat: 'rfc9068' });
      expect([error.code, error.option]).toEqual(['ERR_OPTION_MISSING', 'accessTokenAudience']);
    });

    it("accessTokenAudience is refused with 'ciam', whose tokens are for the client", () => {
      expect(thrown({ ...base, accessTokenAudience: 'https://api.example.com' }).option).toBe('accessTokenAudience');
    });

    it.each([[''], [[]], [['']], [42]])('accessTokenAudience %p is refused', (audience) => {
      expect(thrown({ ...base, accessTokenFormat: 'rfc9068', accessTokenAudience: audience as never }).option).toBe(
        'accessTokenAudience',
      );
    });

    it('an unknown format is refused', () => {
      expect(thrown({ ...base, accessTokenFormat: 'opaque' as never }).option).toBe('accessTokenFormat');
    });

    it('idTokenAtHash must be a boolean', () => {
      expect(thrown({ ...base, idTokenAtHash: 'yes' as never }).option).toBe('idTokenAtHash');
    });
  });
});
