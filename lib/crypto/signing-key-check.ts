import { createPublicKey, type JsonWebKey, KeyObject, type webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import { describeValue } from '../config/configuration-error.js';
import type { ExternalSigningKey } from '../contracts.js';

/*
 * One rule for "can this key sign with this alg", read by MemoryKeyStore when a key is added and
 * by the token endpoint on the key a custom KeyStore returns (docs/contract.md "Order of checks", step 6), so a
 * key the router cannot sign with is refused before a code or refresh token is spent.
 */

/** The JWS algorithms the router signs tokens with (docs/keys.md). */
export const SIGNING_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;

/** The JWS algorithms a key store may sign with. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** What a key must be to make one JWS algorithm's signatures. */
interface KeyRequirement {
  /** The JWK `kty` (RFC 7518 §6.1). */
  kty: 'RSA' | 'EC' | 'OKP';
  /** For EC and OKP: the JWK `crv`, which is also WebCrypto's name for the curve. */
  crv?: string;
  /** node:crypto's name for the curve, as `asymmetricKeyDetails.namedCurve` gives it. */
  nodeCurve?: string;
  /** The KeyObject `asymmetricKeyType`s allowed. */
  keyTypes: readonly string[];
  /** What a CryptoKey's `algorithm` must say (as jose requires): its name and, for RSA, hash. */
  webCrypto: { name: string; hash?: string };
}

const rsa = (bits: number, pss: boolean): KeyRequirement => ({
  kty: 'RSA',
  keyTypes: pss ? ['rsa', 'rsa-pss'] : ['rsa'],
  webCrypto: { name: pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', hash: `SHA-${bits}` },
});

const ecdsa = (crv: string, nodeCurve: string): KeyRequirement => ({
  kty: 'EC',
  crv,
  nodeCurve,
  keyTypes: ['ec'],
  webCrypto: { name: 'ECDSA' },
});

/** RFC 7518 §3.1 (the asymmetric ones) and RFC 8037 §3.1 (EdDSA with Ed25519): what jws.ts signs. */
const REQUIREMENTS: Readonly<Record<string, KeyRequirement>> = {
  RS256: rsa(256, false),
  RS384: rsa(384, false),
  RS512: rsa(512, false),
  PS256: rsa(256, true),
  PS384: rsa(384, true),
  PS512: rsa(512, true),
  ES256: ecdsa('P-256', 'prime256v1'),
  ES384: ecdsa('P-384', 'secp384r1'),
  ES512: ecdsa('P-521', 'secp521r1'),
  EdDSA: { kty: 'OKP', crv: 'Ed25519', keyTypes: ['ed25519'], webCrypto: { name: 'Ed25519' } },
};

/** RFC 7518 §3.3 (and §3.5 for PSS): RSA keys of at least 2048 bits. */
const MIN_RSA_BITS = 2048;

/** Whether a key can make an algorithm's signatures: with the KeyObject to sign with, or why not. */
export type KeyVerdict = { usable: true; keyObject: KeyObject } | { usable: false; why: string };

/**
 * Verdicts already reached, by the key object a key store handed out, then by alg: the check (and
 * a CryptoKey's conversion to a KeyObject) runs once per key, not on every request. Weak, so a
 * retired key can be collected.
 */
const verdicts = new WeakMap<object, Map<string, KeyVerdict>>();

/**
 * Whether `key` (a CryptoKey or a KeyObject) can sign `alg`, any asymmetric JWS algorithm jws.ts
 * makes. A `why` names types, curves and sizes, never key material.
 */
export function keyVerdict(key: unknown, alg: string): KeyVerdict {
  if (typeof key !== 'object' || key === null) return { usable: false, why: 'is not a CryptoKey or a KeyObject' };
  let byAlg = verdicts.get(key);
  const cached = byAlg?.get(alg);
  if (cached !== undefined) return cached;
  const verdict = judge(key, alg);
  if (byAlg === undefined) {
    byAlg = new Map();
    verdicts.set(key, byAlg);
  }
  byAlg.set(alg, verdict);
  return verdict;
}

function judge(key: object, alg: string): KeyVerdict {
  const requirement = requirementOf(alg);
  if (requirement === undefined)
    return { usable: false, why: `cannot sign ${describeValue(alg)}, not a JWS algorithm it knows` };
  try {
    const keyObject = key instanceof KeyObject ? key : fromCryptoKey(key, alg, requirement);
    checkKeyObject(keyObject, alg, requirement);
    return { usable: true, keyObject };
  } catch (error) {
    if (error instanceof Unusable) return { usable: false, why: error.message };
    // KeyObject.from's own message may describe the key; say only that it is not one.
    return { usable: false, why: 'is not a CryptoKey or a KeyObject' };
  }
}

class Unusable extends Error {}

function fromCryptoKey(key: object, alg: string, requirement: KeyRequirement): KeyObject {
  const algorithm = (key as { algorithm?: unknown }).algorithm;
  if (typeof algorithm !== 'object' || algorithm === null) throw new Unusable('is not a CryptoKey or a KeyObject');
  const cryptoKey = key as webcrypto.CryptoKey;
  const { name, hash } = algorithm as { name?: unknown; hash?: { name?: unknown } };
  const expected = requirement.webCrypto;
  if (name !== expected.name) {
    throw new Unusable(`is a CryptoKey for ${describeValue(name)}; ${alg} needs ${expected.name}`);
  }
  if (expected.hash !== undefined && hash?.name !== expected.hash) {
    throw new Unusable(`is a CryptoKey bound to ${describeValue(hash?.name)}; ${alg} needs ${expected.hash}`);
  }
  if (cryptoKey.type !== 'private')
    throw new Unusable(`is a ${describeValue(cryptoKey.type)} key; signing needs the private key`);
  if (!Array.isArray(cryptoKey.usages) || !cryptoKey.usages.includes('sign')) {
    throw new Unusable('is a CryptoKey without the "sign" usage');
  }
  return KeyObject.from(cryptoKey);
}

function checkKeyObject(
  key: KeyObject,
  alg: string,
  requirement: KeyRequirement,
  expected: 'private' | 'public' = 'private',
): void {
  if (key.type !== expected) {
    throw new Unusable(
      expected === 'private'
        ? `is a ${key.type} key; signing needs the private key`
        : `is a ${key.type} key; an external signer's publicJwk is the public key`,
    );
  }
  const type = key.asymmetricKeyType ?? '';
  if (!requirement.keyTypes.includes(type)) {
    throw new Unusable(`is of type ${type}; ${alg} needs ${requirement.keyTypes.join(' or ')}`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  const bits = details.modulusLength ?? 0;
  if (requirement.kty === 'RSA' && bits < MIN_RSA_BITS) {
    throw new Unusable(`has ${bits} bits; ${alg} needs at least ${MIN_RSA_BITS} (RFC 7518 §3.3)`);
  }
  if (requirement.nodeCurve !== undefined && details.namedCurve !== requirement.nodeCurve) {
    throw new Unusable(`is on curve ${details.namedCurve ?? 'unknown'}; ${alg} needs ${requirement.crv}`);
  }
}

function requirementOf(alg: string): KeyRequirement | undefined {
  return Object.hasOwn(REQUIREMENTS, alg) ? REQUIREMENTS[alg] : undefined;
}

function isSigningAlgorithm(alg: unknown): alg is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly unknown[]).includes(alg);
}

/**
 * Why a private JWK cannot be imported to sign `alg` (its own, or the default for its type), or
 * `undefined`. Read before the import, so the reason is the key's, not the library's.
 */
export function jwkProblem(jwk: JWK, alg: string | undefined): string | undefined {
  if (jwk.kty === 'oct') {
    return `is a shared secret (kty "oct"); tokens are signed with a private key (${SIGNING_ALGORITHMS.join(', ')})`;
  }
  // RFC 7517 §4.2 and §4.3: a key marked for encryption, or not for signing, is not used to sign.
  if (jwk.use !== undefined && jwk.use !== 'sig')
    return `is marked use ${describeValue(jwk.use)}, not "sig" (RFC 7517 §4.2)`;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('sign'))) {
    return 'has key_ops without "sign" (RFC 7517 §4.3)';
  }
  if (alg === undefined) {
    return `has no alg, and a ${describeValue(jwk.kty)} key${jwk.crv === undefined ? '' : ` on ${describeValue(jwk.crv)}`} has no default; supported: ${SIGNING_ALGORITHMS.join(', ')}`;
  }
  if (!isSigningAlgorithm(alg)) return `has alg ${describeValue(alg)}; supported: ${SIGNING_ALGORITHMS.join(', ')}`;
  // biome-ignore lint/style/noNonNullAssertion: isSigningAlgorithm(alg) means REQUIREMENTS has it
  const requirement = REQUIREMENTS[alg]!;
  if (jwk.kty !== requirement.kty) return `is a ${describeValue(jwk.kty)} key; ${alg} needs kty "${requirement.kty}"`;
  if (requirement.crv !== undefined && jwk.crv !== requirement.crv) {
    return `is on curve ${describeValue(jwk.crv)}; ${alg} needs ${requirement.crv}`;
  }
  if (jwk.d === undefined) return 'is a public key (no "d"); signing needs the private key';
  return undefined;
}

/**
 * Why the router cannot sign tokens with what a key store's `signingKey()` resolved to, or
 * `undefined`: a `{ kid, alg, key }` with a non-empty `kid`, an `alg` of {@link SIGNING_ALGORITHMS}
 * and a key that can sign it. Cheap on the hot path: the key's verdict is cached.
 */
export function signingKeyProblem(signing: unknown): string | undefined {
  if (typeof signing !== 'object' || signing === null) return 'is not a { kid, alg, key } object';
  const { kid, alg, key } = signing as Record<string, unknown>;
  if (typeof kid !== 'string' || kid === '') return 'has no kid (a non-empty string)';
  if (!isSigningAlgorithm(alg))
    return `has alg ${describeValue(alg)}; the router signs ${SIGNING_ALGORITHMS.join(', ')}`;
  if (isExternal(signing)) {
    if (key !== undefined) return `(kid ${describeValue(kid)}) has both a key and sign(); give one of them`;
    const verdict = externalKeyVerdict(signing as ExternalSigningKey);
    return verdict.usable ? undefined : `(kid ${describeValue(kid)}) ${verdict.why}`;
  }
  const verdict = keyVerdict(key, alg);
  return verdict.usable ? undefined : `(kid ${describeValue(kid)}) ${verdict.why}`;
}

/** Whether a key store's key is an external one: it brings `sign()` instead of a key. */
export function isExternal(signing: object): signing is ExternalSigningKey {
  return typeof (signing as { sign?: unknown }).sign === 'function';
}

/** The default and the bound of {@link ExternalSigningKey.timeoutMs}, in milliseconds. */
export const EXTERNAL_SIGN_TIMEOUT_MS = { default: 2_000, max: 30_000 } as const;

/** What the router needs to use an external key: the key to verify with, and the signature's size. */
export type ExternalKeyVerdict =
  | { usable: true; publicKey: KeyObject; signatureLength: number; timeoutMs: number }
  | { usable: false; why: string };

/** External keys' verdicts, by their `publicJwk` object, then by alg: the JWK is imported once. */
const externalVerdicts = new WeakMap<object, Map<string, ExternalKeyVerdict>>();

/**
 * Whether the router can sign with an external key: an `alg` it signs, a public JWK that suits it
 * and has no private member, a `timeoutMs` within bounds. Cached by the `publicJwk` object.
 */
export function externalKeyVerdict(signing: ExternalSigningKey): ExternalKeyVerdict {
  const { timeoutMs = EXTERNAL_SIGN_TIMEOUT_MS.default, alg, publicJwk } = signing;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > EXTERNAL_SIGN_TIMEOUT_MS.max) {
    return {
      usable: false,
      why: `has timeoutMs ${describeValue(timeoutMs)}; give whole milliseconds from 1 to ${EXTERNAL_SIGN_TIMEOUT_MS.max}`,
    };
  }
  if (typeof publicJwk !== 'object' || publicJwk === null)
    return publicJwkVerdict(publicJwk, alg) as ExternalKeyVerdict;
  let byAlg = externalVerdicts.get(publicJwk);
  let verdict = byAlg?.get(alg);
  if (verdict === undefined) {
    const checked = publicJwkVerdict(publicJwk, alg);
    verdict = checked.usable
      ? {
          usable: true,
          publicKey: checked.publicKey,
          signatureLength: signatureLengthOf(checked.publicKey, alg),
          timeoutMs,
        }
      : checked;
    if (byAlg === undefined) {
      byAlg = new Map();
      externalVerdicts.set(publicJwk, byAlg);
    }
    byAlg.set(alg, verdict);
  }
  return verdict.usable ? { ...verdict, timeoutMs } : verdict;
}

/**
 * RFC 7518 §3.3 and §3.5: an RSA signature is as long as the modulus; §3.4: ES256, ES384 and
 * ES512 are R || S, each the curve's size (32, 48, 66 bytes); RFC 8032 §5.1.6: Ed25519's is 64.
 */
function signatureLengthOf(publicKey: KeyObject, alg: string): number {
  if (alg.startsWith('ES')) return { ES256: 64, ES384: 96, ES512: 132 }[alg] ?? 0;
  if (alg === 'EdDSA') return 64;
  return Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

/** Problems already warned about, by key object; problems of a key that is no object, by text. */
const warnedByKey = new WeakMap<object, Set<string>>();
const warnedWithoutKey = new Set<string>();
/** Enough for every distinct mistake a store makes, without growing on a stream of them. */
const MAX_WARNED_WITHOUT_KEY = 16;

/**
 * {@link signingKeyProblem} for the key a key store returned at request time, with a process
 * warning the first time each problem is met (the request's answer is a bare 503; the operator
 * needs the why). The warning names the `kid` and the problem, never key material.
 */
export function checkStoreSigningKey(signing: unknown): string | undefined {
  const problem = signingKeyProblem(signing);
  if (problem === undefined) return undefined;
  const key = typeof signing === 'object' && signing !== null ? (signing as { key?: unknown }).key : undefined;
  let warned: Set<string>;
  if (typeof key === 'object' && key !== null) {
    warned = warnedByKey.get(key) ?? new Set();
    warnedByKey.set(key, warned);
  } else {
    warned = warnedWithoutKey;
    if (warned.size >= MAX_WARNED_WITHOUT_KEY) return problem;
  }
  if (!warned.has(problem)) {
    warned.add(problem);
    process.emitWarning(
      `the key store's signing key ${problem}; token requests are answered 503 temporarily_unavailable, and nothing is spent, until it returns a key the router can sign with`,
      { code: 'PKCE_TOKEN_ROUTER_SIGNING_KEY' },
    );
  }
  return problem;
}

/** Whether a public JWK can verify `alg` signatures: with its KeyObject, or why not. */
export type PublicKeyVerdict = { usable: true; publicKey: KeyObject } | { usable: false; why: string };

/** The private members of RSA, EC and OKP JWKs (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2), and `oct`'s `k`. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Whether `jwk`, an external signer's public key, suits `alg` by the rules a private key meets
 * here (type, curve, RSA size), and holds no private member: the JWKS endpoint publishes it.
 */
export function publicJwkVerdict(jwk: unknown, alg: string): PublicKeyVerdict {
  if (typeof jwk !== 'object' || jwk === null) return { usable: false, why: 'has no publicJwk (a JWK object)' };
  const members = jwk as Record<string, unknown>;
  const privateMember = PRIVATE_MEMBERS.find((member) => members[member] !== undefined);
  if (privateMember !== undefined) {
    return {
      usable: false,
      why: `has a publicJwk with the private member "${privateMember}"; give the public key only`,
    };
  }
  const requirement = requirementOf(alg);
  if (requirement === undefined) return { usable: false, why: `cannot sign ${describeValue(alg)}` };
  if (members.kty !== requirement.kty) {
    return {
      usable: false,
      why: `has a publicJwk of kty ${describeValue(members.kty)}; ${alg} needs "${requirement.kty}"`,
    };
  }
  if (requirement.crv !== undefined && members.crv !== requirement.crv) {
    return {
      usable: false,
      why: `has a publicJwk on curve ${describeValue(members.crv)}; ${alg} needs ${requirement.crv}`,
    };
  }
  try {
    const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    checkKeyObject(publicKey, alg, requirement, 'public');
    return { usable: true, publicKey };
  } catch (error) {
    if (error instanceof Unusable) return { usable: false, why: error.message };
    return { usable: false, why: 'has a publicJwk that is not a valid public key' };
  }
}
