import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigurationError, describeValue } from '../config/configuration-error.js';

/*
 * Private JWKs at rest (docs/keys.md "The key-encryption key"): AES-256-GCM (NIST SP 800-38D)
 * under a key-encryption key (KEK) the host supplies. Each ciphertext has its own random 96-bit
 * IV (SP 800-38D §8.2.2: random IVs, at most 2^32 encryptions a key, far beyond a key store's
 * few keys) and binds, as additional authenticated data, the key's kid, alg and the KEK's id:
 * a ciphertext moved to another row, or relabelled with another alg, fails to decrypt.
 */

/** One key-encryption key: 32 random bytes, and the id stored beside what it encrypts. */
export interface KeyEncryptionKey {
  /** Names this KEK in the rows it encrypted (1 to 64 of A-Z a-z 0-9 . _ -). */
  id: string;
  /** 32 bytes: a Uint8Array, or their base64 / base64url text (44 or 43 characters). */
  key: Uint8Array | string;
}

/**
 * The `keyEncryptionKey` option: one KEK (32 bytes, or `{ id, key }`), or several, newest first.
 * The first encrypts; every one decrypts, so a KEK is rotated by putting the new one first and
 * calling `rewrapKeys()`. A bare key has the id `default`.
 */
export type KeyEncryptionKeyOption = Uint8Array | string | KeyEncryptionKey | readonly KeyEncryptionKey[];

/** A private JWK as stored: the KEK's id, and `iv.ciphertext.tag` in base64url. */
export interface WrappedKey {
  kekId: string;
  ciphertext: string;
}

const KEK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEK_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Versions the AAD's layout, so a later format cannot be confused with this one. */
const AAD_LABEL = 'pkce-token-router signing key v1';

/** The checked KEKs of a key store: the first encrypts. */
export class KeyEncryptionKeys {
  readonly #keys: ReadonlyMap<string, Buffer>;
  /** The id of the KEK that encrypts. */
  readonly currentId: string;

  private constructor(keys: Map<string, Buffer>, currentId: string) {
    this.#keys = keys;
    this.currentId = currentId;
  }

  /** Check the option: ERR_KEY_ENCRYPTION_KEY for a missing, short or malformed key, never quoting it. */
  static from(value: unknown, owner: string): KeyEncryptionKeys {
    const fail = (why: string): never => {
      throw new ConfigurationError('ERR_KEY_ENCRYPTION_KEY', 'keyEncryptionKey', `${owner}: keyEncryptionKey ${why}`);
    };
    if (value === undefined || value === null || value === '') {
      return fail(
        "is required: 32 random bytes (base64), such as crypto.randomBytes(32).toString('base64') kept in a secret manager",
      );
    }
    const list = Array.isArray(value) ? (value as unknown[]) : [value];
    if (list.length === 0) return fail('is an empty list; give at least one key');
    const keys = new Map<string, Buffer>();
    list.forEach((entry, index) => {
      const where = Array.isArray(value) ? `[${index}]` : '';
      const given = isKekObject(entry) ? entry : { id: 'default', key: entry };
      if (typeof given.id !== 'string' || !KEK_ID.test(given.id)) {
        fail(`${where}.id must be 1 to 64 of A-Z a-z 0-9 . _ -; received ${describeValue(given.id)}`);
      }
      const id = given.id as string;
      if (keys.has(id)) fail(`${where}: the id ${JSON.stringify(id)} is given twice`);
      keys.set(
        id,
        keyBytes(given.key, (why) => fail(`${where} ${why}`)),
      );
    });
    // biome-ignore lint/style/noNonNullAssertion: the list has at least one entry, checked above
    return new KeyEncryptionKeys(keys, [...keys.keys()][0]!);
  }

  /** Encrypt a private JWK's JSON under the current KEK. */
  wrap(plaintext: string, kid: string, alg: string): WrappedKey {
    // biome-ignore lint/style/noNonNullAssertion: currentId is one of the keys by construction
    const kek = this.#keys.get(this.currentId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(kid, alg, this.currentId));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, body, cipher.getAuthTag()].map((part) => part.toString('base64url'));
    return { kekId: this.currentId, ciphertext: parts.join('.') };
  }

  /**
   * Decrypt what {@link wrap} made for this kid and alg. Throws ERR_KEY_ENCRYPTION_KEY, naming
   * the kid and the KEK id only, when the KEK is not among the given ones or the ciphertext does
   * not authenticate (a wrong KEK, or a row altered at rest).
   */
  unwrap(wrapped: WrappedKey, kid: string, alg: string, owner: string): string {
    const fail = (why: string): never => {
      throw new ConfigurationError(
        'ERR_KEY_ENCRYPTION_KEY',
        'keyEncryptionKey',
        `${owner}: the stored key ${describeValue(kid)} ${why}`,
      );
    };
    const kek = this.#keys.get(wrapped.kekId);
    if (kek === undefined) {
      return fail(
        `is encrypted under the key-encryption key ${describeValue(wrapped.kekId)}, which is not among those given (${[...this.#keys.keys()].join(', ')})`,
      );
    }
    const [iv, body, tag, extra] = wrapped.ciphertext.split('.').map((part) => Buffer.from(part, 'base64url'));
    if (iv?.length !== IV_BYTES || body === undefined || tag?.length !== TAG_BYTES || extra !== undefined) {
      return fail('has a malformed ciphertext: the row was altered at rest');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(kid, alg, wrapped.kekId));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      return fail(
        `does not decrypt under the key-encryption key ${describeValue(wrapped.kekId)}: a wrong key-encryption key, or the row (its ciphertext, kid or alg) was altered at rest`,
      );
    }
  }
}

function isKekObject(value: unknown): value is { id: unknown; key: unknown } {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array);
}

function keyBytes(key: unknown, fail: (why: string) => never): Buffer {
  let bytes: Buffer | undefined;
  if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else if (typeof key === 'string' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(key)) bytes = Buffer.from(key, 'base64');
  if (bytes === undefined) return fail(`must be 32 bytes or their base64 text; received ${typeOnly(key)}`);
  if (bytes.length !== KEK_BYTES) {
    return fail(
      `must be ${KEK_BYTES} bytes (AES-256); received ${bytes.length} bytes. Make one with crypto.randomBytes(32).toString('base64')`,
    );
  }
  return bytes;
}

/** What a value is, never what it says: a KEK's text is a secret. */
function typeOnly(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters that is not base64`;
  return describeValue(value);
}

function additionalData(kid: string, alg: string, kekId: string): Buffer {
  return Buffer.from(JSON.stringify([AAD_LABEL, kid, alg, kekId]), 'utf8');
}
