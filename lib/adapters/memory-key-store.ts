import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { ConfigurationError, describeValue } from '../configuration-error.js';
import type { KeyStore, SigningKey } from './interfaces.js';

/** The JWS algorithms a key store may sign with. */
export type SigningAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** The members of each key type that are public (RFC 7518 §6, RFC 8037 §2). */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

/** The algorithm a private JWK without `alg` is used with. */
function inferAlgorithm(jwk: JWK): SigningAlgorithm | undefined {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return undefined;
}

interface HeldKey {
  signing: SigningKey;
  publicJwk: JWK;
}

/**
 * Signing keys held in this process. The first key signs; every key is published in the JWKS.
 * For several processes, give each the same keys with {@link MemoryKeyStore.fromJwks}.
 */
export class MemoryKeyStore implements KeyStore {
  readonly #keys: readonly HeldKey[];
  readonly #jwks: { keys: JWK[] };

  private constructor(keys: readonly HeldKey[]) {
    this.#keys = keys;
    this.#jwks = { keys: keys.map((held) => held.publicJwk) };
  }

  /** A store with one fresh key: RS256 with 2048-bit RSA by default, and a random UUID `kid`. */
  static async generate(options: { alg?: SigningAlgorithm } = {}): Promise<MemoryKeyStore> {
    const alg = options.alg ?? 'RS256';
    if (!SIGNING_ALGORITHMS.includes(alg)) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        'alg',
        `alg must be one of ${SIGNING_ALGORITHMS.join(', ')}; received ${describeValue(alg)}`,
      );
    }
    const { privateKey, publicKey } = await generateKeyPair(alg, { modulusLength: 2048 });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    return new MemoryKeyStore([{ signing: { kid, alg, key: privateKey }, publicJwk }]);
  }

  /**
   * A store over private JWKs (`{ keys: [...] }`): the first signs, all are published.
   * A key without `kid` gets its RFC 7638 thumbprint; without `alg`, the usual one for its type.
   */
  static async fromJwks(jwks: { keys: JWK[] }): Promise<MemoryKeyStore> {
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
      throw new ConfigurationError('ERR_KEY_INVALID', 'keys', 'fromJwks takes { keys: [...] } with at least one private JWK');
    }
    const held = await Promise.all(jwks.keys.map((jwk, index) => importPrivateJwk(jwk, index)));
    const kids = new Set(held.map((key) => key.signing.kid));
    if (kids.size !== held.length) {
      throw new ConfigurationError('ERR_KEY_INVALID', 'keys', 'fromJwks: every key needs a distinct kid');
    }
    return new MemoryKeyStore(held);
  }

  signingKey(): Promise<SigningKey> {
    return Promise.resolve(this.#keys[0]!.signing);
  }

  publicJwks(): Promise<{ keys: JWK[] }> {
    return Promise.resolve(structuredClone(this.#jwks));
  }
}

async function importPrivateJwk(jwk: JWK, index: number): Promise<HeldKey> {
  const fail = (why: string): never => {
    throw new ConfigurationError('ERR_KEY_INVALID', `keys[${index}]`, `fromJwks: keys[${index}] ${why}`);
  };
  if (typeof jwk !== 'object' || jwk === null) return fail('is not a JWK object');
  if (jwk.d === undefined) return fail('is not a private key (no "d")');
  const alg = jwk.alg ?? inferAlgorithm(jwk);
  if (alg === undefined || !(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    return fail(`has an unsupported alg; supported: ${SIGNING_ALGORITHMS.join(', ')}`);
  }
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''] ?? fail('has an unsupported kty');
  const publicPart: JWK = {};
  for (const member of members) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value === 'string') (publicPart as Record<string, unknown>)[member] = value;
  }
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicPart));
  let key: SigningKey['key'];
  try {
    key = (await importJWK({ ...jwk, alg }, alg)) as SigningKey['key'];
  } catch {
    // The library's message may quote key material; say only which key failed.
    return fail(`cannot be imported as an ${alg} private key`);
  }
  return { signing: { kid, alg, key }, publicJwk: { ...publicPart, kid, alg, use: 'sig' } };
}
