import { createSecretKey } from 'node:crypto';
import express from 'express';
import { exportJWK, type JWTPayload, SignJWT } from 'jose';
import request from 'supertest';
import { ConfigurationError, MemoryCodeStore, type ReplayStore, requireAccessToken } from '../../lib/index.js';
import { accessTokenOf } from '../support/access-tokens.js';
import { type DpopKey, dpopKey, dpopProof } from '../support/dpop-proofs.js';
import { type Harness, harness, ISSUER } from '../support/helpers.js';

/*
 * RFC 9449 §7.1 at the resource side: `Authorization: DPoP <token>` with a proof whose `ath` is
 * the token's hash and whose key is the token's `cnf.jkt`. Each refused proof gets 401 and the
 * DPoP challenge with the RFC's error; none reaches the host's error handler.
 */

const ORIGIN = 'https://api.example.com';
const HTU = `${ORIGIN}/api/profile`;
const ALGS = 'algs="ES256 ES384 PS256 RS256 EdDSA"';

let h: Harness;
let key: DpopKey;
let otherKey: DpopKey;
let boundToken: string;
let unboundToken: string;

async function signedLikeTheRouter(claims: JWTPayload): Promise<string> {
  const signing = await h.keyStore.signingKey();
  const issued = (await accessTokenOf(h)).claims;
  return new SignJWT({ ...issued, ...claims })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .sign(signing.key);
}

beforeAll(async () => {
  h = await harness();
  key = await dpopKey();
  otherKey = await dpopKey();
  boundToken = await signedLikeTheRouter({ cnf: { jkt: key.jkt } });
  unboundToken = (await accessTokenOf(h)).accessToken;
});
afterAll(() => h.close());

function api(replayStore: ReplayStore = new MemoryCodeStore(), extra: Record<string, unknown> = {}) {
  const app = express();
  const errors: unknown[] = [];
  app.get(
    '/api/profile',
    requireAccessToken({
      issuer: ISSUER,
      keyStore: h.keyStore,
      dpop: { publicOrigin: ORIGIN, replayStore, ...extra },
    }),
    (req, res) => {
      res.json({ dpopJkt: req.auth?.dpopJkt ?? null });
    },
  );
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(error);
    res.status(500).end();
  });
  return Object.assign(app, { errors });
}

function call(app: express.Express, proof: string | string[] | undefined, token = boundToken, path = '/api/profile') {
  const req = request(app).get(path).set('Authorization', `DPoP ${token}`);
  return proof === undefined ? req : req.set('DPoP', proof as string);
}

/** 401 with `error` in the DPoP challenge; `check` names the rule that refused it, in the description. */
function expectRefused(res: request.Response, error: string, check?: string) {
  expect(res.status).toBe(401);
  expect(res.body.error).toBe(error);
  if (check !== undefined) expect(res.body.error_description).toContain(check);
  const challenge = res.headers['www-authenticate'] as string;
  expect(challenge).toMatch(new RegExp(`^Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", error="${error}"`));
  expect(challenge).toContain(ALGS);
}

describe('requireAccessToken with dpop: a valid proof (RFC 9449 §7.1)', () => {
  it('a DPoP-bound token with a proof of its key, for this request, passes with dpopJkt on req.auth', async () => {
    const res = await call(api(), await dpopProof(key, 'GET', HTU, { accessToken: boundToken }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ dpopJkt: key.jkt });
  });

  it('the htu is the public origin and the path, without the query', async () => {
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: boundToken });
    const res = await call(api(), proof, boundToken, '/api/profile?page=2');
    expect(res.status).toBe(200);
  });

  it('X-Forwarded-Host and X-Forwarded-Proto do not change the htu', async () => {
    const proof = await dpopProof(key, 'GET', 'https://evil.example/api/profile', { accessToken: boundToken });
    const res = await call(api(), proof).set('X-Forwarded-Host', 'evil.example').set('X-Forwarded-Proto', 'https');
    expectRefused(res, 'invalid_dpop_proof', 'dpop_proof_htu');
  });

  it('a request without credentials gets both challenges, DPoP with its algs, and no error', async () => {
    const res = await request(api()).get('/api/profile');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", ${ALGS}`);
  });
});

describe('requireAccessToken with dpop: refused proofs (RFC 9449 §4.3, §7.1), 401 invalid_dpop_proof', () => {
  it('"the request contains no DPoP HTTP request header": a missing proof', async () => {
    expectRefused(await call(api(), undefined), 'invalid_dpop_proof', 'dpop_proof_missing');
  });

  it('"not more than one DPoP HTTP request header field": two DPoP headers', async () => {
    const one = await dpopProof(key, 'GET', HTU, { accessToken: boundToken });
    const two = await dpopProof(key, 'GET', HTU, { accessToken: boundToken });
    expectRefused(await call(api(), [one, two]), 'invalid_dpop_proof', 'dpop_proof_repeated');
  });

  it('"the DPoP HTTP request header value is a single and well-formed JWT": a malformed proof', async () => {
    expectRefused(await call(api(), 'not.a-jwt'), 'invalid_dpop_proof', 'dpop_proof_malformed');
  });

  it('"alg ... is not a symmetric algorithm": an HS256 proof', async () => {
    const proof = await new SignJWT({ htm: 'GET', htu: HTU, iat: Math.floor(Date.now() / 1000), jti: 'hs-1' })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk } as never)
      .sign(createSecretKey(Buffer.alloc(32, 7)));
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_alg');
  });

  it('"alg ... is not none": an unsecured proof', async () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    // With a signature part, so it is the alg check that refuses it, not the compact-JWS shape check.
    const proof = `${part({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${part({ htm: 'GET', htu: HTU, iat: Math.floor(Date.now() / 1000), jti: 'none-1' })}.c2lnbmF0dXJl`;
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_alg');
  });

  it('"the jwk JOSE Header Parameter does not contain a private key": a proof carrying its private key', async () => {
    const privateJwk = await exportJWK(key.privateKey);
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: boundToken, header: { jwk: privateJwk } });
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_jwk');
  });

  it('"the htm claim matches the HTTP method of the current request": a proof for POST', async () => {
    const proof = await dpopProof(key, 'POST', HTU, { accessToken: boundToken });
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_htm');
  });

  it('"the htu claim matches the HTTP URI value for the HTTP request": a proof for another URL', async () => {
    const proof = await dpopProof(key, 'GET', `${ORIGIN}/api/other`, { accessToken: boundToken });
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_htu');
  });

  it('"the creation time of the JWT ... is within an acceptable window": a proof too old', async () => {
    const iat = Math.floor(Date.now() / 1000) - 301;
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: boundToken, claims: { iat } });
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_expired');
  });

  it('"the creation time of the JWT ... is within an acceptable window": a proof from the future', async () => {
    const iat = Math.floor(Date.now() / 1000) + 60;
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: boundToken, claims: { iat } });
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_future');
  });

  it('"a DPoP proof ... used only once" (§11.1): a replayed proof is refused the second time', async () => {
    const app = api();
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: boundToken });
    expect((await call(app, proof)).status).toBe(200);
    expectRefused(await call(app, proof), 'invalid_dpop_proof', 'dpop_proof_replayed');
  });

  it('"the value of the ath claim equals the hash of that access token": a proof for another token', async () => {
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: unboundToken });
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'dpop_proof_ath');
  });

  it('"the public key to which the access token is bound matches the public key from the DPoP proof": another key', async () => {
    const proof = await dpopProof(otherKey, 'GET', HTU, { accessToken: boundToken });
    expectRefused(await call(api(), proof), 'invalid_dpop_proof', 'not bound to');
  });

  it('never reaches the host error handler, and never echoes the proof', async () => {
    const app = api();
    const proof = await dpopProof(otherKey, 'GET', HTU, { accessToken: boundToken });
    const res = await call(app, proof);
    expect(JSON.stringify(res.body) + JSON.stringify(res.headers)).not.toContain(proof.split('.')[1]);
    expect(app.errors).toEqual([]);
  });
});

describe('requireAccessToken with dpop: the token (RFC 9449 §7.1)', () => {
  it('an unbound token presented with the DPoP scheme is refused: invalid_token in the DPoP challenge', async () => {
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: unboundToken });
    expectRefused(await call(api(), proof, unboundToken), 'invalid_token');
  });

  it('an invalid token with the DPoP scheme: invalid_token in the DPoP challenge', async () => {
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: 'abc.def.ghi' });
    expectRefused(await call(api(), proof, 'abc.def.ghi'), 'invalid_token');
  });

  it('a DPoP-bound token presented as Bearer is still refused (§7.2)', async () => {
    const res = await request(api()).get('/api/profile').set('Authorization', `Bearer ${boundToken}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
  });
});

describe('requireAccessToken with dpop: server nonces (RFC 9449 §8, §9)', () => {
  const nonces = { secret: new Uint8Array(32).fill(3), lifetime: 300 };

  it('a proof without a nonce: 401 use_dpop_nonce, and the nonce in DPoP-Nonce', async () => {
    const res = await call(api(undefined, { nonces }), await dpopProof(key, 'GET', HTU, { accessToken: boundToken }));
    expectRefused(res, 'use_dpop_nonce');
    expect(res.headers['dpop-nonce']).toMatch(/^[\w-]{43}$/);
  });

  it('a proof with the nonce given passes', async () => {
    const app = api(undefined, { nonces });
    const first = await call(app, await dpopProof(key, 'GET', HTU, { accessToken: boundToken }));
    const nonce = first.headers['dpop-nonce'] as string;
    const res = await call(app, await dpopProof(key, 'GET', HTU, { accessToken: boundToken, claims: { nonce } }));
    expect(res.status).toBe(200);
  });
});

describe('requireAccessToken with dpop: the replay store down', () => {
  it('answers 503 temporarily_unavailable, no challenge', async () => {
    const down: ReplayStore = { markSeen: () => Promise.reject(new Error('down')) };
    const res = await call(api(down), await dpopProof(key, 'GET', HTU, { accessToken: boundToken }));
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});

describe('requireAccessToken dpop option: checked at creation', () => {
  const base = () => ({ issuer: ISSUER, keyStore: h.keyStore });
  it.each([
    ['publicOrigin missing', { replayStore: new MemoryCodeStore() }],
    ['publicOrigin with a path', { publicOrigin: `${ORIGIN}/api`, replayStore: new MemoryCodeStore() }],
    ['publicOrigin not http(s)', { publicOrigin: 'ftp://api.example.com', replayStore: new MemoryCodeStore() }],
    ['replayStore missing', { publicOrigin: ORIGIN }],
    ['replayStore without markSeen', { publicOrigin: ORIGIN, replayStore: {} }],
    ['a symmetric algorithm', { publicOrigin: ORIGIN, replayStore: new MemoryCodeStore(), algorithms: ['HS256'] }],
    ['no algorithm', { publicOrigin: ORIGIN, replayStore: new MemoryCodeStore(), algorithms: [] }],
    ['maxAge 0', { publicOrigin: ORIGIN, replayStore: new MemoryCodeStore(), maxAge: 0 }],
    ['clockSkew too large', { publicOrigin: ORIGIN, replayStore: new MemoryCodeStore(), clockSkew: 3601 }],
    [
      'a short nonce secret',
      { publicOrigin: ORIGIN, replayStore: new MemoryCodeStore(), nonces: { secret: new Uint8Array(8) } },
    ],
    ['an unknown field', { publicOrigin: ORIGIN, replayStore: new MemoryCodeStore(), maxAgeSeconds: 60 }],
  ])('%s: ConfigurationError', (_name, dpop) => {
    expect(() => requireAccessToken({ ...base(), dpop: dpop as never })).toThrow(ConfigurationError);
  });
});
