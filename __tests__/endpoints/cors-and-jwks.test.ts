import request from 'supertest';
import { type KeyStore, MemoryKeyStore } from '../../lib/index.js';
import { type Harness, harness, postToken, SPA_ORIGIN } from '../support/helpers.js';

describe('CORS on the token path (docs/contract.md "Browsers and apps")', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({
      clients: [
        {
          clientId: 'web',
          redirectUris: ['https://app.example.com/callback', 'com.example.app:/cb'],
          allowedOrigins: ['https://admin.example.com'],
        },
      ],
      allowedOrigins: ['https://extra.example.com'],
    });
  });
  afterAll(() => h.close());

  const preflight = (origin: string) =>
    request(h.app)
      .options('/oauth2/token')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');

  it.each([
    ['the origin of a registered http(s) redirect URI', SPA_ORIGIN],
    ["a client's allowedOrigins", 'https://admin.example.com'],
    ["the router's allowedOrigins option", 'https://extra.example.com'],
  ])(
    'a preflight from %s gets that origin, methods POST, header Content-Type and Vary: Origin',
    async (_name, origin) => {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-methods']).toBe('POST');
      expect(res.headers['access-control-allow-headers']).toBe('Content-Type');
      expect(res.headers.vary).toBe('Origin');
      expect(res.headers).not.toHaveProperty('access-control-allow-credentials');
    },
  );

  it.each([
    ['any other origin', 'https://evil.example'],
    ['the origin null', 'null'],
    ['a look-alike of an allowed origin', 'https://app.example.com.evil.example'],
  ])('a preflight from %s gets 204 with no CORS headers', async (_name, origin) => {
    const res = await preflight(origin);
    expect(res.status).toBe(204);
    expect(Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('an actual POST from an allowed origin carries Access-Control-Allow-Origin, never credentials', async () => {
    const res = await postToken(h.app, await h.issue()).set('Origin', SPA_ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
    expect(res.headers.vary).toBe('Origin');
    expect(res.headers).not.toHaveProperty('access-control-allow-credentials');
  });

  it('an error answer to an allowed origin carries it too, so the SPA can read the error', async () => {
    const res = await postToken(h.app, { client_id: 'web' }).set('Origin', SPA_ORIGIN);
    expect(res.status).toBe(400);
    expect(res.headers['access-control-allow-origin']).toBe(SPA_ORIGIN);
  });

  it('an actual POST from another origin gets no Access-Control-Allow-Origin', async () => {
    const res = await postToken(h.app, await h.issue()).set('Origin', 'https://evil.example');
    expect(res.headers).not.toHaveProperty('access-control-allow-origin');
  });

  it('never allows the origin null, even when a registry would allow every origin', async () => {
    const h2 = await harness({
      clients: {
        findClient: (clientId) =>
          Promise.resolve(
            clientId === 'web' ? { clientId, redirectUris: ['https://app.example.com/callback'] } : undefined,
          ),
        isAllowedOrigin: () => Promise.resolve(true),
      },
    });
    const preflight = await request(h2.app).options('/oauth2/token').set('Origin', 'null');
    const post = await postToken(h2.app, await h2.issue()).set('Origin', 'null');
    expect(post.status).toBe(200);
    for (const res of [preflight, post]) {
      expect(Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
    const other = await request(h2.app).options('/oauth2/token').set('Origin', 'https://anything.example');
    expect(other.headers['access-control-allow-origin']).toBe('https://anything.example');
    h2.close();
  });

  it("a ClientRegistry's isAllowedOrigin adds origins", async () => {
    const h2 = await harness({
      clients: {
        findClient: (clientId) =>
          Promise.resolve(
            clientId === 'web' ? { clientId, redirectUris: ['https://app.example.com/callback'] } : undefined,
          ),
        isAllowedOrigin: (origin) => Promise.resolve(origin === 'https://db.example.com'),
      },
    });
    const allowed = await request(h2.app).options('/oauth2/token').set('Origin', 'https://db.example.com');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://db.example.com');
    const refused = await request(h2.app).options('/oauth2/token').set('Origin', SPA_ORIGIN);
    expect(refused.headers).not.toHaveProperty('access-control-allow-origin');
    h2.close();
  });

  it("a POST from the origin of a registry client's redirect URI carries that origin, once the client is found", async () => {
    const h2 = await harness({
      clients: {
        findClient: (clientId) =>
          Promise.resolve(
            clientId === 'web'
              ? {
                  clientId,
                  redirectUris: ['https://app.example.com/callback'],
                  allowedOrigins: ['https://admin.example.com'],
                }
              : undefined,
          ),
      },
    });
    for (const origin of [SPA_ORIGIN, 'https://admin.example.com']) {
      const res = await postToken(h2.app, await h2.issue()).set('Origin', origin);
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
    }
    const other = await postToken(h2.app, await h2.issue()).set('Origin', 'https://evil.example');
    expect(other.headers).not.toHaveProperty('access-control-allow-origin');
    const unknownClient = await postToken(h2.app, { ...(await h2.issue()), client_id: 'stranger' }).set(
      'Origin',
      SPA_ORIGIN,
    );
    expect(unknownClient.headers).not.toHaveProperty('access-control-allow-origin');
    h2.close();
  });
});

describe('public keys (docs/contract.md "Public keys")', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('GET /oauth2/jwks serves {"keys": [...]} with kid, alg and use "sig"', async () => {
    const res = await request(h.app).get('/oauth2/jwks');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    const { kid, alg } = await h.keyStore.signingKey();
    expect(res.body.keys).toEqual([expect.objectContaining({ kid, alg, use: 'sig', kty: 'RSA' })]);
  });

  it('never serves a private member', async () => {
    const res = await request(h.app).get('/oauth2/jwks');
    expect(res.body.keys.length).toBeGreaterThan(0);
    for (const key of res.body.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) expect(key).not.toHaveProperty(member);
    }
  });

  it('serves only the public members, whatever a key store returns', async () => {
    const keyStore = await MemoryKeyStore.generate({ alg: 'ES256' });
    const [publicJwk] = (await keyStore.publicJwks()).keys;
    const leaky: KeyStore = {
      signingKey: () => keyStore.signingKey(),
      publicJwks: () => Promise.resolve({ keys: [{ ...publicJwk!, d: 'PRIVATE-D', k: 'SECRET-K' }] }),
    };
    const h2 = await harness({ keyStore: leaky });
    const res = await request(h2.app).get('/oauth2/jwks');
    expect(res.status).toBe(200);
    expect(res.body.keys).toEqual([publicJwk]);
    expect(res.text).not.toContain('PRIVATE-D');
    h2.close();
  });

  it('answers 503 when the key store gives something that is not a JWKS, or a key with no public part', async () => {
    for (const answer of [undefined, { keys: 'x' }, { keys: [{ kty: 'oct', k: 'SECRET-K' }] }]) {
      const odd: KeyStore = {
        signingKey: () => Promise.reject(new Error('x')),
        publicJwks: () => Promise.resolve(answer as never),
      };
      const h2 = await harness({ keyStore: odd });
      const res = await request(h2.app).get('/oauth2/jwks');
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('temporarily_unavailable');
      expect(res.text).not.toContain('SECRET-K');
      h2.close();
    }
  });

  it('any origin may read it: Access-Control-Allow-Origin: *', async () => {
    const res = await request(h.app).get('/oauth2/jwks').set('Origin', 'https://anywhere.example');
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('can be left out with jwksPath: false', async () => {
    const h2 = await harness({ jwksPath: false });
    expect((await request(h2.app).get('/oauth2/jwks')).status).toBe(404);
    h2.close();
  });

  it('follows tokenPath and jwksPath', async () => {
    const h2 = await harness({ tokenPath: '/token', jwksPath: '/.well-known/jwks.json' });
    expect((await postToken(h2.app, await h2.issue(), '/token')).status).toBe(200);
    expect((await request(h2.app).get('/.well-known/jwks.json')).status).toBe(200);
    expect((await postToken(h2.app, await h2.issue())).status).toBe(404);
    h2.close();
  });
});
