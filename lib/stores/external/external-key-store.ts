import { ConfigurationError } from '../../config/configuration-error.js';
import type { ExternalKeyStore, ExternalSigningKey } from '../../contracts.js';
import { publicPartOf } from '../../crypto/public-jwk.js';
import { isExternal, signingKeyProblem } from '../../crypto/signing-key-check.js';

/** Options of {@link externalKeyStore}. */
export interface ExternalKeyStoreOptions {
  /**
   * The keys, each a `{ kid, alg, publicJwk, sign }` whose private key stays outside the process
   * (a KMS, an HSM, a child process): the first signs, all are published.
   */
  keys: readonly ExternalSigningKey[];
}

/**
 * A key store of external signing keys (docs/external-signers.md): the first key signs, and the
 * public JWK of every key is published. Each key is checked here, as the token endpoint checks
 * it at step 6 (docs/contract.md "Order of checks"), so a key the router cannot use is a
 * `ConfigurationError` at startup. To rotate, publish the next key as a further entry first, and
 * give it first place once every cached JWKS holds it (after `jwksMaxAge`), as docs/keys.md says.
 */
export function externalKeyStore(options: ExternalKeyStoreOptions): ExternalKeyStore {
  const keys = options?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigurationError(
      'ERR_KEY_INVALID',
      'keys',
      'externalKeyStore: keys must be an array of at least one { kid, alg, publicJwk, sign }',
    );
  }
  const kids = new Set<string>();
  const published = keys.map((key: ExternalSigningKey, index) => {
    const problem =
      typeof key === 'object' && key !== null && isExternal(key)
        ? signingKeyProblem(key)
        : 'is not a { kid, alg, publicJwk, sign } object';
    if (problem !== undefined) {
      throw new ConfigurationError('ERR_KEY_INVALID', `keys[${index}]`, `externalKeyStore: keys[${index}] ${problem}`);
    }
    if (kids.has(key.kid)) {
      throw new ConfigurationError(
        'ERR_KEY_INVALID',
        `keys[${index}]`,
        'externalKeyStore: every key needs a distinct kid',
      );
    }
    kids.add(key.kid);
    return { ...publicPartOf(key.publicJwk), kid: key.kid, alg: key.alg, use: 'sig' };
  });
  // biome-ignore lint/style/noNonNullAssertion: keys has at least one entry, checked above
  const signing = keys[0]!;
  return {
    signingKey: () => Promise.resolve(signing),
    publicJwks: () => Promise.resolve({ keys: published.map((jwk) => ({ ...jwk })) }),
  };
}
