import { ConfigurationError, describeValue } from '../config/configuration-error.js';
import type { Client } from '../contracts.js';

/**
 * The serialised origin of an http(s) URL (RFC 6454), or `undefined` for any other scheme
 * (custom-scheme redirect URIs of mobile apps have no web origin).
 */
export function webOriginOf(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a URL's (WHATWG-parsed) hostname is a loopback address: `localhost`, 127.0.0.0/8
 * (RFC 1122 §3.2.1.3) or `[::1]` (RFC 4291 §2.5.3). The parser has already normalised IPv4
 * forms such as `127.1` to dotted decimal, so `127.0.0.1.example.com` is not one.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * A client's web origins (docs/contract.md "Browsers and apps"): its http(s) redirect URIs', and
 * its `allowedOrigins`.
 */
export function clientOrigins(client: Client): string[] {
  return [...client.redirectUris, ...(client.allowedOrigins ?? [])]
    .map(webOriginOf)
    .filter((origin) => origin !== undefined);
}

/** Check a configured CORS origin: `scheme://host[:port]`, http(s), never `null`. */
export function normaliseOrigin(value: unknown, option: string): string {
  if (typeof value === 'string') {
    const origin = webOriginOf(value);
    // Only a bare origin is accepted: a path would suggest a match the browser never makes.
    if (origin !== undefined && origin === value.replace(/\/$/, '').toLowerCase()) return origin;
  }
  throw new ConfigurationError(
    'ERR_OPTION_INVALID',
    option,
    `${option} must hold http(s) origins such as "https://app.example.com" (no path); received ${describeValue(value)}`,
  );
}
