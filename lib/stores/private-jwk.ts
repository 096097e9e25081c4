import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { ConfigurationError, describeValue } from '../config/configuration-error.js';
import type { SigningKey } from '../contracts.js';
import { publicPartOf } from '../crypto/public-jwk.js';
import { jwkProblem, keyVerdict, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../crypto/signing-key-check.js';

/*
 * What every key store that holds private keys shares: a private JWK checked and imported, or a
 * fresh key pair, each with the public JWK the JWKS endpoint serves.
 */

/** A private key ready to sign, with its public JWK. */
export interface PrivateKeyPair {
  signing: SigningKey;
  publicJwk: JWK;
}

/** The algorithm a private JWK without `alg` is used with. */
function inferAlgorithm(jwk: JWK): SigningAlgorithm | undefined {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return undefined;
}

/** `alg` checked as one the router signs with (RS256 when absent). */
export function signingAlgorithm(alg: unknown, owner?: string): SigningAlgorithm {
  if (alg === undefined) return 'RS256';
  if (!SIGNING_ALGORITHMS.includes(alg as SigningAlgorithm)) {
    throw new ConfigurationError(
      'ERR_KEY_INVALID',
      'alg',
      `${owner === undefined ? '' : `${owner}: `}alg must be one of ${SIGNING_ALGORITHMS.join(', ')}; received ${describeValue(alg)}`,
    );
  }
  return alg as SigningAlgorithm;
}

/** A fresh key pair for `alg` (RS256, 2048-bit, by default) under a random UUID `kid`. */
export async function generateKeyPairFor(alg?: SigningAlgorithm): Promise<PrivateKeyPair> {
  const checked = signingAlgorithm(alg);
  const { privateKey, publicKey } = await generateKeyPair(checked, { modulusLength: 2048 });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: checked, use: 'sig' };
  return { signing: { kid, alg: checked, key: privateKey }, publicJwk };
}

/**
 * A fresh private JWK for `alg` under a random UUID `kid`: for a store that keeps keys outside
 * the process (encrypted), so it must be able to write the private key out.
 */
export async function generatePrivateJwk(alg: SigningAlgorithm): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { modulusLength: 2048, extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg, use: 'sig' };
}

/**
 * A private JWK as a key pair, refused with ERR_KEY_INVALID unless the router can sign with it
 * (signing-key-check.ts): so a bad key fails here, at startup or rotation, not at signing time
 * after a code or refresh token was spent.
 */
export async function importPrivateJwk(jwk: JWK, method: string, name: string): Promise<PrivateKeyPair> {
  const fail = (why: string): never => {
    // The kid says which key; nothing else of the key is quoted.
    const kid =
      typeof jwk === 'object' && jwk !== null && typeof jwk.kid === 'string' ? ` (kid ${describeValue(jwk.kid)})` : '';
    throw new ConfigurationError('ERR_KEY_INVALID', name, `${method}: ${name}${kid} ${why}`);
  };
  if (typeof jwk !== 'object' || jwk === null) return fail('is not a JWK object');
  const alg = jwk.alg ?? inferAlgorithm(jwk);
  const problem = jwkProblem(jwk, alg);
  if (problem !== undefined || alg === undefined) return fail(problem ?? 'has no alg');
  // The thumbprint (RFC 7638 §3.2) reads only the key type's required members.
  const publicPart = publicPartOf(jwk) ?? fail('has an unsupported kty');
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicPart));
  let key: SigningKey['key'];
  try {
    key = (await importJWK({ ...jwk, alg }, alg)) as SigningKey['key'];
  } catch {
    // The library's message may quote key material; say only which key failed.
    return fail(`cannot be imported as an ${alg} private key`);
  }
  const verdict = keyVerdict(key, alg);
  if (!verdict.usable) return fail(verdict.why);
  return { signing: { kid, alg, key }, publicJwk: { ...publicPart, kid, alg, use: 'sig' } };
}
