// The bare reference handlers the router is measured against: what a minimal real token
// endpoint does and nothing more. Express + express.urlencoded + a Map + two signatures:
// parse the form, look up and delete the code, check the client, the redirect URI and the PKCE
// S256 hash, sign the access and ID tokens (concurrently), answer JSON with no-store.
// Keep them honest: they must do the same work a minimal real endpoint does, no less.

import { createHash, generateKeyPair, randomBytes, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import express from 'express';
import { createLocalJWKSet, exportJWK, generateKeyPair as joseGenerateKeyPair, jwtVerify, SignJWT } from 'jose';

/** The node:crypto parameters of each JWS algorithm (RFC 7518 §3). */
const NODE_SIGN = {
  RS256: { digest: 'sha256', options: {} },
  PS256: { digest: 'sha256', options: { padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 } },
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  EdDSA: { digest: null, options: {} },
};

/** A signer over jose's SignJWT (WebCrypto underneath). */
export async function joseSigner(alg) {
  const { privateKey, publicKey } = await joseGenerateKeyPair(alg, { modulusLength: 2048 });
  const kid = randomUUID();
  return {
    kid,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey),
  };
}

/** A signer over node:crypto's asynchronous sign() with a KeyObject (libuv's thread pool). */
export async function nodeCryptoSigner(alg) {
  const type = { RS256: 'rsa', PS256: 'rsa', ES256: 'ec', EdDSA: 'ed25519' }[alg];
  const { privateKey, publicKey } = await promisify(generateKeyPair)(type, {
    modulusLength: 2048,
    namedCurve: 'P-256',
  });
  const kid = randomUUID();
  const { digest, options } = NODE_SIGN[alg];
  const key = { key: privateKey, ...options };
  const header = Buffer.from(JSON.stringify({ alg, kid, typ: 'JWT' })).toString('base64url');
  return {
    kid,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    sign: (claims) =>
      new Promise((resolve, reject) => {
        const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
        sign(digest, Buffer.from(input), key, (error, signature) => {
          if (error) reject(error);
          else resolve(`${input}.${signature.toString('base64url')}`);
        });
      }),
  };
}

/**
 * A bare token endpoint at `/oauth2/token`. `addCode(grant)` stores a grant under a fresh code
 * and returns the code (the bench's stand-in for an authorization step).
 */
export function createReferenceApp({ issuer, signer }) {
  const codes = new Map();
  const app = express();
  app.disable('x-powered-by');
  const fail = (res, status, error) => res.status(status).set('Cache-Control', 'no-store').json({ error });
  app.post('/oauth2/token', express.urlencoded({ extended: false }), async (req, res, next) => {
    try {
      const { grant_type, client_id, code, redirect_uri, code_verifier } = req.body ?? {};
      if (grant_type !== 'authorization_code') return fail(res, 400, 'unsupported_grant_type');
      const grant = typeof code === 'string' ? codes.get(code) : undefined;
      if (grant === undefined) return fail(res, 400, 'invalid_grant');
      codes.delete(code);
      if (grant.clientId !== client_id || grant.redirectUri !== redirect_uri || typeof code_verifier !== 'string') {
        return fail(res, 400, 'invalid_grant');
      }
      const derived = Buffer.from(createHash('sha256').update(code_verifier).digest('base64url'));
      const expected = Buffer.from(grant.codeChallenge);
      if (derived.length !== expected.length || !timingSafeEqual(derived, expected))
        return fail(res, 400, 'invalid_grant');
      const iat = Math.floor(Date.now() / 1000);
      const [accessToken, idToken] = await Promise.all([
        signer.sign({
          iss: issuer,
          sub: grant.subject,
          aud: client_id,
          scope: grant.scope,
          iat,
          nbf: iat,
          exp: iat + 300,
          jti: randomUUID(),
        }),
        signer.sign({
          iss: issuer,
          sub: grant.subject,
          aud: client_id,
          azp: client_id,
          iat,
          exp: iat + 1800,
          jti: randomUUID(),
          nonce: grant.nonce,
        }),
      ]);
      res.set('Cache-Control', 'no-store').json({
        access_token: accessToken,
        scope: grant.scope.join(' '),
        id_token: idToken,
        token_type: 'Bearer',
        expires_in: 300,
      });
    } catch (error) {
      next(error);
    }
  });
  return {
    app,
    addCode(grant) {
      const code = randomBytes(32).toString('base64url');
      codes.set(code, grant);
      return code;
    },
  };
}

/**
 * The bare protected API the middleware is measured against: Express and one handler that reads
 * the Bearer token and calls jose's jwtVerify with a local JWKS (the same keys, read once),
 * checking the issuer, the algorithms, typ and exp as a minimal real resource server does, then
 * the scope. It answers the same JSON as the library's target, with no-store.
 */
export function createReferenceApiApp({ issuer, jwks, scope }) {
  const keys = createLocalJWKSet(jwks);
  const app = express();
  app.disable('x-powered-by');
  const fail = (res, status, error) => res.status(status).set('Cache-Control', 'no-store').json({ error });
  app.get('/api/profile', async (req, res) => {
    const header = req.headers.authorization;
    if (header === undefined || !header.startsWith('Bearer ')) return fail(res, 401, 'invalid_request');
    let payload;
    try {
      ({ payload } = await jwtVerify(header.slice(7), keys, {
        issuer,
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        typ: 'JWT',
      }));
    } catch {
      return fail(res, 401, 'invalid_token');
    }
    if (!Array.isArray(payload.scope) || !payload.scope.includes(scope)) return fail(res, 403, 'insufficient_scope');
    res.set('Cache-Control', 'no-store').json({ sub: payload.sub });
  });
  return app;
}

/**
 * The bare logout endpoint the router's is measured against (RP-Initiated Logout 1.0): Express's
 * query parser, jose's jwtVerify of the id_token_hint with a local JWKS (the issuer, the
 * algorithms, the client as its audience), the registered post-logout URI compared exactly, then
 * a 303 with the state. No session to end, as in the library's target.
 */
export function createReferenceLogoutApp({ issuer, jwks, clientId, postLogoutRedirectUri }) {
  const keys = createLocalJWKSet(jwks);
  const app = express();
  app.disable('x-powered-by');
  const fail = (res) => res.status(400).set('Cache-Control', 'no-store').json({ error: 'invalid_request' });
  app.get('/logout', async (req, res) => {
    const { client_id: client, id_token_hint: hint, post_logout_redirect_uri: uri, state } = req.query;
    if (client !== clientId || typeof hint !== 'string' || uri !== postLogoutRedirectUri || typeof state !== 'string') {
      return fail(res);
    }
    try {
      await jwtVerify(hint, keys, { issuer, audience: clientId, algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] });
    } catch {
      return fail(res);
    }
    res
      .status(303)
      .set({ 'Cache-Control': 'no-store', Location: `${uri}?${new URLSearchParams({ state })}`, 'Content-Length': '0' })
      .end();
  });
  return app;
}

/**
 * The bare introspection endpoint (RFC 7662) the router's is measured against: Express,
 * express.urlencoded, the resource server's Basic credentials checked as the client credentials
 * handler does, jose's jwtVerify of the token with a local JWKS (issuer, algorithms, typ), then
 * the standard members as JSON with no-store; `{"active": false}` for a token that fails.
 */
export function createReferenceIntrospectionApp({ issuer, jwks, clientId, clientSecret }) {
  const keys = createLocalJWKSet(jwks);
  const expected = createHash('sha256').update(clientSecret).digest();
  const app = express();
  app.disable('x-powered-by');
  const answer = (res, body) => res.set('Cache-Control', 'no-store').json(body);
  app.post('/oauth2/introspect', express.urlencoded({ extended: false }), async (req, res) => {
    const header = req.headers.authorization ?? '';
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const given = createHash('sha256')
      .update(decodeURIComponent(decoded.slice(colon + 1)))
      .digest();
    if (
      !header.startsWith('Basic ') ||
      colon < 0 ||
      decoded.slice(0, colon) !== clientId ||
      !timingSafeEqual(given, expected)
    ) {
      return res.status(401).set('Cache-Control', 'no-store').json({ error: 'invalid_client' });
    }
    const { token } = req.body ?? {};
    if (typeof token !== 'string' || token === '') return res.status(400).json({ error: 'invalid_request' });
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        typ: 'JWT',
      });
      return answer(res, {
        active: true,
        scope: Array.isArray(payload.scope) ? payload.scope.join(' ') : payload.scope,
        client_id: payload.aud,
        token_type: 'Bearer',
        exp: payload.exp,
        iat: payload.iat,
        nbf: payload.nbf,
        sub: payload.sub,
        aud: payload.aud,
        iss: payload.iss,
        jti: payload.jti,
      });
    } catch {
      return answer(res, { active: false });
    }
  });
  return app;
}

/**
 * The bare client credentials endpoint (RFC 6749 §4.4) the router's is measured against: Express,
 * express.urlencoded, the Basic header decoded (RFC 6749 §2.3.1's form-urlencoding), the secret's
 * SHA-256 compared in constant time with the one registered client's, the scope checked against
 * its registered scopes, one access token signed with jose, JSON with no-store.
 */
export function createReferenceClientCredentialsApp({ issuer, signer, clientId, clientSecret, scopes }) {
  const expected = createHash('sha256').update(clientSecret).digest();
  const app = express();
  app.disable('x-powered-by');
  const fail = (res, status, error) => res.status(status).set('Cache-Control', 'no-store').json({ error });
  app.post('/oauth2/token', express.urlencoded({ extended: false }), async (req, res, next) => {
    try {
      const header = req.headers.authorization ?? '';
      if (!header.startsWith('Basic ')) return fail(res, 401, 'invalid_client');
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return fail(res, 401, 'invalid_client');
      const id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      const given = createHash('sha256').update(secret).digest();
      if (id !== clientId || !timingSafeEqual(given, expected)) return fail(res, 401, 'invalid_client');
      const { grant_type, scope } = req.body ?? {};
      if (grant_type !== 'client_credentials') return fail(res, 400, 'unsupported_grant_type');
      const granted = typeof scope === 'string' && scope !== '' ? scope.split(' ') : scopes;
      if (!granted.every((name) => scopes.includes(name))) return fail(res, 400, 'invalid_scope');
      const iat = Math.floor(Date.now() / 1000);
      const accessToken = await signer.sign({
        iss: issuer,
        sub: clientId,
        aud: clientId,
        scope: granted,
        iat,
        nbf: iat,
        exp: iat + 300,
        jti: randomUUID(),
      });
      res
        .set('Cache-Control', 'no-store')
        .json({ access_token: accessToken, scope: granted.join(' '), token_type: 'Bearer', expires_in: 300 });
    } catch (error) {
      next(error);
    }
  });
  return app;
}
