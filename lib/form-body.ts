import type { Request } from 'express';
import { RequestError } from './request-error.js';

/** Form parameters by name. Only the names the endpoint knows are kept. */
export type FormParams = Readonly<Partial<Record<string, string>>>;

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * SPEC "Request": `application/x-www-form-urlencoded`, with no charset or `charset=UTF-8`.
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
    const value = parameter.slice(separator + 1).trim().replace(/^"(.*)"$/, '$1');
    return value.toLowerCase() === 'utf-8';
  });
}

/**
 * The form parameters of a request whose content type was already checked: read from the
 * stream with a size limit, or taken from `req.body` when a host parser got there first.
 */
export async function readFormParams(
  req: Request,
  known: ReadonlySet<string>,
  limit: number,
): Promise<FormParams> {
  if (alreadyConsumed(req)) return fromParsedBody(req.body, known, limit);
  return parseForm(await readBody(req, limit), known);
}

function alreadyConsumed(req: Request): boolean {
  // body-parser marks the requests it read with `_body`; any other reader leaves the stream ended.
  return req.readableEnded || (req as { _body?: unknown })._body === true;
}

/** Read the raw body, refusing more than `limit` bytes without buffering them. */
function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(req));
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
export function parseForm(body: Buffer | string, known: ReadonlySet<string>): FormParams {
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch (cause) {
    throw new RequestError('body_malformed', { cause });
  }
  const params: Record<string, string> = Object.create(null);
  if (text === '') return params;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const name = decode(separator === -1 ? pair : pair.slice(0, separator));
    const value = separator === -1 ? '' : decode(pair.slice(separator + 1));
    if (known.has(name)) {
      if (name in params) throw new RequestError('parameter_repeated');
      params[name] = value;
    } else if (isBracketedKnown(name, known)) {
      throw new RequestError('parameter_repeated');
    }
  }
  return params;
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component.replaceAll('+', ' '));
  } catch (cause) {
    throw new RequestError('body_malformed', { cause });
  }
}

/** `client_id[]=…` or `client_id[a]=…`: the bracket forms some parsers turn into arrays. */
function isBracketedKnown(name: string, known: ReadonlySet<string>): boolean {
  const bracket = name.indexOf('[');
  return bracket > 0 && known.has(name.slice(0, bracket));
}

/** Work from what a host parser left in `req.body`, still refusing arrays and objects. */
function fromParsedBody(body: unknown, known: ReadonlySet<string>, limit: number): FormParams {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    if (Buffer.byteLength(body) > limit) throw new RequestError('body_too_large');
    return parseForm(body, known);
  }
  const params: Record<string, string> = Object.create(null);
  if (typeof body !== 'object' || body === null) return params;
  for (const [name, value] of Object.entries(body)) {
    if (known.has(name)) {
      if (typeof value !== 'string') throw new RequestError('parameter_repeated');
      params[name] = value;
    } else if (isBracketedKnown(name, known)) {
      throw new RequestError('parameter_repeated');
    }
  }
  return params;
}
