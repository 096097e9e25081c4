import { createPublicKey, generateKeyPairSync, type JsonWebKey as NodeJsonWebKey, sign, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { signingKeyProblem } from '../../lib/crypto/signing-key-check.js';
import {
  ConfigurationError,
  derToJoseSignature,
  type ExternalSigningKey,
  externalKeyStore,
  startChildProcessSigner,
} from '../../lib/index.js';

/*
 * docs/external-signers.md: what an external key must be (step 6), the DER conversion a KMS
 * needs, and the child-process signer's startup errors.
 */

const noSign = (): Promise<Uint8Array> => Promise.reject(new Error('not called'));

async function es256Key(): Promise<ExternalSigningKey> {
  const { publicKey } = await generateKeyPair('ES256');
  return { kid: 'k1', alg: 'ES256', publicJwk: await exportJWK(publicKey), sign: noSign };
}

describe('derToJoseSignature (RFC 3279 §2.2.3 DER to RFC 7518 §3.4 R || S)', () => {
  const curves = [
    ['ES256', 'P-256', 'sha256', 64],
    ['ES384', 'P-384', 'sha384', 96],
    ['ES512', 'P-521', 'sha512', 132],
  ] as const;
  for (const [alg, curve, digest, length] of curves) {
    it(`${alg}: a DER signature becomes the ${length}-byte R || S that node:crypto's ieee-p1363 verifies`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      // Enough signatures that some R or S have leading zero bytes (shorter DER integers).
      for (let i = 0; i < 200; i += 1) {
        const data = Buffer.from(`input ${i}`);
        const jose = derToJoseSignature(sign(digest, data, { key: privateKey, dsaEncoding: 'der' }), alg);
        expect(jose.length).toBe(length);
        expect(verify(digest, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
      }
    });
  }

  it('refuses what is not a minimal DER signature of the curve: R || S given again, cut short, trailing bytes, a needless zero', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = sign('sha256', Buffer.from('x'), { key: privateKey, dsaEncoding: 'der' });
    const raw = sign('sha256', Buffer.from('x'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(() => derToJoseSignature(raw, 'ES256')).toThrow(TypeError);
    expect(() => derToJoseSignature(der.subarray(0, der.length - 1), 'ES256')).toThrow(TypeError);
    expect(() => derToJoseSignature(Buffer.concat([der, Buffer.from([0])]), 'ES256')).toThrow(TypeError);
    // INTEGER 0x00 0x01: a leading zero before a byte without its high bit.
    expect(() =>
      derToJoseSignature(Buffer.from([0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]), 'ES256'),
    ).toThrow(TypeError);
    // A P-384 signature is too long for ES256.
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(() =>
      derToJoseSignature(sign('sha384', Buffer.from('x'), { key: p384, dsaEncoding: 'der' }), 'ES256'),
    ).toThrow(TypeError);
    expect(() => derToJoseSignature(der, 'RS256')).toThrow(TypeError);
  });
});

describe('an external signing key at step 6 (docs/contract.md "Order of checks")', () => {
  it('a { kid, alg, publicJwk, sign } of a public key that suits alg is usable', async () => {
    expect(signingKeyProblem(await es256Key())).toBeUndefined();
  });

  it('refuses a publicJwk with a private member: the JWKS would publish it', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const key = { ...(await es256Key()), publicJwk: await exportJWK(privateKey) };
    expect(signingKeyProblem(key)).toMatch(/private member "d"/);
  });

  it('refuses a publicJwk of another type or curve than alg needs, and an RSA key under 2048 bits', async () => {
    const key = await es256Key();
    expect(signingKeyProblem({ ...key, alg: 'RS256' })).toMatch(/kty/);
    const p384 = await exportJWK((await generateKeyPair('ES384')).publicKey);
    expect(signingKeyProblem({ ...key, publicJwk: p384 })).toMatch(/curve/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    expect(signingKeyProblem({ ...key, alg: 'RS256', publicJwk: small })).toMatch(/2048/);
  });

  it('refuses an alg the router does not sign, a missing kid, a timeoutMs out of bounds, and a key with both key and sign', async () => {
    const key = await es256Key();
    expect(signingKeyProblem({ ...key, alg: 'HS256' })).toMatch(/alg/);
    expect(signingKeyProblem({ ...key, kid: '' })).toMatch(/kid/);
    expect(signingKeyProblem({ ...key, timeoutMs: 0 })).toMatch(/timeoutMs/);
    expect(signingKeyProblem({ ...key, timeoutMs: 30_001 })).toMatch(/timeoutMs/);
    const local = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(signingKeyProblem({ ...key, key: local })).toMatch(/both/);
  });
});

describe('externalKeyStore', () => {
  it('the first key signs; every key is published with its kid, alg and use, and nothing private', async () => {
    const first = await es256Key();
    const second = { ...(await es256Key()), kid: 'k2' };
    const store = externalKeyStore({ keys: [first, second] });
    expect(await store.signingKey()).toBe(first);
    const { keys } = await store.publicJwks();
    expect(keys.map((jwk) => [jwk.kid, jwk.alg, jwk.use])).toEqual([
      ['k1', 'ES256', 'sig'],
      ['k2', 'ES256', 'sig'],
    ]);
    expect(keys.every((jwk) => jwk.d === undefined)).toBe(true);
  });

  it('a key it cannot use, no keys, or two of one kid: ConfigurationError ERR_KEY_INVALID at startup', async () => {
    const key = await es256Key();
    for (const keys of [[], [{ ...key, alg: 'none' }], [key, key]]) {
      expect(() => externalKeyStore({ keys })).toThrow(expect.objectContaining({ code: 'ERR_KEY_INVALID' }));
    }
  });
});

describe('startChildProcessSigner', () => {
  it('a key read by the child from privateJwkPath: its thumbprint kid, the same on every start, and signatures that verify', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const file = join(mkdtempSync(join(tmpdir(), 'pkce-signer-')), 'key.json');
    writeFileSync(file, JSON.stringify(await exportJWK(privateKey)));
    const [one, two] = await Promise.all([
      startChildProcessSigner({ alg: 'ES256', privateJwkPath: file }),
      startChildProcessSigner({ alg: 'ES256', privateJwkPath: file }),
    ]);
    try {
      expect(one.kid).toBe(two.kid);
      expect(one.publicJwk).not.toHaveProperty('d');
      const signature = await (await one.signingKey()).sign(Buffer.from('abc'));

      const publicKey = createPublicKey({ key: one.publicJwk as NodeJsonWebKey, format: 'jwk' });
      expect(verify('sha256', Buffer.from('abc'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('a file that is no private JWK, or one of another type than alg: ConfigurationError ERR_KEY_INVALID, naming no key material', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'pkce-signer-'));
    const notJwk = join(directory, 'not.json');
    writeFileSync(notJwk, 'secret-looking-content');
    const ecKey = join(directory, 'ec.json');
    writeFileSync(
      ecKey,
      JSON.stringify(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    );
    for (const options of [
      { alg: 'ES256' as const, privateJwkPath: notJwk },
      { alg: 'ES256' as const, privateJwkPath: join(directory, 'missing.json') },
      { alg: 'RS256' as const, privateJwkPath: ecKey },
    ]) {
      const failure = await startChildProcessSigner(options).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConfigurationError);
      expect(failure).toMatchObject({ code: 'ERR_KEY_INVALID' });
      expect(String(failure)).not.toContain('secret-looking-content');
    }
  });

  it('an alg it does not sign: ConfigurationError before any process starts', async () => {
    await expect(startChildProcessSigner({ alg: 'HS256' as never })).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' });
  });

  it('once closed, its key rejects: the router answers 503', async () => {
    const signer = await startChildProcessSigner({ alg: 'EdDSA' });
    const key = await signer.signingKey();
    await signer.close();
    await expect(key.sign(Buffer.from('x'))).rejects.toThrow(/exited/);
    await expect(signer.signingKey()).rejects.toThrow(/exited/);
  });
});
