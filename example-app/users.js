import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback);
const HASH_BYTES = 32;

/**
 * The demo accounts. Their passwords are printed on the sign-in page on purpose: this is a
 * demo host, and a real one would keep its users in its own database.
 */
export const DEMO_USERS = Object.freeze([
  {
    username: 'alice',
    password: 'alice-password',
    subject: 'user-alice',
    name: 'Alice Liddell',
    email: 'alice@example.com',
  },
  { username: 'bob', password: 'bob-password', subject: 'user-bob', name: 'Bob Builder', email: 'bob@example.com' },
]);

/** Longest username or password looked at: scrypt on a huge input would be a cheap DoS. */
const MAX_INPUT_LENGTH = 256;

/**
 * A user directory over the demo accounts. Only salted scrypt hashes are kept, and a sign-in
 * compares hashes with `timingSafeEqual`; an unknown username costs the same scrypt as a known
 * one, so response time does not tell which usernames exist.
 */
export async function createUserDirectory(accounts = DEMO_USERS) {
  const users = new Map();
  for (const { password, ...profile } of accounts) {
    const salt = randomBytes(16);
    users.set(profile.username, {
      profile: Object.freeze(profile),
      salt,
      hash: await scrypt(password, salt, HASH_BYTES),
    });
  }
  const decoy = { salt: randomBytes(16), hash: randomBytes(HASH_BYTES) };

  return {
    /** The signed-in user's profile (no password), or `undefined` when the credentials are wrong. */
    async authenticate(username, password) {
      if (typeof username !== 'string' || typeof password !== 'string') return undefined;
      if (username.length > MAX_INPUT_LENGTH || password.length > MAX_INPUT_LENGTH) return undefined;
      const entry = users.get(username);
      const { salt, hash } = entry ?? decoy;
      const attempt = await scrypt(password, salt, HASH_BYTES);
      const match = timingSafeEqual(attempt, hash);
      return match && entry !== undefined ? entry.profile : undefined;
    },
    /** The profile of a signed-in user, by subject. */
    findBySubject(subject) {
      for (const { profile } of users.values()) if (profile.subject === subject) return profile;
      return undefined;
    },
  };
}
