import { createSecretKey, generateKeyPairSync, type KeyObject, webcrypto } from 'node:crypto';
import { jest } from '@jest/globals';
import type { JWK } from 'jose';
import { hashSecret } from '../../lib/crypto/secrets.js';
import { keyVerdict, signingKeyProblem } from '../../lib/crypto/signing-key-check.js';
import {
  ConfigurationError,
  type KeyStore,
  MemoryKeyStore,
  type SigningKey,
  type TokenRouterEvent,
} from '../../lib/index.js';
import { harness, postToken, refreshForm, sharedKeyStore, signIn } from '../support/helpers.js';

/*
 * Issue 13 §4: a key the router cannot sign with is refused when it is added to a MemoryKeyStore,
 * and, from a custom KeyStore, at step 6 (docs/contract.md "Order of checks") as a 503 that spends nothing.
 */

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const jwkOf = (key: KeyObject): JWK => key.export({ format: 'jwk' }) as JWK;

// Generated once for the file (sync key generation is slow for RSA); each test reads them.
const rsa1024 = rsa(1024);
const rsa2048 = rsa(2048);
const p256 = ec('P-256');
const p384 = ec('P-384');
const ed25519 = generateKeyPairSync('ed25519');
const oaep = (await webcrypto.subtle.generateKey(
  { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  false,
  ['encrypt', 'decrypt'],
)) as webcrypto.CryptoKeyPair;

/** Private (or public) JWKs the router cannot sign with, each with a kid, and the key material not to quote. */
function badJwks(): Array<[string, JWK, string]> {
  const rsaPrivate = jwkOf(rsa2048.privateKey);
  const ecPrivate = jwkOf(p256.privateKey);
  return [
    [
      'an RSA key under 2048 bits (RFC 7518 §3.3)',
      { ...jwkOf(rsa1024.privateKey), kid: 'small', alg: 'RS256' },
      jwkOf(rsa1024.privateKey).d!,
    ],
    [
      'an RSA key under 2048 bits, without alg',
      { ...jwkOf(rsa1024.privateKey), kid: 'small' },
      jwkOf(rsa1024.privateKey).d!,
    ],
    ['an EC key for RS256', { ...ecPrivate, kid: 'ec-as-rs', alg: 'RS256' }, ecPrivate.d!],
    ['a P-384 key for ES256', { ...jwkOf(p384.privateKey), kid: 'p384', alg: 'ES256' }, jwkOf(p384.privateKey).d!],
    ['a P-384 key without alg (no default)', { ...jwkOf(p384.privateKey), kid: 'p384' }, jwkOf(p384.privateKey).d!],
    ['a public-only key', { ...jwkOf(rsa2048.publicKey), kid: 'public', alg: 'RS256' }, jwkOf(rsa2048.publicKey).n!],
    [
      'an HS256 secret (kty oct)',
      { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', kid: 'hmac', alg: 'HS256' },
      'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA',
    ],
    [
      'an oct secret claiming RS256',
      { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', kid: 'hmac', alg: 'RS256' },
      'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA',
    ],
    ['a JWK with use "enc" (RFC 7517 §4.2)', { ...rsaPrivate, kid: 'enc', use: 'enc' }, rsaPrivate.d!],
    [
      'a JWK whose key_ops lack "sign" (RFC 7517 §4.3)',
      { ...rsaPrivate, kid: 'ops', key_ops: ['decrypt'] },
      rsaPrivate.d!,
    ],
    ['an alg the router does not sign with (RS384)', { ...rsaPrivate, kid: 'rs384', alg: 'RS384' }, rsaPrivate.d!],
    [
      'an alg that is not a signature algorithm (RSA-OAEP)',
      { ...rsaPrivate, kid: 'oaep', alg: 'RSA-OAEP' },
      rsaPrivate.d!,
    ],
    [
      'an Ed25519 key for ES256 (key type and alg mismatched)',
      { ...jwkOf(ed25519.privateKey), kid: 'ed-as-es', alg: 'ES256' },
      jwkOf(ed25519.privateKey).d!,
    ],
    [
      'an RSA key for EdDSA (key type and alg mismatched)',
      { ...rsaPrivate, kid: 'rs-as-ed', alg: 'EdDSA' },
      rsaPrivate.d!,
    ],
  ];
}

async function refusal(attempt: Promise<unknown> | (() => unknown)): Promise<ConfigurationError> {
  try {
    await (typeof attempt === 'function' ? attempt() : attempt);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('the key was accepted');
}

function expectKeyRefused(error: ConfigurationError, kid: string, material: string): void {
  expect(error.code).toBe('ERR_KEY_INVALID');
  expect(error.message).toContain(`"${kid}"`);
  expect(error.message).not.toContain(material);
}

describe('MemoryKeyStore refuses a key the router cannot sign with, when it is added', () => {
  it.each(badJwks())(
    'fromJwks refuses %s with ERR_KEY_INVALID, naming its kid and quoting no key material',
    async (_name, jwk, material) => {
      const error = await refusal(MemoryKeyStore.fromJwks({ keys: [jwk] }));
      expectKeyRefused(error, jwk.kid!, material);
      expect(error.option).toBe('keys[0]');
    },
  );

  it.each(badJwks())('fromJwks refuses %s as a further (standby) key too', async (_name, jwk, material) => {
    const good = { ...jwkOf(p256.privateKey), kid: 'good' };
    const error = await refusal(MemoryKeyStore.fromJwks({ keys: [good, jwk] }));
    expectKeyRefused(error, jwk.kid!, material);
    expect(error.option).toBe('keys[1]');
  });

  it.each(badJwks())(
    'add refuses %s with ERR_KEY_INVALID, naming its kid and quoting no key material',
    async (_name, jwk, material) => {
      const store = await MemoryKeyStore.fromJwks({ keys: [{ ...jwkOf(p256.privateKey), kid: 'good' }] });
      expectKeyRefused(await refusal(store.add(jwk)), jwk.kid!, material);
      expect(store.list().map((key) => key.kid)).toEqual(['good']);
    },
  );

  it.each(badJwks())(
    'promote cannot make %s sign: the refused key is not held, and the active key keeps signing',
    async (_name, jwk) => {
      const store = await MemoryKeyStore.fromJwks({ keys: [{ ...jwkOf(p256.privateKey), kid: 'good' }] });
      await store.add(jwk).catch(() => undefined);
      const error = await refusal(() => store.promote(jwk.kid!));
      expect(error.code).toBe('ERR_KEY_INVALID');
      expect((await store.signingKey()).kid).toBe('good');
    },
  );

  it.each<[string, () => JWK]>([
    ['RS256 (2048-bit RSA)', () => ({ ...jwkOf(rsa2048.privateKey), alg: 'RS256' })],
    ['PS256 (2048-bit RSA)', () => ({ ...jwkOf(rsa2048.privateKey), alg: 'PS256' })],
    ['ES256 (P-256)', () => jwkOf(p256.privateKey)],
    ['EdDSA (Ed25519)', () => jwkOf(ed25519.privateKey)],
    ['a JWK with use "sig" and key_ops ["sign"]', () => ({ ...jwkOf(p256.privateKey), use: 'sig', key_ops: ['sign'] })],
  ])('accepts %s', async (_name, jwk) => {
    const store = await MemoryKeyStore.fromJwks({ keys: [jwk()] });
    const signing = await store.signingKey();
    expect(signingKeyProblem(signing)).toBeUndefined();
  });
});

describe('the rule "can this key sign with this alg" (lib/crypto/signing-key-check.ts)', () => {
  it('reaches its verdict once per key object and alg, then answers from the cache', () => {
    const key = p256.privateKey;
    expect(keyVerdict(key, 'ES256')).toBe(keyVerdict(key, 'ES256'));
    expect(keyVerdict(key, 'ES256').usable).toBe(true);
    expect(keyVerdict(key, 'RS256').usable).toBe(false);
  });
});

/** Signing keys a custom KeyStore might return that the router cannot sign with. */
const BAD_SIGNING_KEYS: Array<[string, SigningKey]> = [
  ['an RSA key under 2048 bits', { kid: 'small', alg: 'RS256', key: rsa1024.privateKey }],
  ['an EC key for RS256', { kid: 'ec-as-rs', alg: 'RS256', key: p256.privateKey }],
  ['a P-384 key for ES256', { kid: 'p384', alg: 'ES256', key: p384.privateKey }],
  ['a public-only key', { kid: 'public', alg: 'RS256', key: rsa2048.publicKey }],
  ['an HS256 secret', { kid: 'hmac', alg: 'HS256', key: createSecretKey(Buffer.alloc(32, 7)) }],
  ['a secret key claiming RS256', { kid: 'hmac', alg: 'RS256', key: createSecretKey(Buffer.alloc(32, 7)) }],
  ['an encryption CryptoKey (RSA-OAEP) for RS256', { kid: 'enc', alg: 'RS256', key: oaep.privateKey }],
  ['an alg the router does not sign with (RS384)', { kid: 'rs384', alg: 'RS384', key: rsa2048.privateKey }],
  ['an Ed25519 key for ES256', { kid: 'ed-as-es', alg: 'ES256', key: ed25519.privateKey }],
  ['a key that is not a key object', { kid: 'pem', alg: 'RS256', key: 'not a key' as never }],
  ['a signing key without a kid', { alg: 'ES256', key: p256.privateKey } as never],
];

/** A custom KeyStore whose signing key is whatever the test sets; it publishes the good key. */
async function switchableKeyStore(): Promise<{ keyStore: KeyStore; use(key: SigningKey | 'good'): void }> {
  const good = await sharedKeyStore();
  let current: SigningKey | 'good' = 'good';
  return {
    keyStore: {
      signingKey: () => (current === 'good' ? good.signingKey() : Promise.resolve(current)),
      publicJwks: () => good.publicJwks(),
    },
    use(key) {
      current = key;
    },
  };
}

describe('a custom KeyStore returning a key the router cannot sign with (docs/contract.md "Order of checks", step 6)', () => {
  let warning: jest.SpiedFunction<typeof process.emitWarning>;
  beforeEach(() => {
    warning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });
  afterEach(() => warning.mockRestore());

  it.each(BAD_SIGNING_KEYS)(
    '%s: 503 temporarily_unavailable before the code is spent; the same code works once a good key is back',
    async (name, bad) => {
      const { keyStore, use } = await switchableKeyStore();
      const events: TokenRouterEvent[] = [];
      const h = await harness({ keyStore, onEvent: (event) => void events.push(event) });
      const redeem = jest.spyOn(h.codeStore, 'redeem');
      const valid = await h.issue();
      use(bad);
      const res = await postToken(h.app, valid);
      expect({ key: name, status: res.status, error: res.body.error }).toEqual({
        key: name,
        status: 503,
        error: 'temporarily_unavailable',
      });
      expect(events).toContainEqual(expect.objectContaining({ type: 'request_rejected', reason: 'key_unavailable' }));
      expect(redeem).not.toHaveBeenCalled();
      use('good');
      expect((await postToken(h.app, valid)).status).toBe(200);
      h.close();
    },
  );

  it.each(BAD_SIGNING_KEYS)(
    '%s: 503 before the refresh token is spent, no family revoked; the same refresh token works once a good key is back',
    async (name, bad) => {
      const { keyStore, use } = await switchableKeyStore();
      const h = await harness({ keyStore });
      const { refresh_token: refreshToken } = await signIn(h);
      const rotate = jest.spyOn(h.refreshTokenStore, 'rotate');
      const revokeFamily = jest.spyOn(h.refreshTokenStore, 'revokeFamily');
      use(bad);
      const res = await postToken(h.app, refreshForm(refreshToken!));
      expect({ key: name, status: res.status, error: res.body.error }).toEqual({
        key: name,
        status: 503,
        error: 'temporarily_unavailable',
      });
      expect(rotate).not.toHaveBeenCalled();
      expect(revokeFamily).not.toHaveBeenCalled();
      expect(await h.refreshTokenStore.find(hashSecret(refreshToken!))).toBeDefined();
      use('good');
      expect((await postToken(h.app, refreshForm(refreshToken!))).status).toBe(200);
      h.close();
    },
  );

  it('warns once per bad key, naming its kid and the reason, never key material', async () => {
    const { keyStore, use } = await switchableKeyStore();
    const h = await harness({ keyStore });
    const bad = { kid: 'small-warned', alg: 'RS256', key: rsa(1024).privateKey };
    use(bad);
    await postToken(h.app, await h.issue());
    await postToken(h.app, await h.issue());
    const messages = warning.mock.calls
      .map(([message]) => String(message))
      .filter((message: string) => message.includes('small-warned'));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/1024 bits/);
    expect(messages[0]).not.toContain(jwkOf(bad.key).d!);
    h.close();
  });

  it('the answer says nothing of the key or why it was refused', async () => {
    const { keyStore, use } = await switchableKeyStore();
    const h = await harness({ keyStore });
    use({ kid: 'p384-quiet', alg: 'ES256', key: p384.privateKey });
    const res = await postToken(h.app, await h.issue());
    expect(res.status).toBe(503);
    expect(res.text).not.toMatch(/p384-quiet|P-384|curve/);
    h.close();
  });
});
