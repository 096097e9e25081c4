/**
 * What the demo SPA needs of OAuth 2.0 and OpenID Connect, on WebCrypto alone: PKCE (RFC 7636),
 * the code exchange (RFC 6749 §4.1.3), the ID token's signature and claims (OIDC Core
 * §3.1.3.7), refresh (RFC 6749 §6), and revocation (RFC 7009). No dependencies; it runs in browsers and in Node 20+, so tests can import it.
 */

/** A check on a sign-in response failed; `code` names which, for display. */
export class SignInCheckError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'SignInCheckError';
    this.code = code;
  }
}

export function base64urlEncode(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function base64urlDecode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new SignInCheckError('invalid_token', 'not base64url');
  }
  const base64 = text
    .replaceAll('-', '+')
    .replaceAll('_', '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

/** `byteLength` random bytes, base64url: 32 bytes make a 43-character PKCE verifier. */
export function randomToken(byteLength = 32) {
  return base64urlEncode(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(ASCII(code_verifier))). */
export async function s256Challenge(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64urlEncode(new Uint8Array(digest));
}

/** RFC 7636 §4.1–4.2: a fresh verifier (32 random bytes) and its S256 challenge. */
export async function createPkcePair() {
  const verifier = randomToken(32);
  return { verifier, challenge: await s256Challenge(verifier) };
}

/**
 * A form POST to the token endpoint. Resolves `{ ok, status, body }`, body parsed from JSON.
 * `send` makes the request: `fetch`, or a function adding a DPoP proof (dpop.js `fetchWithDpop`).
 */
export async function postToTokenEndpoint(tokenEndpoint, params, send = fetch) {
  const response = await send(tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(params).toString(),
    credentials: 'omit',
  });
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  return { ok: response.ok, status: response.status, body };
}

/** RFC 6749 §4.1.3: redeem the code. */
export function exchangeCode({ tokenEndpoint, clientId, redirectUri, code, codeVerifier, send }) {
  return postToTokenEndpoint(
    tokenEndpoint,
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: codeVerifier,
    },
    send,
  );
}

/** RFC 6749 §6: new tokens for the refresh token; the answer carries its successor (rotation). */
export function refreshTokens({ tokenEndpoint, clientId, refreshToken, send }) {
  return postToTokenEndpoint(
    tokenEndpoint,
    { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId },
    send,
  );
}

/**
 * RFC 7009 §2.1: revoke a refresh token (and, at this endpoint, its whole family). Resolves
 * `{ ok, status }`: RFC 7009 §2.2 answers 200 with no body, whether or not the token was known.
 */
export async function revokeToken({ revocationEndpoint, clientId, token }) {
  const response = await fetch(revocationEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: clientId, token, token_type_hint: 'refresh_token' }).toString(),
    credentials: 'omit',
  });
  return { ok: response.ok, status: response.status };
}

/** The issuer's public keys. */
export async function fetchJwks(jwksUri) {
  const response = await fetch(jwksUri, { headers: { Accept: 'application/json' }, credentials: 'omit' });
  const jwks = response.ok ? await response.json() : undefined;
  if (!Array.isArray(jwks?.keys))
    throw new SignInCheckError('jwks_unavailable', `the JWKS answered HTTP ${response.status}`);
  return jwks;
}

/** A JWS compact serialisation taken apart, with nothing checked. */
export function decodeJwt(jwt) {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) throw new SignInCheckError('invalid_token', 'not a JWT');
  const json = (part) => {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64urlDecode(part)));
    } catch {
      throw new SignInCheckError('invalid_token', 'the JWT is not JSON');
    }
  };
  return {
    header: json(parts[0]),
    payload: json(parts[1]),
    signingInput: new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    signature: base64urlDecode(parts[2]),
  };
}

/** The JWS algorithms the library signs with, as WebCrypto parameters (RFC 7518 §3). */
const ALGORITHMS = {
  RS256: {
    kty: 'RSA',
    importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    verifyParams: { name: 'RSASSA-PKCS1-v1_5' },
  },
  PS256: {
    kty: 'RSA',
    importParams: { name: 'RSA-PSS', hash: 'SHA-256' },
    verifyParams: { name: 'RSA-PSS', saltLength: 32 },
  },
  // JWS carries ECDSA signatures as r || s, the format WebCrypto verifies.
  ES256: {
    kty: 'EC',
    crv: 'P-256',
    importParams: { name: 'ECDSA', namedCurve: 'P-256' },
    verifyParams: { name: 'ECDSA', hash: 'SHA-256' },
  },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } },
};

const PUBLIC_MEMBERS = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] };

/**
 * Verify a JWT's signature with the key of its `kid` in `jwks`, and return its header and
 * claims. The algorithm comes from our own table, never `none`, and must fit the key.
 */
export async function verifyJwtSignature(jwt, jwks) {
  const { header, payload, signingInput, signature } = decodeJwt(jwt);
  const algorithm = Object.hasOwn(ALGORITHMS, header.alg) ? ALGORITHMS[header.alg] : undefined;
  if (algorithm === undefined) throw new SignInCheckError('invalid_token', `unsupported alg ${String(header.alg)}`);
  const jwk = jwks.keys.find(
    (key) =>
      key.kid === header.kid &&
      key.kty === algorithm.kty &&
      (algorithm.crv === undefined || key.crv === algorithm.crv) &&
      (key.alg === undefined || key.alg === header.alg) &&
      (key.use === undefined || key.use === 'sig'),
  );
  if (jwk === undefined)
    throw new SignInCheckError('invalid_token', `no ${header.alg} key with kid ${String(header.kid)} in the JWKS`);
  // Import only the public members, so no stray field of the JWK can change how it is used.
  const publicJwk = { kty: jwk.kty, ext: true };
  for (const member of PUBLIC_MEMBERS[jwk.kty]) publicJwk[member] = jwk[member];
  const key = await crypto.subtle.importKey('jwk', publicJwk, algorithm.importParams, false, ['verify']);
  const valid = await crypto.subtle.verify(algorithm.verifyParams, key, signature, signingInput);
  if (!valid) throw new SignInCheckError('invalid_token', 'the signature does not verify');
  return { header, payload };
}

/**
 * OIDC Core §3.1.3.7: the ID token is from our issuer, for us, not expired, and answers our
 * own request (nonce). `leeway` allows for clock skew between browser and server, in seconds.
 */
export function checkIdTokenClaims(claims, { issuer, clientId, nonce, now = Date.now(), leeway = 60 }) {
  const fail = (message) => {
    throw new SignInCheckError('invalid_id_token', message);
  };
  const nowSeconds = Math.floor(now / 1000);
  if (claims.iss !== issuer) fail(`iss is ${JSON.stringify(claims.iss)}, expected ${JSON.stringify(issuer)}`);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(clientId)) fail('aud does not name this client');
  if ((audiences.length > 1 || claims.azp !== undefined) && claims.azp !== clientId)
    fail('azp does not name this client');
  if (typeof claims.sub !== 'string' || claims.sub === '') fail('sub is missing');
  if (typeof claims.exp !== 'number' || claims.exp + leeway <= nowSeconds) fail('the ID token has expired');
  if (typeof claims.iat !== 'number' || claims.iat - leeway > nowSeconds) fail('iat is in the future');
  if (claims.nonce !== nonce) fail('nonce does not match the one this sign-in sent');
}
