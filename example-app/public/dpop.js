/**
 * DPoP for the demo SPA (RFC 9449), on WebCrypto alone: an ECDSA P-256 key pair whose private
 * key cannot be exported (`extractable: false`, so script running in the page can use it but
 * never read it out), kept in IndexedDB so every tab of the origin signs with the same key, and
 * the proofs (§4.2) sent in the `DPoP` header. A token bound to this key (`cnf.jkt`) is of no use
 * to whoever copies it out of the page: each request needs a fresh proof signed by the key.
 * No dependencies; it runs in browsers and in Node 20+ (all but the IndexedDB part), so tests can
 * import it.
 */
import { base64urlEncode, randomToken } from './oidc-client.js';

/** ES256 (RFC 7518 §3.4): the one algorithm the SPA signs its proofs with. */
const KEY_PARAMS = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN_PARAMS = { name: 'ECDSA', hash: 'SHA-256' };

/** A new key pair: the private key usable to sign, never exported. */
export function generateDpopKeyPair() {
  return crypto.subtle.generateKey(KEY_PARAMS, false, ['sign', 'verify']);
}

const DATABASE = 'pkce-demo-dpop';
const STORE = 'keys';
const KEY_ID = 'current';

function openDatabase() {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

function inTransaction(database, mode, use) {
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(STORE, mode);
    const request = use(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

/**
 * The origin's key pair from IndexedDB, made and kept the first time. A CryptoKey is stored as
 * the browser's own object (structured clone), never as key material. Two tabs starting at once
 * may both make one: `add` keeps the first, and both then read the same pair back.
 */
export async function loadDpopKeyPair() {
  const database = await openDatabase();
  try {
    const stored = await inTransaction(database, 'readonly', (store) => store.get(KEY_ID));
    if (stored !== undefined) return stored;
    const keyPair = await generateDpopKeyPair();
    await inTransaction(database, 'readwrite', (store) => store.add(keyPair, KEY_ID)).catch(() => undefined);
    return await inTransaction(database, 'readonly', (store) => store.get(KEY_ID));
  } finally {
    database.close();
  }
}

/** Forget the key pair (on sign-out): tokens bound to it are then useless everywhere. */
export async function deleteDpopKeyPair() {
  const database = await openDatabase();
  try {
    await inTransaction(database, 'readwrite', (store) => store.delete(KEY_ID));
  } finally {
    database.close();
  }
}

/** The public JWK of the proofs' `jwk` header: the public members only (RFC 9449 §4.2). */
async function publicJwk(keyPair) {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
  return { kty, crv, x, y };
}

function encodeJson(value) {
  return base64urlEncode(new TextEncoder().encode(JSON.stringify(value)));
}

/** RFC 9449 §4.2: `ath`, the base64url SHA-256 of the access token the proof goes with. */
export async function accessTokenHash(accessToken) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken));
  return base64urlEncode(new Uint8Array(digest));
}

/**
 * A DPoP proof (RFC 9449 §4.2) for one request: `htm` its method, `htu` its URL without query
 * and fragment, a fresh `jti`, `iat` now; `ath` when it carries an access token; the server's
 * `nonce` when it asked for one (§8). WebCrypto's ECDSA signature is already r || s, as JWS wants.
 */
export async function createDpopProof(keyPair, { method, url, accessToken, nonce, now = Date.now() }) {
  const target = new URL(url);
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(keyPair) };
  const claims = {
    jti: randomToken(16),
    htm: method,
    htu: `${target.origin}${target.pathname}`,
    iat: Math.floor(now / 1000),
  };
  if (accessToken !== undefined) claims.ath = await accessTokenHash(accessToken);
  if (nonce !== undefined) claims.nonce = nonce;
  const signingInput = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign(SIGN_PARAMS, keyPair.privateKey, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64urlEncode(new Uint8Array(signature))}`;
}

/**
 * `fetch` with a DPoP proof for the request; when the server answers that it wants a nonce
 * (`use_dpop_nonce` with a `DPoP-Nonce` header, RFC 9449 §8 and §9), once more with that nonce.
 * `init.accessToken` is sent as `Authorization: DPoP …` with its `ath`.
 */
export async function fetchWithDpop(keyPair, url, init = {}) {
  const { accessToken, ...rest } = init;
  const method = (rest.method ?? 'GET').toUpperCase();
  const send = async (nonce) => {
    const headers = new Headers(rest.headers);
    headers.set('DPoP', await createDpopProof(keyPair, { method, url, accessToken, nonce }));
    if (accessToken !== undefined) headers.set('Authorization', `DPoP ${accessToken}`);
    return fetch(url, { ...rest, method, headers });
  };
  const first = await send(undefined);
  const nonce = first.headers.get('DPoP-Nonce');
  if (nonce === null || !(await asksForNonce(first))) return first;
  return send(nonce);
}

/** The token endpoint says so in its JSON body (§8), a resource in its `WWW-Authenticate` (§9). */
async function asksForNonce(response) {
  if (response.status === 401 && /error="use_dpop_nonce"/.test(response.headers.get('WWW-Authenticate') ?? '')) {
    return true;
  }
  if (response.status !== 400) return false;
  const body = await response
    .clone()
    .json()
    .catch(() => null);
  return body?.error === 'use_dpop_nonce';
}
