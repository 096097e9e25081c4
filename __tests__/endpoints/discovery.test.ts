import express from 'express';
import request from 'supertest';
import {
  ConfigurationError,
  createTokenRouter,
  MemoryCodeStore,
  MemoryKeyStore,
  type TokenRouterOptions,
} from '../../lib/index.js';
import { harness, ISSUER, sharedKeyStore } from '../support/helpers.js';

const DISCOVERY = '/.well-known/openid-configuration';

describe('discovery (OpenID Connect Discovery 1.0 §3, RFC 8414 §2)', () => {
  it('GET /.well-known/openid-configuration serves the issuer, the endpoints and what they support', async () => {
    const h = await harness();
    const res = await request(h.app).get(DISCOVERY);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.body).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/oauth2/token`,
      jwks_uri: `${ISSUER}/oauth2/jwks`,
      revocation_endpoint: `${ISSUER}/oauth2/revoke`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    h.close();
  });

  it('adds what the host supplies: authorization_endpoint, userinfo_endpoint, scopes_supported…', async () => {
    const h = await harness({
      discoveryMetadata: {
        authorization_endpoint: `${ISSUER}/authorize`,
        userinfo_endpoint: `${ISSUER}/userinfo`,
        scopes_supported: ['openid', 'profile'],
        response_types_supported: ['code'],
        claims_supported: ['sub', 'email'],
      },
    });
    const { body } = await request(h.app).get(DISCOVERY);
    expect(body).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      scopes_supported: ['openid', 'profile'],
      claims_supported: ['sub', 'email'],
      token_endpoint: `${ISSUER}/oauth2/token`,
    });
    h.close();
  });

  it.each([
    'issuer',
    'token_endpoint',
    'jwks_uri',
    'revocation_endpoint',
    'grant_types_supported',
    'code_challenge_methods_supported',
    'token_endpoint_auth_methods_supported',
    'id_token_signing_alg_values_supported',
  ])('the host cannot set %s: a ConfigurationError at createTokenRouter', async (name) => {
    const codeStore = new MemoryCodeStore();
    const options: TokenRouterOptions = {
      issuer: ISSUER,
      codeStore,
      keyStore: await sharedKeyStore(),
      discoveryMetadata: { [name]: 'x' },
    };
    let thrown: unknown;
    try {
      createTokenRouter(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).option).toBe(`discoveryMetadata.${name}`);
    codeStore.close();
  });

  it('follows the configured paths, and leaves out the endpoints that are off', async () => {
    const h = await harness({ tokenPath: '/token', jwksPath: '/keys', revocationPath: false });
    const { body } = await request(h.app).get(DISCOVERY);
    expect(body.token_endpoint).toBe(`${ISSUER}/token`);
    expect(body.jwks_uri).toBe(`${ISSUER}/keys`);
    expect(body).not.toHaveProperty('revocation_endpoint');
    expect(body).not.toHaveProperty('revocation_endpoint_auth_methods_supported');
    h.close();
  });

  it('an issuer with a path: the router mounted there serves discovery at issuer + path, and the endpoints follow the issuer', async () => {
    const issuer = 'https://login.example.com/tenant-a';
    const codeStore = new MemoryCodeStore();
    const app = express().use('/tenant-a', createTokenRouter({ issuer, codeStore, keyStore: await sharedKeyStore() }));
    const { body } = await request(app).get(`/tenant-a${DISCOVERY}`);
    expect(body.issuer).toBe(issuer);
    expect(body.token_endpoint).toBe(`${issuer}/oauth2/token`);
    codeStore.close();
  });

  it('follows discoveryPath, and is left out with discoveryPath: false', async () => {
    const moved = await harness({ discoveryPath: '/.well-known/oauth-authorization-server' });
    expect((await request(moved.app).get('/.well-known/oauth-authorization-server')).status).toBe(200);
    expect((await request(moved.app).get(DISCOVERY)).status).toBe(404);
    moved.close();
    const off = await harness({ discoveryPath: false });
    expect((await request(off.app).get(DISCOVERY)).status).toBe(404);
    off.close();
  });

  it.each(['http://localhost:3000', 'http://127.0.0.1:8080'])(
    'accepts %s as an issuer for development',
    async (issuer) => {
      const h = await harness({ issuer });
      const { body } = await request(h.app).get(DISCOVERY);
      expect(body.issuer).toBe(issuer);
      expect(body.token_endpoint).toBe(`${issuer}/oauth2/token`);
      h.close();
    },
  );

  it('lists the algorithms of every published key: during a rotation to ES256, both', async () => {
    const keyStore = await MemoryKeyStore.generate({ alg: 'RS256' });
    const h = await harness({ keyStore });
    await keyStore.addGenerated({ alg: 'ES256' });
    const { body } = await request(h.app).get(DISCOVERY);
    expect(body.id_token_signing_alg_values_supported).toEqual(['RS256', 'ES256']);
    h.close();
  });

  it('is public like the JWKS: Access-Control-Allow-Origin: *', async () => {
    const h = await harness();
    const res = await request(h.app).get(DISCOVERY).set('Origin', 'https://anywhere.example');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    h.close();
  });

  it('carries Cache-Control: public, max-age and an ETag; a matching If-None-Match gets 304', async () => {
    const h = await harness({ jwksMaxAge: 120 });
    const first = await request(h.app).get(DISCOVERY);
    expect(first.headers['cache-control']).toBe('public, max-age=120');
    expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    const again = await request(h.app).get(DISCOVERY).set('If-None-Match', first.headers.etag!);
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    h.close();
  });

  it('a method other than GET or HEAD: 405 with Allow', async () => {
    const h = await harness();
    const res = await request(h.app).post(DISCOVERY);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    h.close();
  });

  it('a key store failure: 503 temporarily_unavailable', async () => {
    const h = await harness({
      keyStore: {
        signingKey: () => Promise.reject(new Error('down')),
        publicJwks: () => Promise.reject(new Error('down')),
      },
    });
    const res = await request(h.app).get(DISCOVERY);
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
    h.close();
  });
});
