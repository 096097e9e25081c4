import { randomBytes } from 'node:crypto';

/** The cookie that carries the session id. */
export const SESSION_COOKIE = 'example_sid';

const DEFAULT_TTL_SECONDS = 3600;

/**
 * A minimal session mechanism for the demo host: a random id (256 bits) in an HttpOnly,
 * SameSite=Lax cookie, mapped in memory to who signed in and when. One process only, lost
 * on restart, like the memory stores of the token router.
 */
export function createSessionStore({ ttlSeconds = DEFAULT_TTL_SECONDS, secure = false, now = Date.now } = {}) {
  const sessions = new Map();
  const nowSeconds = () => Math.floor(now() / 1000);

  function sweep() {
    const current = nowSeconds();
    for (const [id, session] of sessions) if (session.expiresAt <= current) sessions.delete(id);
  }

  return {
    /** The live session of this request, or `undefined`. */
    current(req) {
      const id = readCookie(req.headers.cookie, SESSION_COOKIE);
      if (id === undefined) return undefined;
      const session = sessions.get(id);
      if (session === undefined) return undefined;
      if (session.expiresAt <= nowSeconds()) {
        sessions.delete(id);
        return undefined;
      }
      return session;
    },

    /** Sign `user` in: always a fresh id (no session fixation), replacing any earlier session. */
    start(req, res, user) {
      forget(req);
      sweep();
      const id = randomBytes(32).toString('base64url');
      const authTime = nowSeconds();
      const session = Object.freeze({ subject: user.subject, username: user.username, authTime, expiresAt: authTime + ttlSeconds });
      sessions.set(id, session);
      res.append('Set-Cookie', cookie(id, `Max-Age=${ttlSeconds}`));
      return session;
    },

    /** Sign out: forget the session and clear the cookie. */
    end(req, res) {
      if (forget(req)) res.append('Set-Cookie', cookie('', 'Max-Age=0'));
    },

    /** How many sessions are held (for tests). */
    get size() {
      return sessions.size;
    },
  };

  /** Drop the request's session, if it names one. */
  function forget(req) {
    const id = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (id === undefined) return false;
    sessions.delete(id);
    return true;
  }

  function cookie(value, lifetime) {
    return `${SESSION_COOKIE}=${value}; Path=/; ${lifetime}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  }
}

/** The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4), or `undefined`. */
export function readCookie(header, name) {
  if (typeof header !== 'string') return undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator !== -1 && pair.slice(0, separator).trim() === name) {
      const value = pair.slice(separator + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}
