import { ConfigurationError, describeValue } from '../configuration-error.js';

/** How long a shared-store adapter waits for one operation by default, in milliseconds. */
export const DEFAULT_STORE_TIMEOUT_MS = 2_000;

/**
 * A store operation that did not settle within the adapter's `timeoutMs`. The router answers
 * such a rejection like any other store failure: 503 `temporarily_unavailable`.
 */
export class StoreTimeoutError extends Error {
  readonly code = 'ERR_STORE_TIMEOUT';

  constructor(operation: string, timeoutMs: number) {
    super(`pkce-token-router: ${operation} did not finish within ${timeoutMs} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/**
 * Settle with `operation`, or reject with a {@link StoreTimeoutError} after `timeoutMs`.
 * A client that queues commands while it reconnects would otherwise hold a token request open
 * for as long as the outage lasts; this bounds every request, whatever the client is set to do.
 * The operation itself is not cancelled (no client can take back a command already sent); its
 * late outcome is observed by the race and dropped.
 */
export function bounded<T>(name: string, timeoutMs: number, operation: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(name, timeoutMs)), timeoutMs);
  });
  // A client that throws synchronously (a closed pool, say) is a failure like any other.
  const attempt = new Promise<T>((resolve) => resolve(operation()));
  return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer));
}

/** Check an adapter's `timeoutMs` option. */
export function resolveTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_STORE_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'timeoutMs',
      `timeoutMs must be a positive whole number of milliseconds; received ${describeValue(value)}`,
    );
  }
  return value;
}

/** Check that an adapter's options argument is an object holding only options it knows. */
export function adapterOptions(adapter: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError('ERR_OPTIONS_NOT_OBJECT', 'options', `${adapter} takes an options object; received ${describeValue(value)}`);
  }
  for (const name of Object.keys(value)) {
    if (!known.includes(name)) {
      throw new ConfigurationError('ERR_OPTION_UNKNOWN', name, `${adapter}: unknown option "${name}"; it takes ${known.join(', ')}`);
    }
  }
  return value as Record<string, unknown>;
}
