import { createLocalJWKSet, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import request from 'supertest';
import { familyIdFor, hashSecret } from '../../lib/crypto/secrets.js';
import { s256Challenge } from '../../lib/grants/pkce.js';
import { MemoryKeyStore } from '../../lib/index.js';
import { CLIENT_ID, type Harness, harness, ISSUER, postToken } from '../support/helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('token endpoint: success (docs/contract.md "Success")', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  async function redeem(grant = {}) {
    const res = await postToken(h.app, await h.issue(grant));
    expect(res.status).toBe(200);
    return res;
  }

  async function jwks() {
    const res = await request(h.app).get('/oauth2/jwks');
    return createLocalJWKSet(res.body as { keys: JWK[] });
  }

  it('answers 200 with application/json;charset=UTF-8, Cache-Control: no-store and Pragma: no-cache', async () => {
    const res = await redeem();
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
  });

  it('returns access_token, refresh_token, scope, id_token, token_type Bearer and expires_in, in the order of docs/contract.md "Success"', async () => {
    const res = await redeem();
    expect(Object.keys(res.body)).toEqual([
      'access_token',
      'refresh_token',
      'scope',
      'id_token',
      'token_type',
      'expires_in',
    ]);
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.scope).toBe('openid');
  });

  it('signs the access token with the current key: header alg, kid and typ JWT', async () => {
    const res = await redeem();
    const { kid, alg } = await h.keyStore.signingKey();
    expect(decodeProtectedHeader(res.body.access_token)).toEqual({ alg, kid, typ: 'JWT' });
    expect(alg).toBe('RS256');
  });

  it('puts iss, sub, aud = client_id, scope as a JSON array, iat, nbf = iat, exp = iat + 300 and a UUID jti in the access token', async () => {
    const res = await redeem({ scope: ['openid', 'profile'] });
    const { payload } = await jwtVerify(res.body.access_token, await jwks(), { issuer: ISSUER, audience: CLIENT_ID });
    expect(payload.sub).toBe('user-123');
    expect(payload.aud).toBe(CLIENT_ID);
    expect(payload.scope).toEqual(['openid', 'profile']);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp).toBe(payload.iat! + 300);
    expect(payload.jti).toMatch(UUID);
    expect(res.body.scope).toBe('openid profile');
  });

  it('gives every token a fresh jti', async () => {
    const [a, b] = await Promise.all([redeem(), redeem()]);
    const ids = [a, b]
      .flatMap((res) => [res.body.access_token, res.body.id_token])
      .map((jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).jti);
    expect(new Set(ids).size).toBe(4);
  });

  it('puts iss, sub, aud, azp = client_id, iat, exp = iat + 1800 and jti in the ID token', async () => {
    const res = await redeem();
    const { payload, protectedHeader } = await jwtVerify(res.body.id_token, await jwks(), {
      issuer: ISSUER,
      audience: CLIENT_ID,
    });
    expect(protectedHeader.typ).toBe('JWT');
    expect(payload.azp).toBe(CLIENT_ID);
    expect(payload.sub).toBe('user-123');
    expect(payload.exp).toBe(payload.iat! + 1800);
    expect(payload.jti).toMatch(UUID);
    expect(payload).not.toHaveProperty('nonce');
    expect(payload).not.toHaveProperty('auth_time');
  });

  it('adds nonce and auth_time to the ID token when the authorization request had them', async () => {
    const res = await redeem({ nonce: 'n-0S6_WzA2Mj', authTime: 1_700_000_000 });
    const { payload } = await jwtVerify(res.body.id_token, await jwks());
    expect(payload.nonce).toBe('n-0S6_WzA2Mj');
    expect(payload.auth_time).toBe(1_700_000_000);
  });

  it('issues no id_token when the scope does not hold openid', async () => {
    const res = await redeem({ scope: ['api'] });
    expect(res.body).not.toHaveProperty('id_token');
    expect(res.body.scope).toBe('api');
  });

  it('lets host claims in, but never over the registered ones', async () => {
    const res = await redeem({
      nonce: 'real-nonce',
      accessTokenClaims: { tenant: 't1', sub: 'attacker', iss: 'https://evil.example', scope: 'admin' },
      idTokenClaims: { email: 'u@example.com', aud: 'other', nonce: 'forged', exp: 9_999_999_999 },
    });
    const access = (await jwtVerify(res.body.access_token, await jwks())).payload;
    expect(access).toMatchObject({ tenant: 't1', sub: 'user-123', iss: ISSUER, scope: ['openid'] });
    const id = (await jwtVerify(res.body.id_token, await jwks())).payload;
    expect(id).toMatchObject({ email: 'u@example.com', aud: CLIENT_ID, nonce: 'real-nonce' });
    expect(id.exp).toBe(id.iat! + 1800);
  });

  it('does not let a host claim set nonce or auth_time when the grant has none', async () => {
    const res = await redeem({ idTokenClaims: { nonce: 'forged', auth_time: 1 } });
    const id = (await jwtVerify(res.body.id_token, await jwks())).payload;
    expect(id).not.toHaveProperty('nonce');
    expect(id).not.toHaveProperty('auth_time');
  });

  it.each([
    ['exactly 43 characters, the shortest', 'a'.repeat(43)],
    ['exactly 128 characters, the longest', '-._~'.repeat(32)],
  ])('accepts a code_verifier of %s (docs/contract.md "Limits on input": 43–128)', async (_name, verifier) => {
    const form = await h.issue({ codeChallenge: s256Challenge(verifier) });
    const res = await postToken(h.app, { ...form, code_verifier: verifier });
    expect(res.status).toBe(200);
  });

  it("returns a refresh token of 128 characters: its family's id, a dot, then 504 random bits, base64url", async () => {
    const form = await h.issue();
    const res = await postToken(h.app, form);
    expect(res.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{84}$/);
    expect(res.body.refresh_token.slice(0, 43)).toBe(familyIdFor(hashSecret(form.code!)));
  });

  it('stores the refresh token only as a hash, with a family id derived from the code', async () => {
    const form = await h.issue();
    const res = await postToken(h.app, form);
    const rotated = await h.refreshTokenStore.rotate(hashSecret(res.body.refresh_token));
    expect(rotated.outcome).toBe('rotated');
    if (rotated.outcome !== 'rotated') return;
    expect(rotated.record).toMatchObject({ clientId: CLIENT_ID, subject: 'user-123', scope: ['openid'] });
    expect(rotated.record.familyId).toBe(familyIdFor(hashSecret(form.code!)));
    expect(JSON.stringify(rotated.record)).not.toContain(res.body.refresh_token);
    expect(JSON.stringify(rotated.record)).not.toContain(form.code);
  });
});

describe('expires_in (docs/contract.md "Success")', () => {
  it('is the whole seconds left: 299 for a 300 s token issued mid-second, as the Tencent Cloud CIAM token API answers', async () => {
    const h = await harness({ now: () => 1_700_000_000_500 });
    const res = await postToken(h.app, await h.issue());
    expect(res.body.expires_in).toBe(299);
    h.close();
  });

  it('follows accessTokenTtl', async () => {
    const h = await harness({ now: () => 1_700_000_000_000, accessTokenTtl: 60, idTokenTtl: 120 });
    const res = await postToken(h.app, await h.issue());
    expect(res.body.expires_in).toBe(60);
    const claims = JSON.parse(Buffer.from(res.body.id_token.split('.')[1], 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(120);
    h.close();
  });

  it('stamps iat from the injected clock', async () => {
    const h = await harness({ now: () => 1_700_000_000_999 });
    const res = await postToken(h.app, await h.issue());
    const claims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString());
    expect(claims.iat).toBe(1_700_000_000);
    h.close();
  });
});

describe.each(['RS256', 'PS256', 'ES256', 'EdDSA'] as const)('tokens signed with %s', (alg) => {
  it('verify against the public keys the JWKS endpoint serves', async () => {
    const keyStore = await MemoryKeyStore.generate({ alg });
    const h = await harness({ keyStore });
    const res = await postToken(h.app, await h.issue());
    expect(res.status).toBe(200);
    const keys = createLocalJWKSet((await request(h.app).get('/oauth2/jwks')).body);
    for (const token of [res.body.access_token, res.body.id_token]) {
      const { protectedHeader } = await jwtVerify(token, keys, {
        issuer: ISSUER,
        audience: CLIENT_ID,
        algorithms: [alg],
      });
      expect(protectedHeader.alg).toBe(alg);
    }
    h.close();
  });
});

describe('RFC 7636 Appendix B over HTTP', () => {
  it('redeems a code whose challenge is the Appendix B challenge with the Appendix B verifier', async () => {
    const h = await harness();
    const valid = await h.issue({ codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' });
    const res = await postToken(h.app, { ...valid, code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' });
    expect(res.status).toBe(200);
    h.close();
  });
});
