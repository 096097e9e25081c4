/**
 * A URL as DPoP compares it (RFC 9449 §4.3 check 9): without query and fragment, and normalised
 * per RFC 3986 §6.2.2 and §6.2.3 (scheme and host lower-cased, the default port dropped, dot
 * segments removed, an empty path as "/"), which the WHATWG URL parser does. `undefined` when
 * `value` is not an absolute http(s) URL.
 */
export function normaliseHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  url.search = '';
  url.hash = '';
  return url.href;
}
