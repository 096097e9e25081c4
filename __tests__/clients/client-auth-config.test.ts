import { exportJWK, generateKeyPair } from 'jose';
import {
  type Client,
  ConfigurationError,
  createTokenRouter,
  hashClientSecret,
  MemoryCodeStore,
  type TokenRouterOptions,
} from '../../lib/index.js';
import { sharedKeyStore } from '../support/helpers.js';

const redirectUris = ['https://app.example/cb'];

describe('hashClientSecret: what a host stores for a client secret', () => {
  it('gives a salted scrypt hash carrying its parameters, never the secret', async () => {
    const hash = await hashClientSecret('s3cret-value');
    expect(hash).toMatch(/^scrypt\$14\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain('s3cret-value');
  });

  it('draws a fresh salt each time, so two hashes of one secret differ', async () => {
    expect(await hashClientSecret('same')).not.toBe(await hashClientSecret('same'));
  });

  it('refuses an empty secret and one over 512 characters', async () => {
    await expect(hashClientSecret('')).rejects.toThrow(TypeError);
    await expect(hashClientSecret('x'.repeat(513))).rejects.toThrow(TypeError);
  });
});

describe('a client list is checked for client authentication at createTokenRouter', () => {
  let base: TokenRouterOptions;
  let secretHash: string;
  let publicJwk: Record<string, unknown>;
  let privateJwk: Record<string, unknown>;
  const codeStore = new MemoryCodeStore();
  beforeAll(async () => {
    base = { issuer: 'https://login.example.com', codeStore, keyStore: await sharedKeyStore() };
    secretHash = await hashClientSecret('a-secret');
    const pair = await generateKeyPair('ES256', { extractable: true });
    publicJwk = { ...(await exportJWK(pair.publicKey)) };
    privateJwk = { ...(await exportJWK(pair.privateKey)) };
  });
  afterAll(() => codeStore.close());

  function thrown(client: Record<string, unknown>): ConfigurationError {
    try {
      createTokenRouter({ ...base, clients: [{ clientId: 'c', redirectUris, ...client } as Client] });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return error as ConfigurationError;
    }
    throw new Error('createTokenRouter did not throw');
  }
  const accepts = (client: Record<string, unknown>): void => {
    expect(() =>
      createTokenRouter({ ...base, clients: [{ clientId: 'c', redirectUris, ...client } as Client] }),
    ).not.toThrow();
  };

  it('accepts a client of each method', () => {
    accepts({});
    accepts({ tokenEndpointAuthMethod: 'none' });
    accepts({ tokenEndpointAuthMethod: 'client_secret_basic', clientSecretHash: secretHash });
    accepts({ tokenEndpointAuthMethod: 'client_secret_post', clientSecretHash: secretHash });
    accepts({ tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [publicJwk] } });
    accepts({ tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.example/jwks' });
  });

  it('refuses an unknown method, with a "did you mean"', () => {
    const error = thrown({ tokenEndpointAuthMethod: 'client_secret_basik', clientSecretHash: secretHash });
    expect(error.code).toBe('ERR_OPTION_INVALID');
    expect(error.option).toBe('clients[0].tokenEndpointAuthMethod');
    expect(error.message).toContain('did you mean "client_secret_basic"?');
  });

  it('a secret method needs clientSecretHash, made by hashClientSecret, and never quotes it', () => {
    expect(thrown({ tokenEndpointAuthMethod: 'client_secret_basic' }).option).toBe('clients[0].clientSecretHash');
    const error = thrown({ tokenEndpointAuthMethod: 'client_secret_post', clientSecretHash: 'plain-secret' });
    expect(error.option).toBe('clients[0].clientSecretHash');
    expect(error.message).not.toContain('plain-secret');
  });

  it('a public client cannot carry credentials', () => {
    expect(thrown({ clientSecretHash: secretHash }).option).toBe('clients[0].clientSecretHash');
    expect(thrown({ jwksUri: 'https://app.example/jwks' }).option).toBe('clients[0].jwksUri');
  });

  it('private_key_jwt needs exactly one of jwks and jwksUri', () => {
    expect(thrown({ tokenEndpointAuthMethod: 'private_key_jwt' }).option).toBe('clients[0].jwks');
    expect(
      thrown({
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [publicJwk] },
        jwksUri: 'https://a.example/j',
      }).option,
    ).toBe('clients[0].jwks');
  });

  it('jwksUri must be https (http only to a loopback host)', () => {
    expect(thrown({ tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'http://app.example/jwks' }).option).toBe(
      'clients[0].jwksUri',
    );
    accepts({ tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'http://127.0.0.1:8080/jwks' });
  });

  it('jwks holds public keys only: a private key or a shared secret is refused', () => {
    expect(thrown({ tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [privateJwk] } }).message).toContain(
      'public keys only',
    );
    expect(
      thrown({ tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }).option,
    ).toBe('clients[0].jwks');
    expect(thrown({ tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [] } }).option).toBe('clients[0].jwks');
  });

  it('a secret method refuses keys', () => {
    expect(
      thrown({
        tokenEndpointAuthMethod: 'client_secret_basic',
        clientSecretHash: secretHash,
        jwks: { keys: [publicJwk] },
      }).option,
    ).toBe('clients[0].jwks');
  });
});
