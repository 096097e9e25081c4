import { generateKeyPairSync, type KeyObject, sign as nodeSign } from 'node:crypto';
import type { JWK } from 'jose';
import {
  derToJoseSignature,
  type ExternalKeyStore,
  type ExternalSigningKey,
  externalKeyStore,
} from '../../../lib/index.js';
import type { ExternalKeyStoreFixture } from '../../../lib/testing/index.js';

/**
 * A KMS in this process, as a test can have one: it holds an ES256 private key, answers a
 * signature in DER as AWS KMS `Sign` does for ECDSA_SHA_256 (docs/external-signers.md "A cloud
 * KMS"), asynchronously, and can be taken down, when every call rejects.
 */
export class FakeKms {
  down = false;
  readonly publicJwk: JWK;
  readonly #privateKey: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    this.publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
  }

  /** The private key, for the tests of adapters that leak it. */
  get privateKey(): KeyObject {
    return this.#privateKey;
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.down) {
        reject(new Error('the KMS is unreachable'));
        return;
      }
      nodeSign('sha256', message, { key: this.#privateKey, dsaEncoding: 'der' }, (error, signature) =>
        error ? reject(error) : resolve(new Uint8Array(signature)),
      );
    });
  }
}

export const KMS_KID = 'kms-key-1';

/** A host's KMS adapter done right: the DER answer made R || S, one key, published by externalKeyStore. */
export function kmsSigningKey(kms: FakeKms): ExternalSigningKey {
  return {
    kid: KMS_KID,
    alg: 'ES256',
    publicJwk: kms.publicJwk,
    timeoutMs: 1_000,
    async sign(signingInput) {
      return derToJoseSignature(await kms.sign(signingInput), 'ES256');
    },
  };
}

/** A fixture of the contract suite: `store` over a fresh FakeKms, which `failSigning` takes down. */
export function kmsFixture(
  store: (kms: FakeKms) => ExternalKeyStore = (kms) => externalKeyStore({ keys: [kmsSigningKey(kms)] }),
): ExternalKeyStoreFixture {
  const kms = new FakeKms();
  return {
    store: store(kms),
    failSigning: () => {
      kms.down = true;
    },
    restoreSigning: () => {
      kms.down = false;
    },
  };
}
