import { decodeProtectedHeader, SignJWT } from 'jose';
import { ConfigurationError, MemoryKeyStore, verifyAccessToken } from '../../lib/index.js';
import { accessTokenOf, countingKeyStore, hs256WithPublicKey, unsecuredJwt } from '../support/access-tokens.js';
import { CLIENT_ID, harness, ISSUER } from '../support/helpers.js';

const API = 'https://api.example.com';

describe('verifyAccessToken: the ciam access token (docs/contract.md "Success")', () => {
  it('verifies a token the token endpoint issued: subject, client (aud), scopes (a JSON array), claims', async () => {
    const h = await harness();
    const { accessToken, claims } = await accessTokenOf(h);
    const verified = await verifyAccessToken(accessToken, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified).toEqual({
      kind: 'valid',
      subject: 'user-123',
      clientId: CLIENT_ID,
      scopes: ['openid', 'profile'],
      claims,
    });
    h.close();
  });

  it('the access token names its refresh-token family (refresh_family), which the refresh token begins with', async () => {
    const h = await harness();
    const { claims, refreshToken, idToken } = await accessTokenOf(h);
    expect(refreshToken.startsWith(`${claims.refresh_family}.`)).toBe(true);
    expect(
      JSON.parse(Buffer.from((idToken as string).split('.')[1] as string, 'base64url').toString()),
    ).not.toHaveProperty('refresh_family');
    h.close();
  });

  it('OIDC Core §2: an ID token (same typ, iss and aud, but azp and no scope) is not an access token', async () => {
    const h = await harness();
    const { idToken } = await accessTokenOf(h, { nonce: 'n-1' });
    const verified = await verifyAccessToken(idToken as string, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified).toMatchObject({ kind: 'invalid', error: 'invalid_token', reason: 'not_an_access_token' });
    h.close();
  });

  it('RFC 9068 §4: a token whose typ is at+jwt is refused where ciam tokens (typ JWT) are expected', async () => {
    const h = await harness({ accessTokenFormat: 'rfc9068', accessTokenAudience: API });
    const { accessToken } = await accessTokenOf(h);
    const verified = await verifyAccessToken(accessToken, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified).toMatchObject({ kind: 'invalid', reason: 'type_invalid' });
    h.close();
  });
});

describe('verifyAccessToken: RFC 9068 access tokens', () => {
  it('RFC 9068 §2.2: subject, client_id, scope split on spaces', async () => {
    const h = await harness({ accessTokenFormat: 'rfc9068', accessTokenAudience: API });
    const { accessToken } = await accessTokenOf(h);
    const verified = await verifyAccessToken(accessToken, {
      keyStore: h.keyStore,
      issuer: ISSUER,
      accessTokenFormat: 'rfc9068',
      audience: API,
    });
    expect(verified).toMatchObject({
      kind: 'valid',
      subject: 'user-123',
      clientId: CLIENT_ID,
      scopes: ['openid', 'profile'],
    });
    h.close();
  });

  it('RFC 9068 §4: the resource server must validate that the aud claim contains its own identifier', async () => {
    const h = await harness({ accessTokenFormat: 'rfc9068', accessTokenAudience: API });
    const { accessToken } = await accessTokenOf(h);
    const options = { keyStore: h.keyStore, issuer: ISSUER, accessTokenFormat: 'rfc9068' as const };
    expect(await verifyAccessToken(accessToken, { ...options, audience: 'https://other.example.com' })).toMatchObject({
      kind: 'invalid',
      reason: 'audience_invalid',
    });
    expect(
      await verifyAccessToken(accessToken, { ...options, audience: ['https://other.example.com', API] }),
    ).toMatchObject({ kind: 'valid' });
    h.close();
  });

  it('RFC 9068 §4: the resource server must verify that the typ header is at+jwt (a ciam token is refused)', async () => {
    const h = await harness();
    const { accessToken } = await accessTokenOf(h);
    const verified = await verifyAccessToken(accessToken, {
      keyStore: h.keyStore,
      issuer: ISSUER,
      accessTokenFormat: 'rfc9068',
      audience: CLIENT_ID,
    });
    expect(verified).toMatchObject({ kind: 'invalid', reason: 'type_invalid' });
    h.close();
  });
});

describe('verifyAccessToken: iss, exp and nbf (RFC 9068 §4, RFC 7519 §4.1)', () => {
  it('RFC 9068 §4: the iss claim must exactly match the issuer', async () => {
    const h = await harness();
    const { accessToken } = await accessTokenOf(h);
    for (const issuer of ['https://other.example.com', `${ISSUER}/`]) {
      expect(await verifyAccessToken(accessToken, { keyStore: h.keyStore, issuer })).toMatchObject({
        kind: 'invalid',
        reason: 'issuer_invalid',
      });
    }
    h.close();
  });

  it('RFC 7519 §4.1.4: a token is refused on or after exp, allowing the leeway (5 s by default)', async () => {
    const h = await harness();
    const { accessToken, claims } = await accessTokenOf(h);
    const at = (seconds: number) => () => seconds * 1000;
    const exp = claims.exp as number;
    const options = { keyStore: h.keyStore, issuer: ISSUER };
    expect(await verifyAccessToken(accessToken, { ...options, now: at(exp + 4) })).toMatchObject({ kind: 'valid' });
    expect(await verifyAccessToken(accessToken, { ...options, now: at(exp + 5) })).toMatchObject({
      kind: 'invalid',
      reason: 'token_expired',
    });
    expect(await verifyAccessToken(accessToken, { ...options, now: at(exp), clockToleranceSeconds: 0 })).toMatchObject({
      reason: 'token_expired',
    });
    expect(
      await verifyAccessToken(accessToken, { ...options, now: at(exp + 30), clockToleranceSeconds: 60 }),
    ).toMatchObject({ kind: 'valid' });
    h.close();
  });

  it('RFC 7519 §4.1.5: a token is refused before nbf, allowing the leeway', async () => {
    const h = await harness();
    const { accessToken, claims } = await accessTokenOf(h);
    const nbf = claims.nbf as number;
    const options = { keyStore: h.keyStore, issuer: ISSUER };
    expect(await verifyAccessToken(accessToken, { ...options, now: () => (nbf - 5) * 1000 })).toMatchObject({
      kind: 'valid',
    });
    expect(await verifyAccessToken(accessToken, { ...options, now: () => (nbf - 6) * 1000 })).toMatchObject({
      kind: 'invalid',
      reason: 'token_not_yet_valid',
    });
    h.close();
  });
});

describe('verifyAccessToken: signatures and keys', () => {
  it('RFC 8725 §3.1: alg none is refused', async () => {
    const h = await harness();
    const { claims } = await accessTokenOf(h);
    const verified = await verifyAccessToken(unsecuredJwt(claims), { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified).toMatchObject({ kind: 'invalid', reason: 'algorithm_not_allowed' });
    h.close();
  });

  it('RFC 8725 §2.1: HS256 keyed with the public key is refused (only the algorithms the router signs with)', async () => {
    const h = await harness();
    const { claims } = await accessTokenOf(h);
    const forged = await hs256WithPublicKey(h.keyStore, claims);
    const verified = await verifyAccessToken(forged, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified).toMatchObject({ kind: 'invalid', reason: 'algorithm_not_allowed' });
    h.close();
  });

  it('a token whose signature does not verify is refused', async () => {
    const h = await harness();
    const { accessToken } = await accessTokenOf(h);
    const [header, payload, signature] = accessToken.split('.') as [string, string, string];
    const flipped = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    expect(await verifyAccessToken(flipped, { keyStore: h.keyStore, issuer: ISSUER })).toMatchObject({
      kind: 'invalid',
      reason: 'signature_invalid',
    });
    h.close();
  });

  it.each(['', 'not-a-jwt', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9..'])(
    'a malformed token (%j) is invalid_token, never a throw',
    async (token) => {
      const h = await harness();
      expect(await verifyAccessToken(token, { keyStore: h.keyStore, issuer: ISSUER })).toMatchObject({
        kind: 'invalid',
        error: 'invalid_token',
      });
      h.close();
    },
  );

  it('a key added and promoted at runtime verifies without a restart (docs/keys.md "Rotating keys")', async () => {
    const inner = await MemoryKeyStore.generate({ alg: 'ES256' });
    const rotating = countingKeyStore(inner);
    const h = await harness({ keyStore: rotating });
    const options = { keyStore: rotating, issuer: ISSUER };
    expect(await verifyAccessToken((await accessTokenOf(h)).accessToken, options)).toMatchObject({ kind: 'valid' });
    inner.promote(await inner.addGenerated({ alg: 'ES256' }));
    const { accessToken } = await accessTokenOf(h);
    expect(decodeProtectedHeader(accessToken).kid).toBe(inner.list().find((key) => key.status === 'active')?.kid);
    expect(await verifyAccessToken(accessToken, options)).toMatchObject({ kind: 'valid' });
    expect(rotating.reads).toBe(2);
    h.close();
  });

  it('an unknown kid re-reads the keys at most once in 5 s, and concurrent misses share one read', async () => {
    const rotating = countingKeyStore(await MemoryKeyStore.generate({ alg: 'ES256' }));
    const stranger = await MemoryKeyStore.generate({ alg: 'ES256' });
    const h = await harness({ keyStore: stranger });
    const { accessToken } = await accessTokenOf(h);
    const options = { keyStore: rotating, issuer: ISSUER };
    const answers = await Promise.all(Array.from({ length: 8 }, () => verifyAccessToken(accessToken, options)));
    for (const answer of answers) expect(answer).toMatchObject({ kind: 'invalid', reason: 'key_unknown' });
    // The first read, then one for the misses.
    expect(rotating.reads).toBe(2);
    expect(await verifyAccessToken(accessToken, options)).toMatchObject({ reason: 'key_unknown' });
    expect(rotating.reads).toBe(2);
    h.close();
  });

  it('a key store that fails before any key was read: temporarily_unavailable; once read, its keys go on verifying', async () => {
    const inner = await MemoryKeyStore.generate({ alg: 'ES256' });
    const keyStore = countingKeyStore(inner);
    const h = await harness({ keyStore });
    const { accessToken } = await accessTokenOf(h);
    keyStore.failing = true;
    expect(await verifyAccessToken(accessToken, { keyStore, issuer: ISSUER })).toEqual({
      kind: 'unavailable',
      error: 'temporarily_unavailable',
      reason: 'key_unavailable',
      description: expect.any(String),
    });
    keyStore.failing = false;
    expect(await verifyAccessToken(accessToken, { keyStore, issuer: ISSUER })).toMatchObject({ kind: 'valid' });
    keyStore.failing = true;
    expect(await verifyAccessToken(accessToken, { keyStore, issuer: ISSUER })).toMatchObject({ kind: 'valid' });
    h.close();
  });

  it('the description never holds the token', async () => {
    const h = await harness();
    const { claims } = await accessTokenOf(h);
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'made-up' })
      .sign((await MemoryKeyStore.generate({ alg: 'ES256' }).then((store) => store.signingKey())).key);
    const verified = await verifyAccessToken(forged, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified.kind).toBe('invalid');
    expect(JSON.stringify(verified)).not.toContain(forged.split('.')[1]);
    h.close();
  });
});

describe('verifyAccessToken: options', () => {
  it.each([
    [{ keyStore: undefined }, 'ERR_OPTION_MISSING', 'keyStore'],
    [{ keyStore: {} }, 'ERR_OPTION_INVALID', 'keyStore'],
    [{ keyStore: 'k' }, 'ERR_OPTION_INVALID', 'keyStore'],
    [{ issuer: 7 }, 'ERR_OPTION_INVALID', 'issuer'],
    [{ accessTokenFormat: 'jwt' }, 'ERR_OPTION_INVALID', 'accessTokenFormat'],
    [{ audience: API }, 'ERR_OPTION_INVALID', 'audience'],
    [{ accessTokenFormat: 'rfc9068' }, 'ERR_OPTION_MISSING', 'audience'],
    [{ accessTokenFormat: 'rfc9068', audience: [] }, 'ERR_OPTION_INVALID', 'audience'],
    [{ clockToleranceSeconds: 61 }, 'ERR_OPTION_INVALID', 'clockToleranceSeconds'],
    [{ clockToleranceSeconds: 1.5 }, 'ERR_OPTION_INVALID', 'clockToleranceSeconds'],
    [{ now: 5 }, 'ERR_OPTION_INVALID', 'now'],
    [{ clockTolerance: 5 }, 'ERR_OPTION_UNKNOWN', 'clockTolerance'],
  ])('%j is refused with %s naming %s', async (bad, code, option) => {
    const keyStore = await MemoryKeyStore.generate({ alg: 'ES256' });
    const options = { keyStore, issuer: ISSUER, ...bad } as unknown as Parameters<typeof verifyAccessToken>[1];
    let thrown: unknown;
    try {
      await verifyAccessToken('x.y.z', options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ code, option });
  });
});
