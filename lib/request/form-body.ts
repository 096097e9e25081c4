import type { Request } from 'express';
import { RequestError } from '../response/request-error.js';

/** Form parameters by name. Only the names the endpoint knows are kept. */
export type FormParams = Readonly<Partial<Record<string, string>>>;

/** A parsed form: each known parameter's value, and the known names sent ambiguously. */
export interface ParsedForm {
  params: FormParams;
  /**
   * Known parameters sent more than once or in bracket form (`code[]=…`). Whether that is an
   * error depends on the request: a grant refuses it only for the parameters it reads.
   */
  ambiguous: ReadonlySet<string>;
}

/** docs/contract.md "Request": a known parameter sent twice, or in bracket form, is an error. */
export function rejectAmbiguous(form: ParsedForm, names: Iterable<string>): void {
  for (const name of names) {
    if (form.ambiguous.has(name)) throw new RequestError('parameter_repeated');
  }
}

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * docs/contract.md "Request": `application/x-www-form-urlencoded`, with no charset or `charset=UTF-8`.
 * Parsed by hand because the content-type module's strictness differs between Express majors.
 */
export function isFormUtf8(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [mediaType = '', ...parameters] = contentType.split(';');
  if (mediaType.trim().toLowerCase() !== FORM_MEDIA_TYPE) return false;
  return parameters.every((parameter) => {
    const separator = parameter.indexOf('=');
    const name = parameter.slice(0, separator).trim().toLowerCase();
    if (name !== 'charset') return separator !== -1 || parameter.trim() === '';
    const value = parameter
      .slice(separator + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    return value.toLowerCase() === 'utf-8';
  });
}

/**
 * The form parameters of a request whose content type was already checked: read from the
 * stream with a size limit, or taken from `req.body` when a host parser got there first.
 */
export async function readFormParams(req: Request, known: ReadonlySet<string>, limit: number): Promise<ParsedForm> {
  if (alreadyConsumed(req)) {
    // The host's parser has its own limit; ours still holds for what the client sent. The bytes
    // it read (chunked, or compressed and inflated) are gone: what is left to measure is the
    // declared length and what the parser made of them (docs/contract.md "Limits on input").
    if (declaredLength(req) > limit) throw new RequestError('body_too_large');
    return fromParsedBody(req.body, known, limit);
  }
  return parseForm(await readBody(req, limit), known);
}

function alreadyConsumed(req: Request): boolean {
  // body-parser marks the requests it read with `_body`; any other reader leaves the stream ended.
  return req.readableEnded || (req as { _body?: unknown })._body === true;
}

/** The `Content-Length` the client declared, or NaN (chunked). */
function declaredLength(req: Request): number {
  return Number(req.headers['content-length']);
}

/** Read the raw body, refusing more than `limit` bytes without buffering them. */
function readBody(req: Request, limit: number): Promise<Buffer> {
  if (declaredLength(req) > limit) return Promise.reject(tooLarge(req));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        cleanup();
        reject(tooLarge(req));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      // biome-ignore lint/style/noNonNullAssertion: chunks has exactly one element here
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new RequestError('body_malformed', { cause: error }));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Stop reading an oversized body; the answer closes the connection instead of draining it. */
function tooLarge(req: Request): RequestError {
  req.pause();
  req.res?.setHeader('Connection', 'close');
  return new RequestError('body_too_large');
}

/** Parse `application/x-www-form-urlencoded` (WHATWG URL §5.1) strictly: bad escapes are errors. */
export function parseForm(body: Buffer | string, known: ReadonlySet<string>): ParsedForm {
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch (cause) {
    throw new RequestError('body_malformed', { cause });
  }
  const form = new FormCollector(known);
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const name = decode(separator === -1 ? pair : pair.slice(0, separator));
    form.add(name, separator === -1 ? '' : decode(pair.slice(separator + 1)));
  }
  return form.result();
}

/** Keeps the first value of each known parameter and notes the ambiguous ones. */
class FormCollector {
  readonly #known: ReadonlySet<string>;
  readonly #params: Record<string, string> = Object.create(null);
  readonly #ambiguous = new Set<string>();

  constructor(known: ReadonlySet<string>) {
    this.#known = known;
  }

  add(name: string, value: unknown): void {
    if (this.#known.has(name)) {
      if (name in this.#params || typeof value !== 'string') this.#ambiguous.add(name);
      else this.#params[name] = value;
      return;
    }
    // `client_id[]=…` or `client_id[a]=…`: the bracket forms some parsers turn into arrays.
    const bracket = name.indexOf('[');
    if (bracket > 0 && this.#known.has(name.slice(0, bracket))) this.#ambiguous.add(name.slice(0, bracket));
  }

  result(): ParsedForm {
    return { params: this.#params, ambiguous: this.#ambiguous };
  }
}

function decode(component: string): string {
  // Most names and values have nothing to decode: 0.7 µs a request instead of 2.3 µs (bench profile).
  if (!component.includes('%') && !component.includes('+')) return component;
  try {
    return decodeURIComponent(component.replaceAll('+', ' '));
  } catch (cause) {
    throw new RequestError('body_malformed', { cause });
  }
}

/**
 * Work from what a host parser left in `req.body`, still refusing arrays and objects, and
 * bodies over the limit: a string or Buffer by its bytes (after any inflating), parsed
 * parameters by the size they take written back as a form.
 */
function fromParsedBody(body: unknown, known: ReadonlySet<string>, limit: number): ParsedForm {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    if (Buffer.byteLength(body) > limit) throw new RequestError('body_too_large');
    return parseForm(body, known);
  }
  const form = new FormCollector(known);
  if (typeof body === 'object' && body !== null) {
    if (!fitsAsForm(body, limit)) throw new RequestError('body_too_large');
    // An array or object under a known name is what a repeated or bracketed parameter became.
    for (const [name, value] of Object.entries(body)) form.add(name, value);
  }
  return form.result();
}

/**
 * Whether parsed parameters, written back as `application/x-www-form-urlencoded` (WHATWG URL
 * §5.2: names and values percent-encoded as URLSearchParams writes them, `=` and `&` between),
 * take at most `limit` bytes. A nested value (qs's `a[b]=c`, or JSON) counts in bracket form, its
 * brackets encoded. A body URLSearchParams wrote measures exactly its size; one escaped more
 * sparingly, a little more. Counting stops at the limit, so an oversized body costs no more.
 */
function fitsAsForm(body: object, limit: number): boolean {
  let budget = limit + 1; // the first pair has no `&` before it
  const seen = new WeakSet<object>();
  const pending: [string, unknown][] = Object.entries(body);
  while (pending.length > 0) {
    // biome-ignore lint/style/noNonNullAssertion: the loop runs only while pending is not empty
    const [name, value] = pending.pop()!;
    if (typeof value === 'object' && value !== null) {
      // A parser gives trees; a cycle (from a host's own middleware) is counted once.
      if (seen.has(value)) continue;
      seen.add(value);
      for (const [key, inner] of Object.entries(value)) pending.push([`${name}[${key}]`, inner]);
      continue;
    }
    if (value === undefined) continue;
    budget -= 2; // `&` and `=`
    budget -= encodedLength(name, budget);
    budget -= encodedLength(String(value), budget);
    if (budget < 0) return false;
  }
  return true;
}

/**
 * The length of `text` percent-encoded for a form (WHATWG URL §5.2): ASCII alphanumerics and
 * `*-._` as they are, a space as `+`, every other UTF-8 byte as `%XX` (a lone surrogate as
 * U+FFFD). Stops once past `budget`.
 */
function encodedLength(text: string, budget: number): number {
  let length = 0;
  for (let i = 0; i < text.length && length <= budget; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += FORM_SAFE[unit] === 1 ? 1 : 3;
    else if (unit < 0x800) length += 6;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 12;
      i++;
    } else length += 9;
  }
  return length;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** 1 for the ASCII units a form writes as one byte: alphanumerics, `*-._`, and space (as `+`). */
const FORM_SAFE = Uint8Array.from({ length: 0x80 }, (_, unit) =>
  /[A-Za-z0-9*\-._ ]/.test(String.fromCharCode(unit)) ? 1 : 0,
);
