import { positiveInteger } from '../option-checks.js';

/** How long a shared-store adapter waits for one operation by default, in milliseconds. */
const DEFAULT_STORE_TIMEOUT_MS = 2_000;

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
 * An operation already sent is not cancelled (no client can take back a command already sent);
 * its late outcome is observed by the race and dropped. One that has not been sent yet can see
 * the deadline pass on `signal`, and then must not be sent at all.
 */
export function bounded<T>(name: string, timeoutMs: number, operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadlinePassed = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      deadlinePassed.abort();
      reject(new StoreTimeoutError(name, timeoutMs));
    }, timeoutMs);
  });
  // A client that throws synchronously (a closed pool, say) is a failure like any other.
  const attempt = new Promise<T>((resolve) => resolve(operation(deadlinePassed.signal)));
  return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer));
}

/** Check an adapter's `timeoutMs` option. */
export function resolveTimeout(value: unknown, owner: string): number {
  return positiveInteger(value, 'timeoutMs', DEFAULT_STORE_TIMEOUT_MS, 'milliseconds', owner);
}
