import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { ConfigurationError, MemoryKeyStore } from '../../../lib/index.js';

describe('MemoryKeyStore', () => {
  it('generates RS256 with a 2048-bit key and a random UUID kid by default', async () => {
    const store = await MemoryKeyStore.generate();
    const [jwk] = (await store.publicJwks()).keys;
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(Buffer.from(jwk!.n!, 'base64url').length * 8).toBe(2048);
    expect(jwk!.kid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses an unsupported algorithm', async () => {
    await expect(MemoryKeyStore.generate({ alg: 'HS256' as never })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('fromJwks: the first key signs, all are published, no private member', async () => {
    const a = await generateKeyPair('ES256', { extractable: true });
    const b = await generateKeyPair('RS256', { extractable: true });
    const privateA: JWK = { ...(await exportJWK(a.privateKey)), kid: 'a', alg: 'ES256' };
    const privateB: JWK = { ...(await exportJWK(b.privateKey)), kid: 'b' };
    const store = await MemoryKeyStore.fromJwks({ keys: [privateA, privateB] });
    expect((await store.signingKey()).kid).toBe('a');
    const { keys } = await store.publicJwks();
    expect(keys.map((key) => [key.kid, key.alg])).toEqual([
      ['a', 'ES256'],
      ['b', 'RS256'],
    ]);
    expect(keys.every((key) => key.d === undefined && key.p === undefined)).toBe(true);
  });

  it('fromJwks: a key without kid gets its RFC 7638 thumbprint', async () => {
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    const store = await MemoryKeyStore.fromJwks({ keys: [await exportJWK(pair.privateKey)] });
    expect((await store.signingKey()).kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('fromJwks: refuses a public key, naming it and quoting no key material', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    const error = await MemoryKeyStore.fromJwks({ keys: [publicJwk] }).catch((e: unknown) => e as ConfigurationError);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toContain('keys[0]');
    expect((error as ConfigurationError).message).not.toContain(publicJwk.x!);
  });
});
