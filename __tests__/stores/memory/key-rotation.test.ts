import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, jwtVerify } from 'jose';
import request from 'supertest';
import { ConfigurationError, createTokenRouter, MemoryCodeStore, MemoryKeyStore } from '../../../lib/index.js';
import { harness, ISSUER, postToken } from '../../support/helpers.js';

const kidsOf = async (store: MemoryKeyStore) => (await store.publicJwks()).keys.map((key) => key.kid);

describe('MemoryKeyStore: rotation at runtime', () => {
  let now = 1_700_000_000_000;
  const clock = () => now;
  beforeEach(() => {
    now = 1_700_000_000_000;
  });

  it('add publishes a key without letting it sign', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256', now: clock });
    const first = (await store.signingKey()).kid;
    const pair = await generateKeyPair('ES256', { extractable: true });
    const kid = await store.add({ ...(await exportJWK(pair.privateKey)), kid: 'next' });
    expect(kid).toBe('next');
    expect((await store.signingKey()).kid).toBe(first);
    expect(await kidsOf(store)).toEqual([first, 'next']);
    expect(store.list().map((key) => key.status)).toEqual(['active', 'standby']);
  });

  it('promote makes the key sign, and retires the one before: still published', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256', now: clock });
    const old = (await store.signingKey()).kid;
    const next = await store.addGenerated({ alg: 'ES256' });
    store.promote(next);
    expect((await store.signingKey()).kid).toBe(next);
    expect(await kidsOf(store)).toEqual([old, next]);
    expect(store.list()).toEqual([
      { kid: old, alg: 'ES256', status: 'retired', publishedUntil: 1_700_000_000 + 86_400 + 60 },
      { kid: next, alg: 'ES256', status: 'active' },
    ]);
  });

  it('a retired key stays published until every token it signed has expired (maxTokenTtl plus a minute), then leaves', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256', maxTokenTtl: 1800, now: clock });
    const old = (await store.signingKey()).kid;
    store.promote(await store.addGenerated({ alg: 'ES256' }));
    now += (1800 + 59) * 1000;
    expect(await kidsOf(store)).toContain(old);
    now += 1000;
    expect(await kidsOf(store)).not.toContain(old);
    expect(store.list().map((key) => key.kid)).not.toContain(old);
  });

  it('retire takes a standby key out after the same delay, in case it signed elsewhere', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256', maxTokenTtl: 600, now: clock });
    const spare = await store.addGenerated({ alg: 'ES256' });
    store.retire(spare);
    expect(await kidsOf(store)).toContain(spare);
    now += 660_000;
    expect(await kidsOf(store)).not.toContain(spare);
  });

  it('retiring the active key is refused: promote another first', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256' });
    const error = (() => {
      try {
        store.retire(store.list()[0]!.kid);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('ERR_KEY_INVALID');
  });

  it('a retired key still published can be promoted back (a rollback)', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256', now: clock });
    const old = (await store.signingKey()).kid;
    store.promote(await store.addGenerated({ alg: 'ES256' }));
    store.promote(old);
    expect((await store.signingKey()).kid).toBe(old);
    expect(store.list().find((key) => key.kid === old)).toEqual({ kid: old, alg: 'ES256', status: 'active' });
  });

  it('refuses unknown kids, duplicate kids and public keys', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256' });
    expect(() => store.promote('nope')).toThrow(ConfigurationError);
    expect(() => store.retire('nope')).toThrow(ConfigurationError);
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(pair.privateKey)), kid: 'dup' };
    await store.add(jwk);
    await expect(store.add(jwk)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(store.add(await exportJWK(pair.publicKey))).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('never lists or publishes key material', async () => {
    const store = await MemoryKeyStore.generate({ alg: 'ES256' });
    await store.addGenerated({ alg: 'RS256' });
    for (const key of (await store.publicJwks()).keys) expect(key).not.toHaveProperty('d');
    expect(JSON.stringify(store.list())).not.toMatch(/"(d|x|n)"/);
  });

  it('fromJwks: further keys are on standby, published until retired', async () => {
    const keys = await Promise.all(
      ['a', 'b'].map(async (kid) => ({
        ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
        kid,
      })),
    );
    const store = await MemoryKeyStore.fromJwks({ keys }, { now: clock });
    expect(store.list().map((key) => [key.kid, key.status])).toEqual([
      ['a', 'active'],
      ['b', 'standby'],
    ]);
  });

  it('refuses a maxTokenTtl that is not a positive whole number of seconds', async () => {
    await expect(MemoryKeyStore.generate({ alg: 'ES256', maxTokenTtl: 0 })).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('key rotation without downtime, over HTTP', () => {
  it('tokens signed before a rotation still verify against the JWKS after it; new tokens use the new key', async () => {
    const keyStore = await MemoryKeyStore.generate({ alg: 'ES256' });
    const h = await harness({ keyStore });
    const before = await postToken(h.app, await h.issue());
    const next = await keyStore.addGenerated({ alg: 'ES256' });
    keyStore.promote(next);
    const after = await postToken(h.app, await h.issue());
    expect(decodeProtectedHeader(after.body.access_token).kid).toBe(next);
    const jwks = createLocalJWKSet((await request(h.app).get('/oauth2/jwks')).body as { keys: JWK[] });
    for (const token of [
      before.body.access_token,
      before.body.id_token,
      after.body.access_token,
      after.body.id_token,
    ]) {
      await expect(jwtVerify(token, jwks, { issuer: ISSUER })).resolves.toBeDefined();
    }
    h.close();
  });

  it('a refresh after the rotation is signed with the new key', async () => {
    const keyStore = await MemoryKeyStore.generate({ alg: 'ES256' });
    const h = await harness({ keyStore });
    const first = await postToken(h.app, await h.issue());
    const next = await keyStore.addGenerated({ alg: 'ES256' });
    keyStore.promote(next);
    const refreshed = await postToken(h.app, {
      client_id: 'web',
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token,
    });
    expect(decodeProtectedHeader(refreshed.body.id_token).kid).toBe(next);
    h.close();
  });

  it('the router refuses a key store that would drop retired keys before its tokens expire', async () => {
    const codeStore = new MemoryCodeStore();
    const keyStore = await MemoryKeyStore.generate({ alg: 'ES256', maxTokenTtl: 600 });
    let thrown: unknown;
    try {
      createTokenRouter({ issuer: ISSUER, codeStore, keyStore, idTokenTtl: 1800 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).option).toBe('keyStore');
    expect(() =>
      createTokenRouter({ issuer: ISSUER, codeStore, keyStore, accessTokenTtl: 600, idTokenTtl: 600 }),
    ).not.toThrow();
    codeStore.close();
  });
});

describe('JWKS caching', () => {
  it('serves Cache-Control: public, max-age (jwksMaxAge, default 300) and a strong ETag', async () => {
    const h = await harness();
    const res = await request(h.app).get('/oauth2/jwks');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    h.close();
    const h2 = await harness({ jwksMaxAge: 3600 });
    expect((await request(h2.app).get('/oauth2/jwks')).headers['cache-control']).toBe('public, max-age=3600');
    h2.close();
  });

  it('answers a matching If-None-Match (also weak, or in a list) with 304 and no body', async () => {
    const h = await harness();
    const etag = (await request(h.app).get('/oauth2/jwks')).headers.etag!;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await request(h.app).get('/oauth2/jwks').set('If-None-Match', header);
      expect(res.status).toBe(304);
      expect(res.text).toBe('');
      expect(res.headers.etag).toBe(etag);
    }
    expect((await request(h.app).get('/oauth2/jwks').set('If-None-Match', '"stale"')).status).toBe(200);
    h.close();
  });

  it('the ETag changes when a key is added, so caches pick the new key up', async () => {
    const keyStore = await MemoryKeyStore.generate({ alg: 'ES256' });
    const h = await harness({ keyStore });
    const before = (await request(h.app).get('/oauth2/jwks')).headers.etag!;
    await keyStore.addGenerated({ alg: 'ES256' });
    const after = await request(h.app).get('/oauth2/jwks').set('If-None-Match', before);
    expect(after.status).toBe(200);
    expect(after.body.keys).toHaveLength(2);
    expect(after.headers.etag).not.toBe(before);
    h.close();
  });
});
