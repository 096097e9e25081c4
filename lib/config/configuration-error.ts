/** Stable codes for developer mistakes, documented in the README. */
export type ConfigurationErrorCode =
  | 'ERR_OPTIONS_NOT_OBJECT'
  | 'ERR_OPTION_UNKNOWN'
  | 'ERR_OPTION_MISSING'
  | 'ERR_OPTION_INVALID'
  | 'ERR_GRANT_INVALID'
  | 'ERR_KEY_INVALID';

/**
 * A mistake in how the library is called, thrown at once (at `createTokenRouter`,
 * `issueAuthorizationCode` or key import time), never while serving a request.
 */
export class ConfigurationError extends TypeError {
  readonly code: ConfigurationErrorCode;
  /** The option or field at fault. */
  readonly option: string;

  constructor(code: ConfigurationErrorCode, option: string, message: string) {
    super(`pkce-token-router: ${message}`);
    this.name = 'ConfigurationError';
    this.code = code;
    this.option = option;
  }
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
  return `${typeof value} ${String(value)}`;
}
