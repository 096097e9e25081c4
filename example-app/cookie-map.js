import { randomBytes } from 'node:crypto';

/**
 * Values kept in memory under a random id (256 bits) that travels in an HttpOnly, SameSite=Lax
 * cookie: the web app's pending sign-ins and its sessions. One process only, lost on restart.
 * Lax, not Strict: the browser comes back to the callback by a top-level navigation from the
 * authorization server, and Strict would leave the cookie behind.
 *
 * @param {object} options
 * @param {string} options.name  the cookie's name
 * @param {string} options.path  the cookie's Path: only the web app's own pages see it
 * @param {number} options.ttlSeconds  how long a value lives
 * @param {boolean} [options.secure]  add `Secure` (when the app is served over https)
 * @param {() => number} [options.now]  the clock, epoch milliseconds
 */
export function createCookieMap({ name, path, ttlSeconds, secure = false, now = Date.now }) {
  const entries = new Map();
  const nowSeconds = () => Math.floor(now() / 1000);

  function sweep() {
    const current = nowSeconds();
    for (const [id, entry] of entries) if (entry.expiresAt <= current) entries.delete(id);
  }

  function idOf(req) {
    return readCookie(req.headers.cookie, name);
  }

  function cookie(value, maxAge) {
    return `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  }

  return {
    /** Keep `value` under a fresh id, replacing the request's earlier one, and set the cookie. */
    put(req, res, value) {
      const earlier = idOf(req);
      if (earlier !== undefined) entries.delete(earlier);
      sweep();
      const id = randomBytes(32).toString('base64url');
      entries.set(id, { value, expiresAt: nowSeconds() + ttlSeconds });
      res.append('Set-Cookie', cookie(id, ttlSeconds));
    },

    /** The request's live value, or `undefined`. */
    get(req) {
      const id = idOf(req);
      const entry = id === undefined ? undefined : entries.get(id);
      if (entry === undefined) return undefined;
      if (entry.expiresAt <= nowSeconds()) {
        entries.delete(id);
        return undefined;
      }
      return entry.value;
    },

    /** The request's live value, forgotten at once so it serves one use only; clears the cookie. */
    take(req, res) {
      const value = this.get(req);
      this.drop(req, res);
      return value;
    },

    /** Forget the request's value and clear the cookie. */
    drop(req, res) {
      const id = idOf(req);
      if (id === undefined) return;
      entries.delete(id);
      res.append('Set-Cookie', cookie('', 0));
    },

    /** How many values are held (for tests). */
    get size() {
      return entries.size;
    },
  };
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
