import { createCookieMap } from './cookie-map.js';

/** The cookie that carries the session id. */
export const SESSION_COOKIE = 'example_sid';

const DEFAULT_TTL_SECONDS = 3600;

/**
 * A minimal session mechanism for the demo host: a random id (256 bits) in an HttpOnly,
 * SameSite=Lax cookie, mapped in memory to who signed in and when. One process only, lost
 * on restart, like the memory stores of the token router.
 */
export function createSessionStore({ ttlSeconds = DEFAULT_TTL_SECONDS, secure = false, now = Date.now } = {}) {
  const sessions = createCookieMap({ name: SESSION_COOKIE, path: '/', ttlSeconds, secure, now });
  return {
    /** The live session of this request, or `undefined`. */
    current(req) {
      return sessions.get(req);
    },

    /** Sign `user` in: always a fresh id (no session fixation), replacing any earlier session. */
    start(req, res, user) {
      const authTime = Math.floor(now() / 1000);
      const session = Object.freeze({
        subject: user.subject,
        username: user.username,
        authTime,
        expiresAt: authTime + ttlSeconds,
      });
      sessions.put(req, res, session);
      return session;
    },

    /** Sign out: forget the session and clear the cookie. */
    end(req, res) {
      sessions.drop(req, res);
    },

    /** How many sessions are held (for tests). */
    get size() {
      return sessions.size;
    },
  };
}
