/**
 * The same text in a string of its own. In V8 a string cut out of a longer one (a form value
 * sliced from a request body) refers to the longer one and keeps it alive, so whatever outlives
 * a request (a remembered value, an audit event the host keeps) holds a copy instead: no request
 * body, nor a code or verifier in it, stays in memory with it. A JSON round trip copies every
 * UTF-16 unit, lone surrogates included (JSON.stringify escapes them).
 */
export function detachedCopy(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}
