import request from 'supertest';
import type { ErrorProfile } from '../../lib/index.js';
import { expectError, form, type Harness, harness, postToken } from '../support/helpers.js';

type Form = Record<string, string>;
interface Row {
  rule: string;
  ciam: [number, string];
  rfc6749: [number, string];
  /** Turn a valid request into the failing one. */
  make(valid: Form, h: Harness): Promise<string | Form> | string | Form;
}

const without = (valid: Form, name: string): Form => {
  const copy = { ...valid };
  delete copy[name];
  return copy;
};

/** docs/contract.md "Errors": code unknown, expired or already used. */
const CODE_REFUSED: Record<ErrorProfile, [number, string]> = {
  ciam: [401, 'invalid_client'],
  rfc6749: [400, 'invalid_grant'],
};

/** docs/contract.md "Errors": each row, both profiles. */
const ROWS: Row[] = [
  {
    rule: 'client_id missing',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => without(v, 'client_id'),
  },
  {
    rule: 'client_id empty',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, client_id: '' }),
  },
  {
    rule: 'client_id malformed (over 256 characters)',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, client_id: 'c'.repeat(257) }),
  },
  {
    rule: 'client_id malformed (a control character)',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, client_id: 'we\nb' }),
  },
  {
    rule: 'client_id unknown to the client registry',
    ciam: [400, 'invalid_request'],
    rfc6749: [401, 'invalid_client'],
    make: (v) => ({ ...v, client_id: 'stranger' }),
  },
  {
    rule: 'grant_type empty',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, grant_type: '' }),
  },
  {
    rule: 'redirect_uri empty',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, redirect_uri: '' }),
  },
  {
    rule: 'code_verifier empty',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, code_verifier: '' }),
  },
  {
    rule: 'grant_type missing',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => without(v, 'grant_type'),
  },
  {
    rule: 'code missing',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => without(v, 'code'),
  },
  {
    rule: 'code empty',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, code: '' }),
  },
  {
    rule: 'code of exactly 512 characters passes the limit, then is unknown',
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_grant'],
    make: (v) => ({ ...v, code: 'x'.repeat(512) }),
  },
  {
    rule: "redirect_uri of exactly 2048 characters passes the limit, then differs from the code's",
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_grant'],
    make: (v) => ({ ...v, redirect_uri: `https://app.example.com/${'a'.repeat(2024)}` }),
  },
  {
    rule: 'client_id of exactly 256 characters passes the limit, then is unknown to the registry',
    ciam: [400, 'invalid_request'],
    rfc6749: [401, 'invalid_client'],
    make: (v) => ({ ...v, client_id: 'c'.repeat(256) }),
  },
  {
    rule: 'code over 512 characters',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, code: 'x'.repeat(513) }),
  },
  {
    rule: 'redirect_uri missing',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => without(v, 'redirect_uri'),
  },
  {
    rule: 'redirect_uri over 2048 characters',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, redirect_uri: `https://app.example.com/${'a'.repeat(2030)}` }),
  },
  {
    rule: 'code_verifier missing',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => without(v, 'code_verifier'),
  },
  {
    rule: 'a known parameter repeated',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => `${form(v)}&code=again`,
  },
  {
    rule: 'a known parameter in bracket form',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => `${form(v)}&client_id[a]=web`,
  },
  {
    rule: 'body not parseable (a malformed % escape)',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => `${form(v)}&state=%E0%A4%A`,
  },
  {
    rule: 'code_verifier shorter than 43 characters',
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, code_verifier: 'a'.repeat(42) }),
  },
  {
    rule: 'code_verifier longer than 128 characters',
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, code_verifier: 'a'.repeat(129) }),
  },
  {
    rule: 'code_verifier with a character outside A-Z a-z 0-9 - . _ ~',
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, code_verifier: `${'a'.repeat(42)}+` }),
  },
  {
    rule: "grant_type over 64 characters (this library's limit)",
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, grant_type: 'g'.repeat(65) }),
  },
  // Limits count UTF-16 code units (docs/contract.md "Limits on input"): a character outside the BMP is two.
  {
    rule: 'grant_type of 64 UTF-16 units (32 characters outside the BMP) is within the limit, then not supported',
    ciam: [401, 'unsupported_grant_type'],
    rfc6749: [400, 'unsupported_grant_type'],
    make: (v) => ({ ...v, grant_type: '\u{1F600}'.repeat(32) }),
  },
  {
    rule: 'grant_type of 64 characters outside the BMP (128 UTF-16 units) is over the limit',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, grant_type: '\u{1F600}'.repeat(64) }),
  },
  {
    rule: "redirect_uri of exactly 2048 UTF-16 units, in characters outside the BMP with variation selectors, passes the limit, then differs from the code's",
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_grant'],
    make: (v) => ({ ...v, redirect_uri: `https://app.example.com/${'\u{1F600}\uFE0F'.repeat(674)}ab` }),
  },
  {
    rule: 'redirect_uri of 2049 UTF-16 units, in characters outside the BMP with variation selectors, is over the limit',
    ciam: [400, 'invalid_request'],
    rfc6749: [400, 'invalid_request'],
    make: (v) => ({ ...v, redirect_uri: `https://app.example.com/${'\u{1F600}\uFE0F'.repeat(675)}` }),
  },
  {
    rule: 'grant_type present but not supported',
    ciam: [401, 'unsupported_grant_type'],
    rfc6749: [400, 'unsupported_grant_type'],
    make: (v) => ({ ...v, grant_type: 'password' }),
  },
  {
    rule: 'client_id differs from the one the code was issued to',
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_grant'],
    make: async (v, h) => ({ ...(await h.issue({ clientId: 'other' })), client_id: v.client_id! }),
  },
  {
    rule: 'code unknown',
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_grant'],
    make: (v) => ({ ...v, code: 'never-issued' }),
  },
  {
    rule: "redirect_uri differs from the code's",
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_grant'],
    make: (v) => ({ ...v, redirect_uri: 'https://app.example.com/callback/' }),
  },
  {
    rule: "code_verifier's S256 hash differs from the code's challenge",
    ciam: [401, 'invalid_client'],
    rfc6749: [400, 'invalid_grant'],
    make: (v) => ({
      ...v,
      code_verifier: `${v.code_verifier!.slice(0, -1)}${v.code_verifier!.endsWith('A') ? 'B' : 'A'}`,
    }),
  },
];

describe.each(['ciam', 'rfc6749'] as const)(
  'errors under the %s profile (docs/contract.md "Errors")',
  (profile: ErrorProfile) => {
    let h: Harness;
    beforeAll(async () => {
      h = await harness({
        errorProfile: profile,
        clients: [
          { clientId: 'web', redirectUris: ['https://app.example.com/callback'] },
          { clientId: 'other', redirectUris: ['https://app.example.com/callback'] },
        ],
      });
    });
    afterAll(() => h.close());

    it.each(ROWS)('$rule', async (row) => {
      const res = await postToken(h.app, await row.make(await h.issue(), h));
      expectError(res, ...row[profile]);
    });

    it('code already used', async () => {
      const valid = await h.issue();
      expect((await postToken(h.app, valid)).status).toBe(200);
      expectError(await postToken(h.app, valid), ...CODE_REFUSED[profile]);
    });

    it('code expired', async () => {
      let now = 1_700_000_000_000;
      const timed = await harness({ errorProfile: profile, now: () => now });
      const valid = await timed.issue({}, 60);
      now += 60_000;
      expectError(await postToken(timed.app, valid), ...CODE_REFUSED[profile]);
      timed.close();
    });

    it('a wrong content type', async () => {
      const res = await request(h.app)
        .post('/oauth2/token')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(await h.issue()));
      expectError(res, 400, 'invalid_request');
    });

    it('no content type', async () => {
      const res = await request(h.app)
        .post('/oauth2/token')
        .send(Buffer.from(form(await h.issue())));
      expectError(res, 400, 'invalid_request');
    });

    it('a charset other than UTF-8', async () => {
      const res = await request(h.app)
        .post('/oauth2/token')
        .set('Content-Type', 'application/x-www-form-urlencoded; charset=ISO-8859-1')
        .send(form(await h.issue()));
      expectError(res, 400, 'invalid_request');
    });

    it('a body of exactly the size limit is accepted', async () => {
      const valid = form(await h.issue());
      const body = `${valid}&pad=${'x'.repeat(16 * 1024 - valid.length - '&pad='.length)}`;
      expect(Buffer.byteLength(body)).toBe(16 * 1024);
      expect((await postToken(h.app, body)).status).toBe(200);
    });

    it('body over the bodyLimit option: 413', async () => {
      const small = await harness({ errorProfile: profile, bodyLimit: 1024 });
      const valid = form(await small.issue());
      const body = `${valid}&pad=${'x'.repeat(1025 - valid.length - '&pad='.length)}`;
      expect(Buffer.byteLength(body)).toBe(1025);
      expectError(await postToken(small.app, body), 413, 'invalid_request');
      small.close();
    });

    it('body over the size limit (16 KiB by default, one byte more): 413', async () => {
      const valid = form(await h.issue());
      const body = `${valid}&pad=${'x'.repeat(16 * 1024 + 1 - valid.length - '&pad='.length)}`;
      expect(Buffer.byteLength(body)).toBe(16 * 1024 + 1);
      expectError(await postToken(h.app, body), 413, 'invalid_request');
    });

    it('a method other than POST or OPTIONS on the token path: 405 with Allow', async () => {
      for (const method of ['get', 'put', 'delete', 'patch'] as const) {
        const res = await request(h.app)[method]('/oauth2/token');
        expectError(res, 405, 'invalid_request');
        expect(res.headers.allow).toBe('POST, OPTIONS');
      }
    });

    it('a method other than GET or HEAD on the JWKS path: 405 with Allow', async () => {
      const res = await request(h.app).post('/oauth2/jwks');
      expectError(res, 405, 'invalid_request');
      expect(res.headers.allow).toBe('GET, HEAD');
    });
  },
);

describe('accepted request forms (docs/contract.md "Request")', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('accepts charset=UTF-8 in any case, quoted or not', async () => {
    for (const type of [
      'application/x-www-form-urlencoded; charset=UTF-8',
      'Application/X-WWW-Form-URLEncoded;charset="utf-8"',
    ]) {
      const res = await request(h.app)
        .post('/oauth2/token')
        .set('Content-Type', type)
        .send(form(await h.issue()));
      expect(res.status).toBe(200);
    }
  });

  it('ignores unknown parameters, even when repeated', async () => {
    const res = await postToken(h.app, `${form(await h.issue())}&state=1&state=2&foo[bar]=x&resource=a`);
    expect(res.status).toBe(200);
  });

  it('ignores a repeated parameter of another grant type: scope in a code request', async () => {
    const res = await postToken(h.app, `${form(await h.issue())}&scope=a&scope=b&refresh_token[]=x`);
    expect(res.status).toBe(200);
  });

  it("refuses a repeated parameter of the request's own grant type", async () => {
    const res = await postToken(
      h.app,
      `${form(await h.issue())}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('decodes + and percent escapes in values', async () => {
    const h2 = await harness({ clients: [{ clientId: 'web', redirectUris: ['com.example.app:/callback?x=a b'] }] });
    const valid = await h2.issue({ redirectUri: 'com.example.app:/callback?x=a b' });
    const body = form(valid);
    expect(body).toContain('a+b');
    expect((await postToken(h2.app, body)).status).toBe(200);
    h2.close();
  });

  it('compares mobile redirect URIs exactly: custom scheme and loopback', async () => {
    const uris = ['com.example.app:/callback', 'http://127.0.0.1:49152/cb'];
    const h2 = await harness({ clients: [{ clientId: 'app', redirectUris: uris }] });
    for (const uri of uris) {
      expect((await postToken(h2.app, await h2.issue({ clientId: 'app', redirectUri: uri }))).status).toBe(200);
    }
    const other = {
      ...(await h2.issue({ clientId: 'app', redirectUri: uris[1]! })),
      redirect_uri: 'http://127.0.0.1:49153/cb',
    };
    expect((await postToken(h2.app, other)).status).toBe(401);
    h2.close();
  });

  it('takes any well-formed client_id without a client registry, matching it against the code', async () => {
    const h2 = await harness({ clients: undefined as never });
    const valid = await h2.issue({ clientId: 'anything' });
    expect((await postToken(h2.app, { ...valid, client_id: 'something-else' })).status).toBe(401);
    expect((await postToken(h2.app, await h2.issue({ clientId: 'anything' }))).status).toBe(200);
    h2.close();
  });

  it('refuses a plain challenge unless the client is allowed it', async () => {
    const verifier = 'v'.repeat(43);
    const plain = { codeChallenge: verifier, codeChallengeMethod: 'plain' as const };
    const refused = { ...(await h.issue(plain)), code_verifier: verifier };
    expect((await postToken(h.app, refused)).body.error).toBe('invalid_client');
    const h2 = await harness({
      clients: [{ clientId: 'web', redirectUris: ['https://app.example.com/callback'], allowPlainPkce: true }],
    });
    const allowed = { ...(await h2.issue(plain)), code_verifier: verifier };
    expect((await postToken(h2.app, allowed)).status).toBe(200);
    h2.close();
  });
});

describe('order of checks (docs/contract.md "Order of checks": the first failing step decides)', () => {
  let h: Harness;
  /** The internal reason of the last refusal, from the audit event: which check answered. */
  let lastReason: string | undefined;
  beforeAll(async () => {
    h = await harness({
      errorProfile: 'rfc6749',
      onEvent: (event) => {
        if (event.type === 'request_rejected') lastReason = event.reason;
      },
    });
  });
  afterAll(() => h.close());

  it('1 before 2: a repeated parameter wins over a missing client_id', async () => {
    const res = await postToken(h.app, 'grant_type=authorization_code&code=a&code=b');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(lastReason).toBe('parameter_repeated');
  });

  it('1 before 3: a repeated code wins over an unsupported grant_type', async () => {
    const ciam = await harness();
    const res = await postToken(ciam.app, 'client_id=web&grant_type=password&code=a&code=b');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    ciam.close();
  });

  it('2 before 3: a missing client_id wins over an unsupported grant_type', async () => {
    const res = await postToken(h.app, { grant_type: 'password' });
    expect(res.body.error).toBe('invalid_request');
  });

  it('3 before 4: an unsupported grant_type wins over a malformed code_verifier', async () => {
    const res = await postToken(h.app, { ...(await h.issue()), grant_type: 'password', code_verifier: 'short' });
    expect(res.body.error).toBe('unsupported_grant_type');
  });

  it('4 before 5: a malformed code_verifier wins over an unknown client', async () => {
    const res = await postToken(h.app, { ...(await h.issue()), client_id: 'stranger', code_verifier: 'short' });
    expect(res.body.error).toBe('invalid_request');
  });

  it('5 before 7: an unknown client does not spend the code', async () => {
    const valid = await h.issue();
    expect((await postToken(h.app, { ...valid, client_id: 'stranger' })).body.error).toBe('invalid_client');
    expect((await postToken(h.app, valid)).status).toBe(200);
  });

  it('8: the client is checked before the redirect URI, the redirect URI before the verifier', async () => {
    const h2 = await harness({
      clients: [
        { clientId: 'web', redirectUris: ['https://app.example.com/callback'] },
        { clientId: 'other', redirectUris: ['https://app.example.com/callback'] },
      ],
      errorProfile: 'rfc6749',
    });
    // All three bindings wrong: the error description tells which check answered.
    const first = await postToken(h2.app, {
      ...(await h2.issue()),
      client_id: 'other',
      redirect_uri: 'https://x.example/cb',
      code_verifier: 'a'.repeat(43),
    });
    expect(first.body.error_description).toMatch(/not issued to this client/);
    const second = await postToken(h2.app, {
      ...(await h2.issue()),
      redirect_uri: 'https://x.example/cb',
      code_verifier: 'a'.repeat(43),
    });
    expect(second.body.error_description).toMatch(/redirect_uri/);
    h2.close();
  });
});

describe('every bad input gets JSON (docs/contract.md "Limits on input")', () => {
  it.each([
    ['an empty body', ''],
    ['only ampersands', '&&&'],
    ['a bare name', 'client_id'],
    ['invalid UTF-8 after decoding', 'client_id=%FF%FE'],
    ['a lone %', 'client_id=%'],
    ['nested brackets', 'code[a][b]=1'],
    ['an array form', 'grant_type[]=authorization_code'],
  ])('%s: a 4xx JSON error, never a 5xx, HTML or stack trace', async (_name, body) => {
    const h = await harness();
    const res = await postToken(h.app, body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.text).not.toMatch(/<html|at .*\.(ts|js):\d+/i);
    h.close();
  });

  it.each<[string, Record<string, string>]>([
    ['a wrong redirect_uri', { redirect_uri: 'https://x.example/cb' }],
    ['a wrong verifier', { code_verifier: 'v'.repeat(43) }],
    ['a malformed verifier', { code_verifier: 'short-verifier' }],
  ])('never echoes the code or verifier in an error: %s', async (_name, change) => {
    const h = await harness();
    const valid = await h.issue();
    const sent = { ...valid, ...change };
    const res = await postToken(h.app, sent);
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(sent.code!);
    expect(res.text).not.toContain(sent.code_verifier!);
    h.close();
  });
});
