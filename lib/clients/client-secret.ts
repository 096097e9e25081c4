import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/*
 * Client secrets at rest (RFC 6749 §2.3.1; RFC 9700 §2.5: a server keeps no secret in the clear).
 * A host stores what hashClientSecret returns in Client.clientSecretHash; the router compares a
 * presented secret against it in constant time. The format carries its own parameters, so stored
 * hashes keep working when the defaults change:
 *
 *   scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<hash, base64url>
 *
 * scrypt, not one SHA-256, because a host may register a secret a person chose: scrypt makes a
 * leaked hash expensive to guess from. Its cost is paid on every authenticated request (measured
 * in docs/performance.md); it runs on libuv's thread pool, so it does not block the event loop.
 */

/** log2 of scrypt's N: 2^14, node's own default, about 16 MiB of memory per hash. */
const LOG2_N = 14;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/**
 * The largest parameters a stored hash may ask for: a registry's record is read at request time,
 * and a hash asking for 2^30 would be a way to stall the server (128 r N bytes of memory).
 */
const MAX_LOG2_N = 20;
const MAX_BLOCK_SIZE = 16;
const MAX_PARALLELISM = 4;
const MAX_MEMORY = 2 * 128 * MAX_BLOCK_SIZE * 2 ** MAX_LOG2_N;

/** The longest client secret the router hashes: longer ones are refused before any work. */
export const MAX_CLIENT_SECRET_LENGTH = 512;

const HASH_FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d)\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{43,128})$/;

/** A parsed `clientSecretHash`. */
interface SecretHash {
  log2N: number;
  blockSize: number;
  parallelism: number;
  salt: Buffer;
  hash: Buffer;
}

/** The stored hash's parts, or why it cannot be used (for the startup check and the registry's records). */
export function parseClientSecretHash(value: string): SecretHash | string {
  const match = HASH_FORMAT.exec(value);
  if (match === null) return 'a string made by hashClientSecret (scrypt$N$r$p$salt$hash)';
  const [, log2N, blockSize, parallelism, salt, hash] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const parsed: SecretHash = {
    log2N: Number(log2N),
    blockSize: Number(blockSize),
    parallelism: Number(parallelism),
    salt: Buffer.from(salt, 'base64url'),
    hash: Buffer.from(hash, 'base64url'),
  };
  if (parsed.log2N < 10 || parsed.log2N > MAX_LOG2_N) return `a hash with log2 N from 10 to ${MAX_LOG2_N}`;
  if (parsed.blockSize < 1 || parsed.blockSize > MAX_BLOCK_SIZE) return `a hash with r from 1 to ${MAX_BLOCK_SIZE}`;
  if (parsed.parallelism < 1 || parsed.parallelism > MAX_PARALLELISM)
    return `a hash with p from 1 to ${MAX_PARALLELISM}`;
  return parsed;
}

function scryptOf(
  secret: string,
  salt: Buffer,
  length: number,
  params: Omit<SecretHash, 'salt' | 'hash'>,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      secret,
      salt,
      length,
      { N: 2 ** params.log2N, r: params.blockSize, p: params.parallelism, maxmem: MAX_MEMORY },
      (error, derived) => (error === null ? resolve(derived) : reject(error)),
    );
  });
}

/**
 * What a host stores in `Client.clientSecretHash` for a client secret: a salted scrypt hash with
 * its parameters, `scrypt$14$8$1$<salt>$<hash>`. Each call draws a fresh salt, so two hashes of
 * one secret differ; both verify.
 */
export async function hashClientSecret(secret: string): Promise<string> {
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_CLIENT_SECRET_LENGTH) {
    throw new TypeError(`hashClientSecret takes a non-empty string of at most ${MAX_CLIENT_SECRET_LENGTH} characters`);
  }
  const salt = randomBytes(SALT_BYTES);
  const params = { log2N: LOG2_N, blockSize: BLOCK_SIZE, parallelism: PARALLELISM };
  const hash = await scryptOf(secret, salt, HASH_BYTES, params);
  return `scrypt$${LOG2_N}$${BLOCK_SIZE}$${PARALLELISM}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Whether `secret` is the one `stored` was made from; compared in constant time (node:crypto timingSafeEqual). */
export async function verifyClientSecret(secret: string, stored: SecretHash): Promise<boolean> {
  const derived = await scryptOf(secret, stored.salt, stored.hash.length, stored);
  return timingSafeEqual(derived, stored.hash);
}
