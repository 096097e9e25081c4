import { constants, type KeyObject, type SignKeyObjectInput, sign, type webcrypto } from 'node:crypto';
import { keyVerdict } from './signing-key-check.js';

/** The JOSE header of a signed token (RFC 7515 §4); `alg` picks the signature algorithm. */
export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

/** How node:crypto makes one JWS algorithm's signature; which keys may make it is signing-key-check.ts's rule. */
export interface Algorithm {
  /** The digest handed to `crypto.sign`; `null` for EdDSA, which hashes internally. */
  digest: string | null;
  /** RSA padding and PSS salt length, or the ECDSA signature encoding. */
  options: Pick<SignKeyObjectInput, 'padding' | 'saltLength' | 'dsaEncoding'>;
}

const rsa = (bits: number, pss: boolean): Algorithm => ({
  digest: `sha${bits}`,
  // RFC 7518 §3.5: PSS with MGF1 over the same hash, and a salt as long as the hash output.
  options: pss
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 }
    : { padding: constants.RSA_PKCS1_PADDING },
});

// RFC 7518 §3.4: the signature is R || S, fixed length, not DER.
const ecdsa = (bits: number): Algorithm => ({ digest: `sha${bits}`, options: { dsaEncoding: 'ieee-p1363' } });

/** RFC 7518 §3.1 (the asymmetric ones) and RFC 8037 §3.1 (EdDSA with Ed25519). */
const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: rsa(256, false),
  RS384: rsa(384, false),
  RS512: rsa(512, false),
  PS256: rsa(256, true),
  PS384: rsa(384, true),
  PS512: rsa(512, true),
  ES256: ecdsa(256),
  ES384: ecdsa(384),
  ES512: ecdsa(512),
  EdDSA: { digest: null, options: {} },
};

/**
 * Sign `payload` as a JWS in compact serialization (RFC 7515 §7.1):
 * BASE64URL(UTF8(header)) "." BASE64URL(payload JSON) "." BASE64URL(signature).
 *
 * The signature is made by node:crypto's asynchronous `sign`, on libuv's thread pool, so the
 * event loop keeps serving while RSA works; the benchmark (docs/performance.md) shows it faster
 * than WebCrypto through jose. A key that does not suit `header.alg` is refused with a
 * `TypeError`, as jose would refuse it.
 */
export async function signCompactJws(
  header: JwsHeader,
  payload: object,
  key: webcrypto.CryptoKey | KeyObject,
): Promise<string> {
  const { digest, input } = prepare(key, header.alg);
  const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`;
  const signature = await new Promise<Buffer>((resolve, reject) => {
    sign(digest, Buffer.from(signingInput), input, (error, result) => (error ? reject(error) : resolve(result)));
  });
  return `${signingInput}.${signature.toString('base64url')}`;
}

export function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * The digest and `crypto.sign` input for `key` and `alg`. The key's check, and a CryptoKey's
 * conversion to a KeyObject, happen once per key (signing-key-check.ts caches the verdict).
 */
/** How node:crypto makes and checks `alg` signatures, or `undefined` for an algorithm it does not know. */
export function jwsAlgorithm(alg: string): Algorithm | undefined {
  return Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
}

function prepare(
  key: webcrypto.CryptoKey | KeyObject,
  alg: string,
): { digest: string | null; input: SignKeyObjectInput } {
  const algorithm = jwsAlgorithm(alg);
  if (algorithm === undefined) throw new TypeError(`unsupported JWS algorithm ${JSON.stringify(alg)}`);
  const verdict = keyVerdict(key, alg);
  if (!verdict.usable) throw new TypeError(`the ${alg} signing key ${verdict.why}`);
  return { digest: algorithm.digest, input: { key: verdict.keyObject, ...algorithm.options } };
}
