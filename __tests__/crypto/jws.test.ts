import { generateKeyPairSync, KeyObject, type webcrypto } from 'node:crypto';
import { jest } from '@jest/globals';
import { compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { signCompactJws } from '../../lib/crypto/jws.js';

type Key = webcrypto.CryptoKey | KeyObject;

/** The node:crypto key-generation parameters for each algorithm. */
function nodeKeyPair(alg: string): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519');
  const namedCurve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg]!;
  return generateKeyPairSync('ec', { namedCurve });
}

const claims = { iss: 'https://login.example.com', sub: 'user-123', aud: 'web', scope: ['openid'], name: 'Zoë' };

describe('JWS compact serialization with node:crypto (RFC 7515 §7.1)', () => {
  describe.each(['RS256', 'PS256', 'ES256', 'EdDSA', 'RS384', 'RS512', 'PS384', 'PS512', 'ES384', 'ES512'])(
    '%s',
    (alg) => {
      const keys: Array<[string, () => Promise<{ privateKey: Key; publicKey: Key }>]> = [
        ['a CryptoKey from jose', () => generateKeyPair(alg, { modulusLength: 2048 })],
        ['a KeyObject from node:crypto', async () => nodeKeyPair(alg)],
      ];

      it.each(keys)('signs with %s, and jose verifies the token', async (_name, makeKeys) => {
        const { privateKey, publicKey } = await makeKeys();
        const token = await signCompactJws({ alg, kid: 'key-1', typ: 'JWT' }, claims, privateKey);

        const { payload, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: [alg] });
        expect(protectedHeader).toEqual({ alg, kid: 'key-1', typ: 'JWT' });
        expect(payload).toEqual(claims);
      });

      it('is verified by jose against the public JWK, over the exact header and payload bytes', async () => {
        const { privateKey, publicKey } = await generateKeyPair(alg, { modulusLength: 2048 });
        const token = await signCompactJws({ alg, kid: 'key-1', typ: 'JWT' }, claims, privateKey);

        const [header, payload] = token.split('.');
        expect(Buffer.from(header!, 'base64url').toString()).toBe(JSON.stringify({ alg, kid: 'key-1', typ: 'JWT' }));
        expect(Buffer.from(payload!, 'base64url').toString()).toBe(JSON.stringify(claims));
        const verified = await compactVerify(token, await importJWK(await exportJWK(publicKey), alg));
        expect(Buffer.from(verified.payload).toString()).toBe(JSON.stringify(claims));
      });
    },
  );

  it('uses base64url without padding in all three parts', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await signCompactJws({ alg: 'ES256' }, { a: '?>~' }, privateKey);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    // ES256 signatures are R || S (RFC 7518 §3.4): 64 bytes, not DER.
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(64);
  });

  it('converts a CryptoKey to a KeyObject once, not for every token', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const from = jest.spyOn(KeyObject, 'from');
    try {
      const tokens = await Promise.all(
        Array.from({ length: 5 }, (_, index) => signCompactJws({ alg: 'ES256' }, { index }, privateKey)),
      );
      for (const [index, token] of tokens.entries()) {
        expect((await jwtVerify(token, publicKey)).payload).toEqual({ index });
      }
      expect(from).toHaveBeenCalledTimes(1);
    } finally {
      from.mockRestore();
    }
  });

  describe('refuses a key that does not suit the algorithm, as jose does', () => {
    it.each([
      ['an RSA key for ES256', 'ES256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
      ['a P-384 key for ES256', 'ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
      ['an EC key for RS256', 'RS256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
      [
        'a 1024-bit RSA key (RFC 7518 §3.3)',
        'RS256',
        () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
      ],
      ['a public key', 'RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey],
    ])('%s', async (_name, alg, makeKey) => {
      await expect(signCompactJws({ alg }, claims, makeKey())).rejects.toThrow(TypeError);
    });

    it('a CryptoKey made for another algorithm (RS256 key, PS256 token)', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      await expect(signCompactJws({ alg: 'PS256' }, claims, privateKey)).rejects.toThrow(TypeError);
    });

    it.each(['HS256', 'none', 'toString', ''])('an algorithm it does not sign with: %j', async (alg) => {
      const { privateKey } = await generateKeyPair('EdDSA');
      await expect(signCompactJws({ alg }, claims, privateKey)).rejects.toThrow(TypeError);
    });
  });

  it('keeps the header members in the order given, as jose does', async () => {
    const { privateKey } = await generateKeyPair('EdDSA');
    const token = await signCompactJws({ alg: 'EdDSA', kid: 'k', typ: 'JWT' }, claims, privateKey);
    expect(Object.keys(decodeProtectedHeader(token))).toEqual(['alg', 'kid', 'typ']);
  });
});
