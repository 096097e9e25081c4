import { positiveInteger } from '../config/option-checks.js';

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
 * How an operation that has not been sent yet hears that its deadline passed: it hands over
 * what to do then (take itself out of a queue, say), and must then not be sent at all.
 */
export type OnDeadline = (giveUp: () => void) => void;

/**
 * Settle with `operation`, or reject with a {@link StoreTimeoutError} after `timeoutMs`.
 * A client that queues commands while it reconnects would otherwise hold a token request open
 * for as long as the outage lasts; this bounds every request, whatever the client is set to do.
 * An operation already sent is not cancelled (no client can take back a command already sent);
 * its late outcome is observed by the race and dropped. So that a command held back in a client
 * or a failover cannot take effect after its caller was answered, `operation` is also given the
 * deadline (epoch milliseconds, `Date.now()` clock): a Redis script carries it to the server,
 * which refuses to run it once the deadline has passed (docs/contract.md "When a store fails").
 */
export function bounded<T>(
  name: string,
  timeoutMs: number,
  operation: (onDeadline: OnDeadline, deadline: number) => Promise<T>,
): Promise<T> {
  const deadlineAt = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let giveUp: (() => void) | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      giveUp?.();
      reject(new StoreTimeoutError(name, timeoutMs));
    }, timeoutMs);
  });
  // A client that throws synchronously (a closed pool, say) is a failure like any other.
  const attempt = new Promise<T>((resolve) =>
    resolve(
      operation((callback) => {
        giveUp = callback;
      }, deadlineAt),
    ),
  );
  return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer));
}

/** Check an adapter's `timeoutMs` option. */
export function resolveTimeout(value: unknown, owner: string): number {
  return positiveInteger(value, 'timeoutMs', DEFAULT_STORE_TIMEOUT_MS, 'milliseconds', owner);
}
