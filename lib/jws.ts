import { constants, KeyObject, sign, type SignKeyObjectInput, type webcrypto } from 'node:crypto';

/** The JOSE header of a signed token (RFC 7515 §4); `alg` picks the signature algorithm. */
export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

/** How node:crypto makes one JWS algorithm's signature, and which keys may make it. */
interface Algorithm {
  /** The digest handed to `crypto.sign`; `null` for EdDSA, which hashes internally. */
  digest: string | null;
  /** RSA padding and PSS salt length, or the ECDSA signature encoding. */
  options: Pick<SignKeyObjectInput, 'padding' | 'saltLength' | 'dsaEncoding'>;
  /** The KeyObject `asymmetricKeyType`s allowed. */
  keyTypes: readonly string[];
  /** For ECDSA: the curve (node:crypto's name, then WebCrypto's). */
  curve?: readonly [string, string];
  /** What a CryptoKey's `algorithm` must say (as jose requires): its name and, for RSA, hash. */
  webCrypto: { name: string; hash?: string };
}

const rsa = (bits: number, pss: boolean): Algorithm => ({
  digest: `sha${bits}`,
  // RFC 7518 §3.5: PSS with MGF1 over the same hash, and a salt as long as the hash output.
  options: pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 } : { padding: constants.RSA_PKCS1_PADDING },
  keyTypes: pss ? ['rsa', 'rsa-pss'] : ['rsa'],
  webCrypto: { name: pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', hash: `SHA-${bits}` },
});

const ecdsa = (bits: number, curve: readonly [string, string]): Algorithm => ({
  digest: `sha${bits}`,
  // RFC 7518 §3.4: the signature is R || S, fixed length, not DER.
  options: { dsaEncoding: 'ieee-p1363' },
  keyTypes: ['ec'],
  curve,
  webCrypto: { name: 'ECDSA' },
});

/** RFC 7518 §3.1 (the asymmetric ones) and RFC 8037 §3.1 (EdDSA with Ed25519). */
const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: rsa(256, false),
  RS384: rsa(384, false),
  RS512: rsa(512, false),
  PS256: rsa(256, true),
  PS384: rsa(384, true),
  PS512: rsa(512, true),
  ES256: ecdsa(256, ['prime256v1', 'P-256']),
  ES384: ecdsa(384, ['secp384r1', 'P-384']),
  ES512: ecdsa(512, ['secp521r1', 'P-521']),
  EdDSA: { digest: null, options: {}, keyTypes: ['ed25519'], webCrypto: { name: 'Ed25519' } },
};

/** RFC 7518 §3.3: RSA keys of at least 2048 bits. */
const MIN_RSA_BITS = 2048;

interface PreparedKey {
  alg: string;
  digest: string | null;
  input: SignKeyObjectInput;
}

/**
 * Keys already checked and converted, by the key object the key store handed out: a CryptoKey
 * becomes a KeyObject once, not on every request. Weak, so a retired key can be collected.
 */
const prepared = new WeakMap<webcrypto.CryptoKey | KeyObject, PreparedKey>();

/**
 * Sign `payload` as a JWS in compact serialization (RFC 7515 §7.1):
 * BASE64URL(UTF8(header)) "." BASE64URL(payload JSON) "." BASE64URL(signature).
 *
 * The signature is made by node:crypto's asynchronous `sign`, on libuv's thread pool, so the
 * event loop keeps serving while RSA works; the benchmark (README "Performance") shows it faster
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

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function prepare(key: webcrypto.CryptoKey | KeyObject, alg: string): PreparedKey {
  const cached = prepared.get(key);
  if (cached?.alg === alg) return cached;
  const algorithm = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
  if (algorithm === undefined) throw new TypeError(`unsupported JWS algorithm ${JSON.stringify(alg)}`);
  const keyObject = key instanceof KeyObject ? key : fromCryptoKey(key, alg, algorithm);
  checkKeyObject(keyObject, alg, algorithm);
  const entry: PreparedKey = { alg, digest: algorithm.digest, input: { key: keyObject, ...algorithm.options } };
  prepared.set(key, entry);
  return entry;
}

function fromCryptoKey(key: webcrypto.CryptoKey, alg: string, algorithm: Algorithm): KeyObject {
  const unusable = (why: string): never => {
    throw new TypeError(`the ${alg} signing key ${why}`);
  };
  if (typeof key !== 'object' || key === null || typeof key.algorithm !== 'object') {
    return unusable('must be a CryptoKey or a KeyObject');
  }
  const { name, hash } = key.algorithm as { name: string; hash?: { name: string } };
  if (name !== algorithm.webCrypto.name) unusable(`must be an ${algorithm.webCrypto.name} CryptoKey; it is ${name}`);
  if (algorithm.webCrypto.hash !== undefined && hash?.name !== algorithm.webCrypto.hash) {
    unusable(`must be bound to ${algorithm.webCrypto.hash}`);
  }
  if (!key.usages.includes('sign')) unusable('must allow the "sign" usage');
  return KeyObject.from(key);
}

function checkKeyObject(key: KeyObject, alg: string, algorithm: Algorithm): void {
  const unusable = (why: string): never => {
    throw new TypeError(`the ${alg} signing key ${why}`);
  };
  if (key.type !== 'private') unusable(`must be a private key; it is ${key.type}`);
  const type = key.asymmetricKeyType ?? '';
  if (!algorithm.keyTypes.includes(type)) unusable(`must be of type ${algorithm.keyTypes.join(' or ')}; it is ${type}`);
  const details = key.asymmetricKeyDetails ?? {};
  if (type.startsWith('rsa') && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    unusable(`must have at least ${MIN_RSA_BITS} bits`);
  }
  if (algorithm.curve !== undefined && details.namedCurve !== algorithm.curve[0]) {
    unusable(`must be on curve ${algorithm.curve[1]}`);
  }
}
