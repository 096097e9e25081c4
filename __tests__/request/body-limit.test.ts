import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import express, { type Express, type RequestHandler } from 'express';
import { form, type Harness, harness } from '../support/helpers.js';

/*
 * docs/contract.md "Errors": a body over the size limit is 413 invalid_request, whether the router reads the
 * body itself or a host parser read it first, and whatever the client declared (or did not).
 */

interface Answer {
  status: number;
  body: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * POST to the token endpoint over a loopback socket, the body written as `chunks`: with
 * `chunked`, no Content-Length (Transfer-Encoding: chunked, one chunk each); otherwise the length
 * of all of them. `gzip` compresses the body first (Content-Encoding: gzip).
 */
async function post(
  app: Express,
  body: string,
  options: { chunked?: boolean; gzip?: boolean; contentType?: string } = {},
): Promise<Answer> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  try {
    const payload = options.gzip === true ? gzipSync(body) : Buffer.from(body);
    const headers: Record<string, string> = {
      'Content-Type': options.contentType ?? 'application/x-www-form-urlencoded',
    };
    if (options.gzip === true) headers['Content-Encoding'] = 'gzip';
    if (options.chunked === true) headers['Transfer-Encoding'] = 'chunked';
    else headers['Content-Length'] = String(payload.length);
    return await new Promise<Answer>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/oauth2/token', headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, string>, headers: res.headers }),
        );
      });
      // A refused body may be answered before it is all written; the answer is what counts.
      req.on('error', reject);
      if (options.chunked === true) {
        for (let offset = 0; offset < payload.length; offset += 1024)
          req.write(payload.subarray(offset, offset + 1024));
        req.end();
      } else req.end(payload);
    });
  } finally {
    server.close();
  }
}

/** A valid request padded with an unknown parameter to exactly `size` bytes. */
function padded(valid: Record<string, string>, size: number): string {
  const start = `${form(valid)}&pad=`;
  const body = `${start}${'x'.repeat(size - start.length)}`;
  expect(Buffer.byteLength(body)).toBe(size);
  return body;
}

const LIMIT = 16 * 1024;

/** Host parsers that consume the body before the router; `encode` writes a form the way each reads it. */
const HOST_PARSERS: [string, () => RequestHandler, 'form' | 'json'][] = [
  ['express.urlencoded({ extended: false })', () => express.urlencoded({ extended: false, limit: '1mb' }), 'form'],
  ['express.urlencoded({ extended: true })', () => express.urlencoded({ extended: true, limit: '1mb' }), 'form'],
  [
    'express.urlencoded({ inflate: true })',
    () => express.urlencoded({ extended: false, inflate: true, limit: '1mb' }),
    'form',
  ],
  ['express.json({ type: "*/*" })', () => express.json({ type: '*/*', limit: '1mb' }), 'json'],
  ['express.text({ type: "*/*" })', () => express.text({ type: '*/*', limit: '1mb' }), 'form'],
  ['express.raw({ type: "*/*" })', () => express.raw({ type: '*/*', limit: '1mb' }), 'form'],
];

/**
 * A body of `size` bytes as the router measures it behind this parser: a form of that many
 * bytes, or, for JSON, the same parameters (which written as a form take that many bytes).
 */
function encode(kind: 'form' | 'json', valid: Record<string, string>, size: number): string {
  const body = padded(valid, size);
  return kind === 'form' ? body : JSON.stringify(Object.fromEntries(new URLSearchParams(body)));
}

describe('bodyLimit: the router reads the body itself', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('a chunked body (no Content-Length) over the limit: 413, counted as it arrives', async () => {
    const res = await post(h.app, padded(await h.issue(), LIMIT + 1), { chunked: true });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('invalid_request');
    expect(res.headers.connection).toBe('close');
  });

  it('a chunked body of exactly the limit: tokens', async () => {
    const res = await post(h.app, padded(await h.issue(), LIMIT), { chunked: true });
    expect(res.status).toBe(200);
  });
});

describe.each(HOST_PARSERS)("bodyLimit behind the host's %s, which has a larger limit", (_name, parser, kind) => {
  let h: Harness;
  let app: Express;
  beforeAll(async () => {
    h = await harness();
    app = express().use(parser()).use(h.app);
  });
  afterAll(() => h.close());

  it('a chunked body (no Content-Length) over the limit: 413 invalid_request', async () => {
    const res = await post(app, encode(kind, await h.issue(), LIMIT + 1), { chunked: true });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('invalid_request');
  });

  it('a gzip body the parser inflates past the limit, declared far under it: 413 invalid_request', async () => {
    const body = encode(kind, await h.issue(), 4 * LIMIT);
    expect(gzipSync(body).length).toBeLessThan(LIMIT / 4);
    const res = await post(app, body, { gzip: true });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('invalid_request');
  });

  it('a chunked body under the limit: tokens', async () => {
    const res = await post(app, encode(kind, await h.issue(), LIMIT - 1024), { chunked: true });
    expect(res.status).toBe(200);
  });

  it('a gzip body that inflates to under the limit: tokens', async () => {
    const res = await post(app, encode(kind, await h.issue(), LIMIT - 1024), { gzip: true });
    expect(res.status).toBe(200);
  });
});

describe('behind a host parser, parsed parameters measure as they would be written as a form', () => {
  /** A valid request with a `pad` parameter of `filler`s, as URLSearchParams writes it. */
  const bodyOf = (valid: Record<string, string>, filler: string) => form({ ...valid, pad: filler.repeat(200) });

  it.each([
    ['plain ASCII', 'x'],
    ['spaces (+), escapes, two- and four-byte UTF-8', 'a b~é\u{1F600}'],
  ])('%s: a body of exactly bodyLimit gets tokens; with bodyLimit one less, 413', async (_name, filler) => {
    const probe = await harness();
    const size = Buffer.byteLength(bodyOf(await probe.issue(), filler));
    probe.close();
    for (const [bodyLimit, status] of [
      [size, 200],
      [size - 1, 413],
    ] as const) {
      const h = await harness({ bodyLimit });
      const app = express()
        .use(express.urlencoded({ extended: false }))
        .use(h.app);
      const body = bodyOf(await h.issue(), filler);
      expect(Buffer.byteLength(body)).toBe(size);
      expect((await post(app, body, { chunked: true })).status).toBe(status);
      h.close();
    }
  });

  it('arrays and nested objects from an extended parser count in bracket form: over the limit, 413', async () => {
    const h = await harness({ bodyLimit: 2048 });
    const app = express()
      .use(express.urlencoded({ extended: true, limit: '1mb' }))
      .use(h.app);
    const valid = form(await h.issue());
    const nested = Array.from({ length: 40 }, (_, i) => `extra[k${i}][]=${'y'.repeat(40)}`).join('&');
    expect(valid.length).toBeLessThan(2048);
    const res = await post(app, `${valid}&${nested}`, { chunked: true });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('invalid_request');
    h.close();
  });
});
