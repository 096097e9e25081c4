import { randomUUID } from 'node:crypto';
import {
  base64url,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  exportJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import request from 'supertest';
import { hashClientSecret, type TokenRouterOptions } from '../../lib/index.js';
import { type DpopKey, dpopKey, dpopProof } from '../support/dpop-proofs.js';
import {
  CLIENT_ID,
  expectError,
  form,
  type Harness,
  harness,
  ISSUER,
  REDIRECT_URI,
  refreshForm,
  SPA_ORIGIN,
} from '../support/helpers.js';

/*
 * RFC 9449 at the token endpoint (docs/dpop.md, docs/contract.md "Order of checks", step 6a).
 * Every refusal is checked to have spent nothing: the same code or refresh token works afterwards.
 */

const HTU = `${ISSUER}/oauth2/token`;
const REQUIRED = 'spa-dpop-required';
const CONFIDENTIAL = 'backend';
const SECRET = 'a client secret of some length';

let h: Harness;
let key: DpopKey;
let otherKey: DpopKey;

async function dpopHarness(options: Partial<TokenRouterOptions> = {}): Promise<Harness> {
  return harness({
    dpop: {},
    clients: [
      { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] },
      { clientId: REQUIRED, redirectUris: [REDIRECT_URI], dpopBoundAccessTokens: true },
      {
        clientId: CONFIDENTIAL,
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'client_secret_post',
        clientSecretHash: await hashClientSecret(SECRET),
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        scopes: ['jobs'],
      },
    ],
    ...options,
  });
}

beforeAll(async () => {
  [h, key, otherKey] = await Promise.all([dpopHarness(), dpopKey(), dpopKey()]);
});
afterAll(() => h.close());

/** POST the form to the token endpoint with these DPoP header values (none, one, or several). */
function post(harnessed: Harness, params: Record<string, string>, ...proofs: string[]) {
  const req = request(harnessed.app).post('/oauth2/token').set('Content-Type', 'application/x-www-form-urlencoded');
  if (proofs.length === 1) req.set('DPoP', proofs[0] as string);
  // superagent sends an array as one header line a value (its types allow arrays only for Cookie).
  if (proofs.length > 1) req.set('DPoP', proofs as unknown as string);
  return req.send(form(params));
}

function proof(with_: DpopKey = key, options: Parameters<typeof dpopProof>[3] = {}): Promise<string> {
  return dpopProof(with_, 'POST', HTU, options);
}

/** A compact JWS with this header and payload and a signature that is not one. */
function unsigned(header: Record<string, unknown>, payload: JWTPayload): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.${base64url.encode('not a signature')}`;
}

function claims(): JWTPayload {
  return { htm: 'POST', htu: HTU, iat: Math.floor(Date.now() / 1000), jti: randomUUID() };
}

async function verifiedAccessToken(harnessed: Harness, token: string): Promise<JWTPayload> {
  const jwks = createLocalJWKSet(await harnessed.keyStore.publicJwks());
  return (await jwtVerify(token, jwks, { issuer: ISSUER })).payload;
}

function expectDpopRefusal(res: request.Response, check: string): void {
  expectError(res, 400, 'invalid_dpop_proof');
  expect(res.body.error_description).toContain(`(${check})`);
}

describe('a valid proof binds the tokens to its key', () => {
  it('RFC 9449 §6.1: the access token carries cnf.jkt, the RFC 7638 thumbprint of the proof key', async () => {
    const res = await post(h, await h.issue(), await proof());
    expect(res.status).toBe(200);
    const payload = await verifiedAccessToken(h, res.body.access_token);
    expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(key.publicJwk, 'sha256') });
  });

  it('RFC 9449 §5: "token_type": "DPoP" in the token response', async () => {
    const res = await post(h, await h.issue(), await proof());
    expect(res.body.token_type).toBe('DPoP');
  });

  it('RFC 9449 §6.1 with the RFC 9068 access-token format: cnf.jkt too', async () => {
    const rfc9068 = await dpopHarness({ accessTokenFormat: 'rfc9068', accessTokenAudience: 'https://api.example.com' });
    try {
      const res = await post(rfc9068, await rfc9068.issue(), await proof());
      expect(res.status).toBe(200);
      const payload = await verifiedAccessToken(rfc9068, res.body.access_token);
      expect(payload.cnf).toEqual({ jkt: key.jkt });
    } finally {
      rfc9068.close();
    }
  });

  it('without a proof, a client not registered for DPoP gets a Bearer token without cnf', async () => {
    const res = await post(h, await h.issue());
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(res.body.access_token)).not.toHaveProperty('cnf');
  });

  it('RFC 9449 §5: client_credentials with a proof gets a DPoP token bound to its key', async () => {
    const res = await post(
      h,
      { grant_type: 'client_credentials', client_id: CONFIDENTIAL, client_secret: SECRET },
      await proof(),
    );
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect((await verifiedAccessToken(h, res.body.access_token)).cnf).toEqual({ jkt: key.jkt });
  });

  it('RFC 9449 §5: a refresh with a proof of the same key gets a DPoP token bound to it', async () => {
    const first = await post(h, await h.issue(), await proof());
    const res = await post(h, refreshForm(first.body.refresh_token), await proof());
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect((await verifiedAccessToken(h, res.body.access_token)).cnf).toEqual({ jkt: key.jkt });
  });
});

describe('a bad proof is refused with invalid_dpop_proof, and the code still works (nothing spent)', () => {
  const cases: [string, string, () => Promise<string[]>][] = [
    [
      'two DPoP headers (§4.3 check 1: "not more than one")',
      'dpop_proof_repeated',
      async () => [await proof(), await proof()],
    ],
    ['a value that is not a JWT (§4.3 check 2)', 'dpop_proof_malformed', async () => ['not-a-jwt']],
    [
      'typ other than dpop+jwt (§4.3 check 4)',
      'dpop_proof_typ',
      async () => [await proof(key, { header: { typ: 'JWT' } })],
    ],
    [
      'alg none (§4.3 check 5: "not none")',
      'dpop_proof_alg',
      async () => [unsigned({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk }, claims())],
    ],
    [
      'a symmetric alg (§4.3 check 5: "not … a symmetric algorithm")',
      'dpop_proof_alg',
      async () => [
        await new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } } as never)
          .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!')),
      ],
    ],
    [
      'a private key in the jwk header (§4.3 check 7: "does not contain a private key")',
      'dpop_proof_jwk',
      async () => [await proof(key, { header: { jwk: (await exportJWK(key.privateKey)) as JWK } })],
    ],
    [
      'a signature by another key than the jwk (§4.3 check 6)',
      'dpop_proof_signature',
      async () => [await proof(key, { header: { jwk: otherKey.publicJwk } })],
    ],
    ['htm other than POST (§4.3 check 8)', 'dpop_proof_htm', async () => [await dpopProof(key, 'GET', HTU)]],
    [
      'htu of another URL (§4.3 check 9)',
      'dpop_proof_htu',
      async () => [await dpopProof(key, 'POST', `${ISSUER}/oauth2/revoke`)],
    ],
    [
      'htu of the Host the request came to rather than the issuer (§4.3 check 9)',
      'dpop_proof_htu',
      async () => [await dpopProof(key, 'POST', 'http://127.0.0.1/oauth2/token')],
    ],
    [
      'iat older than the accepted window (§4.3 check 11, default 60 s)',
      'dpop_proof_expired',
      async () => [await proof(key, { claims: { iat: Math.floor(Date.now() / 1000) - 70 } })],
    ],
    [
      'iat in the future beyond the skew (§4.3 check 11)',
      'dpop_proof_future',
      async () => [await proof(key, { claims: { iat: Math.floor(Date.now() / 1000) + 60 } })],
    ],
    [
      'no jti (§4.2)',
      'dpop_proof_jti_missing',
      async () => [await proof(key, { claims: { jti: undefined } as unknown as JWTPayload })],
    ],
  ];

  it.each(cases)('%s', async (_name, check, proofs) => {
    const code = await h.issue();
    expectDpopRefusal(await post(h, code, ...(await proofs())), check);
    expect((await post(h, code, await proof())).status).toBe(200);
  });

  it('§11.1: a replayed proof (its jti seen before) is refused', async () => {
    const used = await proof();
    expect((await post(h, await h.issue(), used)).status).toBe(200);
    const code = await h.issue();
    expectDpopRefusal(await post(h, code, used), 'dpop_proof_replayed');
    expect((await post(h, code, await proof())).status).toBe(200);
  });

  it('§5.2: a client registered with dpopBoundAccessTokens is refused without a proof', async () => {
    const code = await h.issue({ clientId: REQUIRED });
    expectDpopRefusal(await post(h, code), 'dpop_proof_missing');
    const res = await post(h, code, await proof());
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
  });

  it('the refusal is 400 invalid_dpop_proof in the rfc6749 error profile too', async () => {
    const rfc = await dpopHarness({ errorProfile: 'rfc6749' });
    try {
      expectDpopRefusal(await post(rfc, await rfc.issue(), 'not-a-jwt'), 'dpop_proof_malformed');
    } finally {
      rfc.close();
    }
  });
});

describe("§5: a public client's refresh tokens are bound to the proof key", () => {
  async function boundRefreshToken(): Promise<string> {
    const res = await post(h, await h.issue(), await proof());
    expect(res.status).toBe(200);
    return res.body.refresh_token;
  }

  it('a bound refresh token with a proof of another key is refused, and still works with its own', async () => {
    const token = await boundRefreshToken();
    expectDpopRefusal(await post(h, refreshForm(token), await proof(otherKey)), 'dpop_key_mismatch');
    expect((await post(h, refreshForm(token), await proof())).status).toBe(200);
  });

  it('a bound refresh token without a proof is refused, and still works with one', async () => {
    const token = await boundRefreshToken();
    expectDpopRefusal(await post(h, refreshForm(token)), 'dpop_proof_missing');
    expect((await post(h, refreshForm(token), await proof())).status).toBe(200);
  });

  it("the rotated refresh token is bound to the same key: refused with another key's proof", async () => {
    const rotated = await post(h, refreshForm(await boundRefreshToken()), await proof());
    expectDpopRefusal(
      await post(h, refreshForm(rotated.body.refresh_token), await proof(otherKey)),
      'dpop_key_mismatch',
    );
    expect((await post(h, refreshForm(rotated.body.refresh_token), await proof())).status).toBe(200);
  });

  it("a confidential client's refresh tokens are not bound: a proof of a new key is accepted (§5)", async () => {
    const code = await h.issue({ clientId: CONFIDENTIAL });
    const first = await post(h, { ...code, client_secret: SECRET }, await proof());
    expect(first.status).toBe(200);
    const refresh = { ...refreshForm(first.body.refresh_token), client_id: CONFIDENTIAL, client_secret: SECRET };
    const res = await post(h, refresh, await proof(otherKey));
    expect(res.status).toBe(200);
    expect((await verifiedAccessToken(h, res.body.access_token)).cnf).toEqual({ jkt: otherKey.jkt });
  });

  it('a family started without a proof stays unbound: a later proof binds the access token only', async () => {
    const first = await post(h, await h.issue());
    const withProof = await post(h, refreshForm(first.body.refresh_token), await proof());
    expect(withProof.body.token_type).toBe('DPoP');
    const withoutProof = await post(h, refreshForm(withProof.body.refresh_token));
    expect(withoutProof.status).toBe(200);
    expect(withoutProof.body.token_type).toBe('Bearer');
  });
});

describe('§10: a code issued for a dpop_jkt is redeemed only with a proof of that key', () => {
  it('a proof of another key is refused before the code is spent', async () => {
    const code = await h.issue({ dpopJkt: key.jkt });
    expectDpopRefusal(await post(h, code, await proof(otherKey)), 'dpop_key_mismatch');
    expect((await post(h, code, await proof())).status).toBe(200);
  });

  it('a request without a proof is refused before the code is spent', async () => {
    const code = await h.issue({ dpopJkt: key.jkt });
    expectDpopRefusal(await post(h, code), 'dpop_proof_missing');
    expect((await post(h, code, await proof())).status).toBe(200);
  });
});

describe('§8: server nonces', () => {
  let nonced: Harness;
  beforeAll(async () => {
    nonced = await dpopHarness({ dpop: { nonces: { secret: new Uint8Array(32).fill(7) } } });
  });
  afterAll(() => nonced.close());

  it('a proof without a nonce gets 400 use_dpop_nonce with a DPoP-Nonce header, and nothing is spent', async () => {
    const code = await nonced.issue();
    const refused = await post(nonced, code, await proof());
    expectError(refused, 400, 'use_dpop_nonce');
    const nonce = refused.headers['dpop-nonce'];
    expect(nonce).toEqual(expect.any(String));
    const res = await post(nonced, code, await proof(key, { claims: { nonce } }));
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
  });

  it('a proof with a nonce the server did not issue gets use_dpop_nonce', async () => {
    const refused = await post(nonced, await nonced.issue(), await proof(key, { claims: { nonce: 'made-up' } }));
    expectError(refused, 400, 'use_dpop_nonce');
    expect(refused.headers['dpop-nonce']).toEqual(expect.any(String));
  });

  it('a successful answer carries a DPoP-Nonce for the next request', async () => {
    const nonce = (await post(nonced, await nonced.issue(), await proof())).headers['dpop-nonce'];
    const res = await post(nonced, await nonced.issue(), await proof(key, { claims: { nonce } }));
    expect(res.status).toBe(200);
    expect(res.headers['dpop-nonce']).toEqual(expect.any(String));
  });
});

describe('browsers and discovery', () => {
  it('a preflight from an allowed origin may send the DPoP header', async () => {
    const res = await request(h.app)
      .options('/oauth2/token')
      .set('Origin', SPA_ORIGIN)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type, dpop');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toBe('Content-Type, DPoP');
  });

  it('an answer to an allowed origin exposes DPoP-Nonce (§8: the client must read it)', async () => {
    const res = await post(h, await h.issue(), await proof()).set('Origin', SPA_ORIGIN);
    expect(res.headers['access-control-expose-headers']).toBe('DPoP-Nonce');
  });

  it('§5.1: discovery lists dpop_signing_alg_values_supported', async () => {
    const res = await request(h.app).get('/.well-known/openid-configuration');
    expect(res.body.dpop_signing_alg_values_supported).toEqual(['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA']);
  });
});

describe('without the dpop option', () => {
  let plain: Harness;
  beforeAll(async () => {
    plain = await harness();
  });
  afterAll(() => plain.close());

  it('a DPoP header is ignored: Bearer tokens, without cnf', async () => {
    const res = await post(plain, await plain.issue(), await proof());
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(res.body.access_token)).not.toHaveProperty('cnf');
  });

  it('discovery does not list dpop_signing_alg_values_supported', async () => {
    const res = await request(plain.app).get('/.well-known/openid-configuration');
    expect(res.body).not.toHaveProperty('dpop_signing_alg_values_supported');
  });

  it('a code issued for a dpop_jkt is refused: no proof can be checked, and a bound code is never a bearer one', async () => {
    const code = await plain.issue({ dpopJkt: key.jkt });
    expectDpopRefusal(await post(plain, code, await proof()), 'dpop_proof_missing');
  });
});
