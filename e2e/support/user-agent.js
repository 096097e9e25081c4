/**
 * A scripted browser for the HTTP-level tests: it keeps cookies, follows redirects the way a
 * browser does (a 302 or 303 after a POST becomes a GET), and fills the host's sign-in form.
 * It stops at a redirect to a scheme other than http(s), as a browser would hand a custom-scheme
 * URL to the app that registered it.
 */

const MAX_REDIRECTS = 10;

export function createUserAgent() {
  /** hostname → name → { value, path }. Cookies are per host, not per port (RFC 6265 §8.5). */
  const jar = new Map();

  function cookieHeader(url) {
    const cookies = jar.get(url.hostname) ?? new Map();
    const pairs = [...cookies]
      .filter(([, cookie]) => pathMatches(url.pathname, cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`);
    return pairs.length === 0 ? undefined : pairs.join('; ');
  }

  function storeCookies(url, response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator);
      const value = pair.slice(separator + 1);
      const attribute = (wanted) =>
        attributes.map((part) => part.split('=')).find(([key]) => key.toLowerCase() === wanted)?.[1];
      const cookies = jar.get(url.hostname) ?? new Map();
      jar.set(url.hostname, cookies);
      if (attribute('max-age') === '0') cookies.delete(name);
      else cookies.set(name, { value, path: attribute('path') ?? '/' });
    }
  }

  /** One request with this agent's cookies; the cookies it sets are kept. */
  async function send(url, { method, body, headers }) {
    const sent = new Headers(headers);
    const cookie = cookieHeader(url);
    if (cookie !== undefined) sent.set('Cookie', cookie);
    if (body !== undefined) sent.set('Content-Type', 'application/x-www-form-urlencoded');
    const response = await fetch(url, { method, headers: sent, body, redirect: 'manual' });
    storeCookies(url, response);
    return response;
  }

  /**
   * Go to `url` (a GET, or the request `init` describes) and follow redirects. Resolves the
   * last response as `{ url, status, headers, text }`, plus `redirects`: each URL redirected to.
   * With `follow: false`, resolves the first response, with `location` when it redirects.
   */
  async function navigate(url, { method: firstMethod = 'GET', body: firstBody, headers, follow = true } = {}) {
    let current = new URL(url);
    let method = firstMethod;
    let body = firstBody;
    const redirects = [];
    for (;;) {
      const response = await send(current, { method, body, headers });
      const location = response.headers.get('location');
      const redirected = response.status >= 300 && response.status < 400 && location !== null;
      if (!redirected || !follow) {
        return {
          url: current.href,
          status: response.status,
          headers: response.headers,
          location,
          text: await response.text(),
          redirects,
        };
      }
      await response.arrayBuffer();
      const next = new URL(location, current);
      redirects.push(next.href);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        // A browser hands a custom-scheme URL to the app that registered the scheme.
        return {
          url: next.href,
          status: response.status,
          headers: response.headers,
          location,
          text: '',
          redirects,
          handedToApp: true,
        };
      }
      if (redirects.length > MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      current = next;
    }
  }

  /**
   * On the host's sign-in page `page` (a `navigate` result), fill in the credentials and submit,
   * carrying the hidden authorization request along as the form does. `follow: false` stops at
   * the host's answer (the redirect to the client, with the code).
   */
  async function signIn(page, { username, password }, { follow = true } = {}) {
    const authorizeQuery = hiddenField(page.text, 'authorize_query');
    if (authorizeQuery === undefined || !page.text.includes('action="/login"')) {
      throw new Error(`not the host's sign-in page: ${page.url} answered ${page.status}`);
    }
    return navigate(new URL('/login', page.url), {
      method: 'POST',
      body: new URLSearchParams({ username, password, authorize_query: authorizeQuery }).toString(),
      follow,
    });
  }

  return { navigate, signIn };
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  return requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/');
}

/** The value of a hidden input, unescaped from the HTML. */
function hiddenField(html, name) {
  const match = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

/** The text of the element with `id` (inner tags dropped, entities unescaped): what the page shows. */
export function elementText(html, id) {
  const match = new RegExp(`<([a-z0-9]+) id="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  return match?.[2] === undefined ? undefined : unescapeHtml(match[2].replaceAll(/<[^>]*>/g, ''));
}

export function unescapeHtml(text) {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}
