import express from 'express';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import request from 'supertest';
import { requireAccessToken, verifyAccessToken } from '../../lib/index.js';
import { accessTokenOf } from '../support/access-tokens.js';
import { type Harness, harness, ISSUER } from '../support/helpers.js';

/*
 * RFC 9449 §6.1 and §7.2 at the resource side: a token bound to a DPoP key (`cnf.jkt`) is never
 * accepted as a bearer token, by requireAccessToken or by UserInfo.
 */

let h: Harness;
let boundToken: string;
let jkt: string;

/** The router's access token with these claims added, signed by the router's own key. */
async function signedLikeTheRouter(claims: JWTPayload): Promise<string> {
  const key = await h.keyStore.signingKey();
  const issued = (await accessTokenOf(h)).claims;
  return new SignJWT({ ...issued, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.key);
}

beforeAll(async () => {
  h = await harness({ userInfo: (subject) => (subject === 'user-123' ? { name: 'Alice' } : undefined) });
  const { publicKey } = await generateKeyPair('ES256');
  jkt = await calculateJwkThumbprint(await exportJWK(publicKey), 'sha256');
  boundToken = await signedLikeTheRouter({ cnf: { jkt } });
});
afterAll(() => h.close());

function api() {
  const app = express();
  app.get('/api/profile', requireAccessToken({ issuer: ISSUER, keyStore: h.keyStore }), (req, res) => {
    res.json({ dpopJkt: req.auth?.dpopJkt ?? null });
  });
  return app;
}

describe('verifyAccessToken: cnf.jkt (RFC 9449 §6.1)', () => {
  it('a bound token verifies with its thumbprint as dpopJkt', async () => {
    const verified = await verifyAccessToken(boundToken, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified).toMatchObject({ kind: 'valid', dpopJkt: jkt });
  });

  it('a bearer token has no dpopJkt', async () => {
    const { accessToken } = await accessTokenOf(h);
    const verified = await verifyAccessToken(accessToken, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified.kind).toBe('valid');
    expect(verified).not.toHaveProperty('dpopJkt');
  });

  it.each([
    ['cnf a string', 'x'],
    ['cnf without jkt', { x5t: 'abc' }],
    ['jkt not a SHA-256 thumbprint', { jkt: 'short' }],
    ['jkt not a string', { jkt: 42 }],
  ])('a token whose cnf names no thumbprint is refused, not read as unbound: %s', async (_name, cnf) => {
    const token = await signedLikeTheRouter({ cnf });
    const verified = await verifyAccessToken(token, { keyStore: h.keyStore, issuer: ISSUER });
    expect(verified).toMatchObject({ kind: 'invalid', error: 'invalid_token', reason: 'claims_invalid' });
  });
});

describe('requireAccessToken: a DPoP-bound token presented as Bearer (RFC 9449 §7.2)', () => {
  it('is refused with 401 invalid_token, and the challenge names the DPoP scheme too', async () => {
    const res = await request(api()).get('/api/profile').set('Authorization', `Bearer ${boundToken}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
    const challenge = res.headers['www-authenticate'] as string;
    expect(challenge).toMatch(
      new RegExp(`^Bearer realm="${ISSUER}", error="invalid_token", error_description="[^"]+"`),
    );
    expect(challenge).toMatch(new RegExp(`, DPoP realm="${ISSUER}"$`));
  });

  it('a bearer token still passes', async () => {
    const { accessToken } = await accessTokenOf(h);
    const res = await request(api()).get('/api/profile').set('Authorization', `Bearer ${accessToken}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ dpopJkt: null });
  });
});

describe('requireAccessToken: the DPoP scheme (RFC 9449 §7.1)', () => {
  it('a DPoP-scheme header is never taken as a bearer token: without proof checking it is a scheme not accepted, 401 without error', async () => {
    const res = await request(api()).get('/api/profile').set('Authorization', `DPoP ${boundToken}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBeUndefined();
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}"`);
  });

  it('the scheme is case-insensitive: "dpop" is the DPoP scheme too', async () => {
    const res = await request(api()).get('/api/profile').set('Authorization', `dpop ${boundToken}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBeUndefined();
  });

  it('"DPoP" without a token is malformed: 400 invalid_request', async () => {
    const res = await request(api()).get('/api/profile').set('Authorization', 'DPoP');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});

describe('UserInfo: a DPoP-bound token presented as Bearer (RFC 9449 §7.2)', () => {
  it('is refused with 401 invalid_token, and the challenge names the DPoP scheme too', async () => {
    const res = await request(h.app).get('/userinfo').set('Authorization', `Bearer ${boundToken}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
    const challenge = res.headers['www-authenticate'] as string;
    expect(challenge).toMatch(
      /^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+", DPoP realm="[^"]+"$/,
    );
  });
});
