/**
 * The router's audit events as JSON lines: one event per line, its time as an ISO 8601 string,
 * ready for any log shipper. Events never carry a code, verifier, token or key, so the whole
 * event is written as it is.
 *
 * @param {{ write(chunk: string): unknown }} stream  where the lines go, e.g. `process.stdout`
 * @returns {(event: import('../dist/index.js').TokenRouterEvent) => void}  for the router's `onEvent`
 */
export function jsonLinesAuditLog(stream) {
  return (event) => {
    stream.write(`${JSON.stringify({ ...event, time: new Date(event.time).toISOString() })}\n`);
  };
}
