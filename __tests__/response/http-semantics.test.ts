import { connect } from 'node:net';
import express, { type Express } from 'express';
import * as oauth from 'oauth4webapi';
import request from 'supertest';
import type { ErrorProfile, TokenRouterEvent } from '../../lib/index.js';
import { answerFor, REJECT_REASONS } from '../../lib/response/error-profiles.js';
import type { RejectReason } from '../../lib/response/request-error.js';
import { ASSERTION_TYPE, clientAuthFixture, JWKS_URI_CLIENT, JWT_CLIENT, POST_CLIENT } from '../support/client-auth.js';
import {
  CLIENT_ID,
  expectError,
  expectRouterHeaders,
  type Harness,
  harness,
  ISSUER,
  postToken,
  SPA_ORIGIN,
  TWO_CLIENTS,
} from '../support/helpers.js';

type Form = Record<string, string>;

/** One way to make the router refuse for a reason: the path, and the form sent to it. */
interface Provocation {
  path: string;
  make(h: Harness): Promise<Form>;
}

const TOKEN = '/oauth2/token';
const REVOKE = '/oauth2/revoke';

/**
 * A request for each reason that either profile answers with 401 (docs/contract.md "Errors"), on each
 * endpoint that can refuse for it. The test below fails for a 401 reason missing here.
 */
const PROVOCATIONS: Partial<Record<RejectReason, Provocation[]>> = {
  code_verifier_malformed: [{ path: TOKEN, make: async (h) => ({ ...(await h.issue()), code_verifier: 'short' }) }],
  grant_type_unsupported: [{ path: TOKEN, make: async (h) => ({ ...(await h.issue()), grant_type: 'password' }) }],
  client_mismatch: [
    { path: TOKEN, make: async (h) => ({ ...(await h.issue({ clientId: 'other' })), client_id: CLIENT_ID }) },
  ],
  code_invalid: [{ path: TOKEN, make: async (h) => ({ ...(await h.issue()), code: 'never-issued' }) }],
  redirect_uri_mismatch: [
    { path: TOKEN, make: async (h) => ({ ...(await h.issue()), redirect_uri: 'https://app.example.com/callback/' }) },
  ],
  pkce_mismatch: [{ path: TOKEN, make: async (h) => ({ ...(await h.issue()), code_verifier: 'v'.repeat(43) }) }],
  pkce_method_not_allowed: [
    {
      path: TOKEN,
      make: async (h) => ({
        ...(await h.issue({ codeChallenge: 'p'.repeat(43), codeChallengeMethod: 'plain' })),
        code_verifier: 'p'.repeat(43),
      }),
    },
  ],
  client_auth_malformed: [
    {
      path: TOKEN,
      make: async (h) => ({
        ...(await h.issue({ clientId: JWT_CLIENT })),
        client_assertion_type: 'jwt',
        client_assertion: 'x',
      }),
    },
    {
      path: REVOKE,
      make: async () => ({ client_id: JWT_CLIENT, token: 't', client_assertion_type: 'jwt', client_assertion: 'x' }),
    },
  ],
  client_auth_missing: [
    { path: TOKEN, make: async (h) => ({ ...(await h.issue({ clientId: POST_CLIENT })) }) },
    { path: REVOKE, make: async () => ({ client_id: POST_CLIENT, token: 't' }) },
  ],
  client_auth_method_mismatch: [
    { path: TOKEN, make: async (h) => ({ ...(await h.issue()), client_secret: 'a secret it was never issued' }) },
    { path: REVOKE, make: async () => ({ client_id: CLIENT_ID, token: 't', client_secret: 'never issued' }) },
  ],
  client_secret_invalid: [
    { path: TOKEN, make: async (h) => ({ ...(await h.issue({ clientId: POST_CLIENT })), client_secret: 'wrong' }) },
    { path: REVOKE, make: async () => ({ client_id: POST_CLIENT, token: 't', client_secret: 'wrong' }) },
  ],
  client_assertion_invalid: [
    {
      path: TOKEN,
      make: async (h) => ({
        ...(await h.issue({ clientId: JWT_CLIENT })),
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: 'not.a.jwt',
      }),
    },
    {
      path: REVOKE,
      make: async () => ({
        client_id: JWT_CLIENT,
        token: 't',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: 'not.a.jwt',
      }),
    },
  ],
  client_assertion_replayed: [
    {
      path: TOKEN,
      make: async (h) => {
        const client_assertion = await (await clientAuthFixture()).assertion();
        const once = { client_id: JWT_CLIENT, token: 't', client_assertion_type: ASSERTION_TYPE, client_assertion };
        expect((await postToken(h.app, once, REVOKE)).status).toBe(200);
        return {
          ...(await h.issue({ clientId: JWT_CLIENT })),
          client_assertion_type: ASSERTION_TYPE,
          client_assertion,
        };
      },
    },
  ],
  // RFC 7662 §2.1: a public client cannot introspect.
  client_not_confidential: [{ path: '/oauth2/introspect', make: async () => ({ client_id: CLIENT_ID, token: 't' }) }],
  client_jwks_unavailable: [
    {
      path: TOKEN,
      make: async (h) => ({
        ...(await h.issue({ clientId: JWKS_URI_CLIENT })),
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await (await clientAuthFixture()).assertion({}, { clientId: JWKS_URI_CLIENT }),
      }),
    },
  ],
  client_unknown: [
    { path: TOKEN, make: async (h) => ({ ...(await h.issue()), client_id: 'stranger' }) },
    { path: REVOKE, make: async () => ({ client_id: 'stranger', token: 'anything' }) },
  ],
};

describe.each(['ciam', 'rfc6749'] as const)(
  'every 401 says how to authenticate (RFC 9110 §15.5.2), %s profile',
  (profile: ErrorProfile) => {
    const reasons = REJECT_REASONS.filter((reason) => answerFor(profile, reason).status === 401);
    let h: Harness;
    const events: TokenRouterEvent[] = [];
    beforeAll(async () => {
      const { clients } = await clientAuthFixture();
      h = await harness({
        errorProfile: profile,
        clients: [...TWO_CLIENTS, ...clients],
        onEvent: (event) => void events.push(event),
      });
    });
    afterAll(() => h.close());

    it('the profile answers some reasons with 401', () => {
      expect(reasons.length).toBeGreaterThan(0);
    });

    it.each(reasons)('%s: 401 with a WWW-Authenticate challenge naming the realm and the error', async (reason) => {
      const provocations = PROVOCATIONS[reason];
      expect(provocations?.length).toBeGreaterThan(0);
      for (const { path, make } of provocations!) {
        events.length = 0;
        const res = await postToken(h.app, await make(h), path);
        expect(events.find((event) => event.type === 'request_rejected')).toMatchObject({ reason, status: 401 });
        expectError(res, 401, answerFor(profile, reason).error);
        expect(res.headers['www-authenticate']).toBe(
          `Bearer realm="${ISSUER}", error="${res.body.error}", error_description="${res.body.error_description}"`,
        );
      }
    });

    it('a client library that reads the challenge before the body finds the OAuth error in it (oauth4webapi)', async () => {
      const [reason] = reasons;
      const { path, make } = PROVOCATIONS[reason!]![0]!;
      const res = await postToken(h.app, await make(h), path);
      const response = new Response(res.text, { status: res.status, headers: res.headers as Record<string, string> });
      await expect(
        oauth.processAuthorizationCodeResponse({ issuer: ISSUER }, { client_id: CLIENT_ID }, response, {}),
      ).rejects.toMatchObject({
        cause: [{ scheme: 'bearer', parameters: { realm: ISSUER, error: answerFor(profile, reason!).error } }],
      });
    });

    it('no other status carries a challenge', async () => {
      const res = await postToken(h.app, { ...(await h.issue()), code: '' });
      expect(res.status).toBe(400);
      expect(res.headers).not.toHaveProperty('www-authenticate');
    });
  },
);

describe("the router's answers carry no X-Powered-By, whatever the host's setting", () => {
  let h: Harness;
  let app: Express;
  beforeAll(async () => {
    h = await harness({ allowedOrigins: [SPA_ORIGIN] });
    // Express's default: `x-powered-by` enabled. The host's route keeps it.
    app = express();
    app.get('/host', (_req, res) => void res.send('host'));
    app.use(h.app);
  });
  afterAll(() => h.close());

  it("a host route keeps it (the setting is the host's, untouched)", async () => {
    const res = await request(app).get('/host');
    expect(res.headers['x-powered-by']).toBe('Express');
    expect(app.enabled('x-powered-by')).toBe(true);
  });

  it.each<[string, (h: Harness) => Promise<request.Response>]>([
    ['token, success', async (h) => postToken(app, await h.issue())],
    ['token, error', async () => postToken(app, 'client_id=%')],
    ['token, 405', async () => request(app).get(TOKEN)],
    [
      'token, preflight',
      async () => request(app).options(TOKEN).set('Origin', SPA_ORIGIN).set('Access-Control-Request-Method', 'POST'),
    ],
    ['revocation', async () => postToken(app, { client_id: CLIENT_ID, token: 'anything' }, REVOKE)],
    ['revocation, error', async () => postToken(app, { client_id: CLIENT_ID }, REVOKE)],
    ['jwks', async () => request(app).get('/oauth2/jwks')],
    ['jwks, HEAD', async () => request(app).head('/oauth2/jwks')],
    ['jwks, 405', async () => request(app).post('/oauth2/jwks')],
    ['discovery', async () => request(app).get('/.well-known/openid-configuration')],
  ])('%s', async (_name, send) => {
    const res = await send(h);
    expect(res.status).toBeLessThan(500);
    expectRouterHeaders(res);
  });
});

/** The raw bytes of an HTTP/1.1 exchange on loopback, so an answer's body (or its absence) is seen as sent. */
async function rawExchange(app: Express, method: string, path: string): Promise<{ head: string; body: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  try {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      });
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    const split = raw.indexOf('\r\n\r\n');
    return { head: raw.slice(0, split), body: raw.slice(split + 4) };
  } finally {
    server.close();
  }
}

/** Header lines by lower-case name, without those that differ between any two answers. */
function headersOf(head: string): Record<string, string> {
  const [, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  delete headers.date;
  return headers;
}

describe.each([
  ['JWKS', '/oauth2/jwks'],
  ['discovery', '/.well-known/openid-configuration'],
])('HEAD on the %s endpoint answers as GET does, without a body (RFC 9110 §9.3.2)', (_name, path) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('the same status and headers as GET, Content-Length included', async () => {
    const get = await rawExchange(h.app, 'GET', path);
    const head = await rawExchange(h.app, 'HEAD', path);
    expect(head.head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(headersOf(head.head)).toEqual(headersOf(get.head));
    expect(Number(headersOf(head.head)['content-length'])).toBe(Buffer.byteLength(get.body));
  });

  it('no body', async () => {
    const head = await rawExchange(h.app, 'HEAD', path);
    expect(head.body).toBe('');
  });

  it('a matching If-None-Match: 304, as for GET', async () => {
    const { headers } = await request(h.app).get(path);
    const res = await request(h.app).head(path).set('If-None-Match', headers.etag!);
    expect(res.status).toBe(304);
  });

  it('a method other than GET or HEAD: 405 with Allow: GET, HEAD', async () => {
    const res = await request(h.app).post(path);
    expectError(res, 405, 'invalid_request');
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});
