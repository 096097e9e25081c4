import express from 'express';
import request from 'supertest';
import {
  type Client,
  ConfigurationError,
  createTokenRouter,
  hashClientSecret,
  MemoryCodeStore,
} from '../../lib/index.js';
import {
  CLIENT_ID,
  expectError,
  type Harness,
  harness,
  ISSUER,
  postToken,
  REDIRECT_URI,
  sharedKeyStore,
  signIn,
} from '../support/helpers.js';

/*
 * Client.grantTypes and the client credentials grant (RFC 6749 §4.4), docs/machine-clients.md:
 * what is refused. Until client authentication is part of the router every client is public,
 * so no client may use the grant.
 */

function configurationError(clients: unknown[]): ConfigurationError {
  const codeStore = new MemoryCodeStore();
  try {
    createTokenRouter({
      issuer: ISSUER,
      codeStore,
      keyStore: { signingKey: () => Promise.reject(new Error('unused')), publicJwks: async () => ({ keys: [] }) },
      clients: clients as Client[],
    });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  } finally {
    codeStore.close();
  }
  throw new Error('createTokenRouter did not throw');
}

describe('Client.grantTypes, checked when the router is created', () => {
  const web = { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] };

  it.each([
    ['not an array', 'authorization_code'],
    ['empty', []],
    ['an unknown grant type', ['authorization_code', 'refresh_token', 'password']],
    ['a grant type twice', ['authorization_code', 'refresh_token', 'refresh_token']],
    ['refresh_token without authorization_code', ['refresh_token']],
    ['authorization_code without refresh_token (the code grant always issues one)', ['authorization_code']],
  ])('refuses grantTypes %s (ERR_OPTION_INVALID at clients[0].grantTypes)', (_, grantTypes) => {
    const error = configurationError([{ ...web, grantTypes }]);
    expect({ code: error.code, option: error.option }).toEqual({
      code: 'ERR_OPTION_INVALID',
      option: 'clients[0].grantTypes',
    });
    expect(error.message).toContain('docs/errors.md#err_option_invalid');
  });

  it('RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients": a public client registered for it is refused', () => {
    const error = configurationError([{ ...web, grantTypes: ['client_credentials'], scopes: ['api'] }]);
    expect(error.option).toBe('clients[0].grantTypes');
    expect(error.message).toMatch(/confidential/);
  });

  it('OIDC Core §5.3: a machine client registered for openid is refused (its token is for no user, and must not reach UserInfo)', async () => {
    const machine = {
      clientId: 'machine',
      redirectUris: [],
      tokenEndpointAuthMethod: 'client_secret_basic',
      clientSecretHash: await hashClientSecret('a machine secret of some length'),
      grantTypes: ['client_credentials'],
    };
    expect(() => configurationError([{ ...machine, scopes: ['status:read'] }])).toThrow('did not throw');
    const error = configurationError([{ ...machine, scopes: ['status:read', 'openid'] }]);
    expect({ code: error.code, option: error.option }).toEqual({
      code: 'ERR_OPTION_INVALID',
      option: 'clients[0].scopes',
    });
    expect(error.message).toMatch(/openid/);
  });

  it('refuses scopes on a client without client_credentials (only that grant reads them)', () => {
    const error = configurationError([{ ...web, scopes: ['api'] }]);
    expect({ code: error.code, option: error.option }).toEqual({
      code: 'ERR_OPTION_INVALID',
      option: 'clients[0].scopes',
    });
  });

  it('accepts the default pair written out', () => {
    expect(() =>
      createTokenRouter({
        issuer: ISSUER,
        codeStore: new MemoryCodeStore({ sweepIntervalMs: 60_000 }),
        keyStore: { signingKey: () => Promise.reject(new Error('unused')), publicJwks: async () => ({ keys: [] }) },
        clients: [{ ...web, grantTypes: ['authorization_code', 'refresh_token'] }],
      }),
    ).not.toThrow();
  });
});

describe('the token endpoint refuses a grant type the client is not allowed (RFC 6749 §5.2)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('RFC 6749 §5.2 unauthorized_client: "The authenticated client is not authorized to use this authorization grant type": client_credentials for a client registered without it is 400 unauthorized_client', async () => {
    const res = await postToken(h.app, { client_id: CLIENT_ID, grant_type: 'client_credentials' });
    expectError(res, 400, 'unauthorized_client');
  });

  it('RFC 6749 §5.2 unauthorized_client, in the rfc6749 profile too', async () => {
    const strict = await harness({ errorProfile: 'rfc6749' });
    try {
      const res = await postToken(strict.app, { client_id: CLIENT_ID, grant_type: 'client_credentials', scope: 'api' });
      expectError(res, 400, 'unauthorized_client');
    } finally {
      strict.close();
    }
  });

  it('RFC 6749 §4.4: without a client registry no client_id is known to be confidential: client_credentials is unauthorized_client', async () => {
    const codeStore = new MemoryCodeStore();
    const app = express();
    app.use(createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore() }));
    try {
      expectError(
        await postToken(app, { client_id: 'anyone', grant_type: 'client_credentials' }),
        400,
        'unauthorized_client',
      );
    } finally {
      codeStore.close();
    }
  });

  it('RFC 6749 §3.3: a malformed scope of a client_credentials request is invalid_scope, before the client is looked up', async () => {
    const res = await postToken(h.app, { client_id: CLIENT_ID, grant_type: 'client_credentials', scope: 'a  b' });
    expectError(res, 400, 'invalid_scope');
  });

  it("a registry's record for a public client with client_credentials cannot be used: 503, nothing issued", async () => {
    const keyStore = await sharedKeyStore();
    const codeStore = new MemoryCodeStore();
    const app = express();
    app.use(
      createTokenRouter({
        issuer: ISSUER,
        codeStore,
        keyStore,
        clients: {
          findClient: async (clientId) =>
            ({ clientId, redirectUris: [REDIRECT_URI], grantTypes: ['client_credentials'], scopes: ['api'] }) as Client,
        },
      }),
    );
    try {
      const res = await request(app)
        .post('/oauth2/token')
        .type('form')
        .send({ client_id: 'machine', grant_type: 'client_credentials' });
      expectError(res, 503, 'temporarily_unavailable');
    } finally {
      codeStore.close();
    }
  });

  it('the code and refresh grants of a client with the default grant types work as before', async () => {
    const tokens = await signIn(h);
    const refreshed = await postToken(h.app, {
      client_id: CLIENT_ID,
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
    });
    expect(refreshed.status).toBe(200);
  });
});
