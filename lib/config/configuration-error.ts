/** Stable codes for developer mistakes, each a section of docs/errors.md. */
export type ConfigurationErrorCode =
  | 'ERR_OPTIONS_NOT_OBJECT'
  | 'ERR_OPTION_UNKNOWN'
  | 'ERR_OPTION_MISSING'
  | 'ERR_OPTION_INVALID'
  | 'ERR_GRANT_INVALID'
  | 'ERR_KEY_INVALID'
  | 'ERR_KEY_ENCRYPTION_KEY'
  | 'ERR_KEY_STORE_UNAVAILABLE';

/**
 * A mistake in how the library is called, thrown at once (at `createTokenRouter`,
 * `issueAuthorizationCode` or key import time), never while serving a request.
 */
export class ConfigurationError extends TypeError {
  readonly code: ConfigurationErrorCode;
  /** The option or field at fault. */
  readonly option: string;

  constructor(code: ConfigurationErrorCode, option: string, message: string, options?: ErrorOptions) {
    super(`pkce-token-router: ${message}${/[.?!]$/.test(message) ? '' : '.'} See ${errorDocsUrl(code)}`, options);
    this.name = 'ConfigurationError';
    this.code = code;
    this.option = option;
  }
}

/** Where the errors are explained, one section a code; change it here if the docs move. */
export const ERRORS_DOCUMENT_URL = 'https://github.com/pkce-token-router/pkce-token-router/blob/main/docs/errors.md';

/** The section of docs/errors.md for `code`: its heading is the code, so the anchor is the code in lower case. */
export function errorDocsUrl(code: ConfigurationErrorCode): string {
  return `${ERRORS_DOCUMENT_URL}#${code.toLowerCase()}`;
}

/** How a received value reads in an error message: its type and a short rendering. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') {
    return value.length > 60 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  // Not `${typeof value} ${value}`: for a missing field that read "undefined undefined".
  if (value === undefined) return 'nothing (undefined)';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'symbol') return 'a symbol';
  return String(value);
}
