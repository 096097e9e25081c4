import type { JWK } from 'jose';
import type { RouterConfig } from '../config/configuration.js';
import { publicPartOf } from '../crypto/public-jwk.js';
import { publicJsonEndpoint } from './public-json.js';

/**
 * `GET {jwksPath}`: the public keys (docs/contract.md "Public keys"). Whatever the key store returns, only
 * public members are served: a store that hands back a private key leaks nothing here.
 */
export function jwksEndpoint(config: RouterConfig) {
  return publicJsonEndpoint(config, async () => ({ keys: publicKeysOf(await config.keyStore.publicJwks()) }));
}

/** The public part of every key in a key store's answer; throws if the answer is not a JWKS. */
export function publicKeysOf(jwks: { keys: JWK[] }): JWK[] {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
    throw new TypeError('the key store gave no { keys: [...] }');
  }
  return jwks.keys.map((jwk) => {
    const publicPart = typeof jwk === 'object' && jwk !== null ? publicPartOf(jwk) : undefined;
    if (publicPart === undefined) throw new TypeError('the key store gave a key with no public part');
    return publicPart;
  });
}
