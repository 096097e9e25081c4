import { createSecretKey } from 'node:crypto';
import { exportJWK, type JWTPayload, SignJWT } from 'jose';
import request from 'supertest';
import type { ReplayStore } from '../../lib/index.js';
import { accessTokenOf } from '../support/access-tokens.js';
import { type DpopKey, dpopKey, dpopProof } from '../support/dpop-proofs.js';
import { type Harness, harness, ISSUER } from '../support/helpers.js';

/*
 * UserInfo (OIDC Core §5.3) with a DPoP-bound access token (RFC 9449 §7.1): `Authorization: DPoP`
 * and a proof for the UserInfo URL discovery publishes, signed by the token's key. Proof jtis go in
 * the router's replay store (the code store). Refusals: 401 with the DPoP challenge.
 */

const HTU = `${ISSUER.replace(/\/$/, '')}/userinfo`;
const lookup = (subject: string) => (subject === 'user-123' ? { name: 'Alice' } : undefined);

let h: Harness;
let key: DpopKey;
let otherKey: DpopKey;
let boundToken: string;
let unboundToken: string;

async function signedLikeTheRouter(router: Harness, claims: JWTPayload): Promise<string> {
  const signing = await router.keyStore.signingKey();
  const issued = (await accessTokenOf(router)).claims;
  return new SignJWT({ ...issued, ...claims })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .sign(signing.key);
}

beforeAll(async () => {
  h = await harness({ userInfo: lookup });
  key = await dpopKey();
  otherKey = await dpopKey();
  boundToken = await signedLikeTheRouter(h, { cnf: { jkt: key.jkt } });
  unboundToken = (await accessTokenOf(h)).accessToken;
});
afterAll(() => h.close());

function get(proof: string | string[] | undefined, token = boundToken, app = h.app) {
  const req = request(app).get('/userinfo').set('Authorization', `DPoP ${token}`);
  return proof === undefined ? req : req.set('DPoP', proof as string);
}

function expectRefused(res: request.Response, error: string, check?: string) {
  expect(res.status).toBe(401);
  expect(res.body.error).toBe(error);
  if (check !== undefined) expect(res.body.error_description).toContain(check);
  expect(res.headers['www-authenticate']).toMatch(
    new RegExp(`^Bearer realm="[^"]+", DPoP realm="[^"]+", error="${error}", error_description="[^"]+", algs="ES256 `),
  );
}

describe('UserInfo with DPoP (RFC 9449 §7.1)', () => {
  it('a DPoP-bound token with a valid proof gets the claims (GET)', async () => {
    const res = await get(await dpopProof(key, 'GET', HTU, { accessToken: boundToken }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: 'user-123', name: 'Alice' });
  });

  it('a DPoP-bound token with a valid proof gets the claims (POST: htm is POST)', async () => {
    const res = await request(h.app)
      .post('/userinfo')
      .set('Authorization', `DPoP ${boundToken}`)
      .set('DPoP', await dpopProof(key, 'POST', HTU, { accessToken: boundToken }));
    expect(res.status).toBe(200);
  });

  it.each<[string, string, () => Promise<string | string[] | undefined>]>([
    ['"the request contains no DPoP HTTP request header": missing', 'dpop_proof_missing', async () => undefined],
    [
      '"not more than one DPoP HTTP request header field": two',
      'dpop_proof_repeated',
      async () => [
        await dpopProof(key, 'GET', HTU, { accessToken: boundToken }),
        await dpopProof(key, 'GET', HTU, { accessToken: boundToken }),
      ],
    ],
    ['"a single and well-formed JWT": malformed', 'dpop_proof_malformed', async () => 'a.b'],
    [
      '"not a symmetric algorithm": HS256',
      'dpop_proof_alg',
      () =>
        new SignJWT({ htm: 'GET', htu: HTU, iat: Math.floor(Date.now() / 1000), jti: 'u-hs' })
          .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk } as never)
          .sign(createSecretKey(Buffer.alloc(32, 1))),
    ],
    [
      '"not none": alg none',
      'dpop_proof_alg',
      async () => {
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const claims = { htm: 'GET', htu: HTU, iat: Math.floor(Date.now() / 1000), jti: 'u-none' };
        return `${part({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${part(claims)}.c2ln`;
      },
    ],
    [
      '"does not contain a private key": private jwk',
      'dpop_proof_jwk',
      async () =>
        dpopProof(key, 'GET', HTU, { accessToken: boundToken, header: { jwk: await exportJWK(key.privateKey) } }),
    ],
    [
      '"htm ... matches": another method',
      'dpop_proof_htm',
      () => dpopProof(key, 'PUT', HTU, { accessToken: boundToken }),
    ],
    [
      '"htu ... matches": another URL',
      'dpop_proof_htu',
      () => dpopProof(key, 'GET', `${HTU}/other`, { accessToken: boundToken }),
    ],
    [
      '"within an acceptable window": too old',
      'dpop_proof_expired',
      () =>
        dpopProof(key, 'GET', HTU, { accessToken: boundToken, claims: { iat: Math.floor(Date.now() / 1000) - 301 } }),
    ],
    [
      '"within an acceptable window": in the future',
      'dpop_proof_future',
      () =>
        dpopProof(key, 'GET', HTU, { accessToken: boundToken, claims: { iat: Math.floor(Date.now() / 1000) + 60 } }),
    ],
    [
      '"ath ... equals the hash of that access token": another token',
      'dpop_proof_ath',
      () => dpopProof(key, 'GET', HTU, { accessToken: unboundToken }),
    ],
    [
      '"the public key to which the access token is bound matches": another key',
      'not bound to',
      () => dpopProof(otherKey, 'GET', HTU, { accessToken: boundToken }),
    ],
  ])('%s: 401 invalid_dpop_proof', async (_rule, check, proof) => {
    expectRefused(await get(await proof()), 'invalid_dpop_proof', check);
  });

  it('"used only once" (§11.1): a replayed proof is refused the second time', async () => {
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: boundToken });
    expect((await get(proof)).status).toBe(200);
    expectRefused(await get(proof), 'invalid_dpop_proof', 'dpop_proof_replayed');
  });

  it('an unbound token presented with the DPoP scheme: 401 invalid_token in the DPoP challenge', async () => {
    const proof = await dpopProof(key, 'GET', HTU, { accessToken: unboundToken });
    expectRefused(await get(proof, unboundToken), 'invalid_token');
  });

  it('the replay store down: 503 temporarily_unavailable', async () => {
    const down: ReplayStore = { markSeen: () => Promise.reject(new Error('down')) };
    const failing = await harness({ userInfo: lookup, replayStore: down });
    try {
      const token = await signedLikeTheRouter(failing, { cnf: { jkt: key.jkt } });
      const res = await get(await dpopProof(key, 'GET', HTU, { accessToken: token }), token, failing.app);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('temporarily_unavailable');
    } finally {
      failing.close();
    }
  });
});
