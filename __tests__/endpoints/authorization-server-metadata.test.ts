import express from 'express';
import request from 'supertest';
import { ConfigurationError, createTokenRouter, MemoryCodeStore, type TokenRouterOptions } from '../../lib/index.js';
import { harness, ISSUER, sharedKeyStore } from '../support/helpers.js';

const RFC8414 = '/.well-known/oauth-authorization-server';
const OIDC = '/.well-known/openid-configuration';

async function thrown(options: Partial<TokenRouterOptions>): Promise<ConfigurationError> {
  const codeStore = new MemoryCodeStore();
  try {
    createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore(), ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  } finally {
    codeStore.close();
  }
  throw new Error('createTokenRouter did not throw');
}

describe('RFC 8414 authorization server metadata', () => {
  it('RFC 8414 §3: GET /.well-known/oauth-authorization-server serves the same document as OpenID Connect discovery', async () => {
    const h = await harness();
    const metadata = await request(h.app).get(RFC8414);
    const discovery = await request(h.app).get(OIDC);
    expect(metadata.status).toBe(200);
    expect(metadata.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(metadata.body).toEqual(discovery.body);
    expect(metadata.headers.etag).toBe(discovery.headers.etag);
    expect(metadata.body.issuer).toBe(ISSUER);
    h.close();
  });

  it('RFC 8414 §3.1: for an issuer with a path, the well-known string goes between host and path, and the router answers it when the host routes that path to it', async () => {
    const issuer = 'https://login.example.com/tenant-a';
    const codeStore = new MemoryCodeStore();
    const router = createTokenRouter({ issuer, codeStore, keyStore: await sharedKeyStore() });
    const app = express();
    app.use('/tenant-a', router);
    app.get(`${RFC8414}/tenant-a`, router);
    const res = await request(app).get(`${RFC8414}/tenant-a`);
    expect(res.status).toBe(200);
    // RFC 8414 §3.3: the issuer in the document is the one the location was built from.
    expect(res.body.issuer).toBe(issuer);
    expect(res.body.token_endpoint).toBe(`${issuer}/oauth2/token`);
    codeStore.close();
  });

  it('for an issuer with a path, the router mounted there also serves the document under the issuer (as OpenID Connect Discovery places its own)', async () => {
    const issuer = 'https://login.example.com/tenant-a';
    const codeStore = new MemoryCodeStore();
    const app = express().use('/tenant-a', createTokenRouter({ issuer, codeStore, keyStore: await sharedKeyStore() }));
    const res = await request(app).get(`/tenant-a${RFC8414}`);
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe(issuer);
    // The whole path decides RFC 8414 §3.1's location: repeated under the mount, it is not it.
    expect((await request(app).get(`/tenant-a${RFC8414}/tenant-a`)).status).toBe(404);
    codeStore.close();
  });

  it('follows authorizationServerMetadataPath, and is left out with false', async () => {
    const moved = await harness({ authorizationServerMetadataPath: '/meta' });
    expect((await request(moved.app).get('/meta')).body.issuer).toBe(ISSUER);
    expect((await request(moved.app).get(RFC8414)).status).toBe(404);
    moved.close();
    const off = await harness({ authorizationServerMetadataPath: false });
    expect((await request(off.app).get(RFC8414)).status).toBe(404);
    expect((await request(off.app).get(OIDC)).status).toBe(200);
    off.close();
  });

  it('discoveryPath: false turns the document off at both paths unless authorizationServerMetadataPath is given', async () => {
    const off = await harness({ discoveryPath: false });
    expect((await request(off.app).get(RFC8414)).status).toBe(404);
    off.close();
    const only = await harness({
      discoveryPath: false,
      authorizationServerMetadataPath: RFC8414,
      discoveryMetadata: { scopes_supported: ['openid'] },
    });
    expect((await request(only.app).get(RFC8414)).body.scopes_supported).toEqual(['openid']);
    expect((await request(only.app).get(OIDC)).status).toBe(404);
    only.close();
  });

  it('a discoveryPath moved onto the RFC 8414 path is served there once, with no collision', async () => {
    const h = await harness({ discoveryPath: RFC8414 });
    expect((await request(h.app).get(RFC8414)).status).toBe(200);
    h.close();
  });

  it('is public and cached like discovery: Access-Control-Allow-Origin: *, Cache-Control, 405 for POST', async () => {
    const h = await harness({ jwksMaxAge: 60 });
    const res = await request(h.app).get(RFC8414).set('Origin', 'https://anywhere.example');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    const post = await request(h.app).post(RFC8414);
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    h.close();
  });

  it('refuses an authorizationServerMetadataPath equal to another path of the router', async () => {
    const error = await thrown({ authorizationServerMetadataPath: OIDC });
    expect({ code: error.code, option: error.option }).toEqual({
      code: 'ERR_OPTION_INVALID',
      option: 'authorizationServerMetadataPath',
    });
    expect((await thrown({ authorizationServerMetadataPath: 'meta' })).option).toBe('authorizationServerMetadataPath');
  });
});

describe('authorizationPath: the host authorization endpoint in discovery', () => {
  it('OIDC Discovery §3 authorization_endpoint REQUIRED: the issuer followed by authorizationPath, in both documents', async () => {
    const h = await harness({ authorizationPath: '/authorize' });
    expect((await request(h.app).get(OIDC)).body.authorization_endpoint).toBe(`${ISSUER}/authorize`);
    expect((await request(h.app).get(RFC8414)).body.authorization_endpoint).toBe(`${ISSUER}/authorize`);
    h.close();
  });

  it('follows an issuer with a path', async () => {
    const issuer = 'https://login.example.com/tenant-a';
    const codeStore = new MemoryCodeStore();
    const app = express().use(
      '/tenant-a',
      createTokenRouter({ issuer, codeStore, keyStore: await sharedKeyStore(), authorizationPath: '/authorize' }),
    );
    expect((await request(app).get(`/tenant-a${OIDC}`)).body.authorization_endpoint).toBe(`${issuer}/authorize`);
    codeStore.close();
  });

  it('discoveryMetadata.authorization_endpoint still works without it', async () => {
    const h = await harness({ discoveryMetadata: { authorization_endpoint: 'https://sso.example.com/auth' } });
    expect((await request(h.app).get(OIDC)).body.authorization_endpoint).toBe('https://sso.example.com/auth');
    h.close();
  });

  it.each<[string, Partial<TokenRouterOptions>]>([
    [
      'given with discoveryMetadata.authorization_endpoint (which would win is ambiguous)',
      { authorizationPath: '/authorize', discoveryMetadata: { authorization_endpoint: `${ISSUER}/authorize` } },
    ],
    ['not a path', { authorizationPath: 'authorize' }],
    ['equal to tokenPath (the router would answer in its place)', { authorizationPath: '/oauth2/token' }],
    [
      'with no document to publish it in',
      { authorizationPath: '/authorize', discoveryPath: false, authorizationServerMetadataPath: false },
    ],
  ])('refuses authorizationPath %s at createTokenRouter', async (_name, options) => {
    const error = await thrown(options);
    expect({ code: error.code, option: error.option }).toEqual({
      code: 'ERR_OPTION_INVALID',
      option: 'authorizationPath',
    });
  });
});
