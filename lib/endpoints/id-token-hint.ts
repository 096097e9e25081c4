import { compactVerify, createLocalJWKSet, type JWTPayload } from 'jose';
import type { KeyStore } from '../contracts.js';
import { guard } from '../response/request-error.js';
import { publicKeysOf } from './jwks.js';

/** The algorithms the router signs with (docs/keys.md); never `none` or a shared-secret one. */
const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** What a verified `id_token_hint` says. */
export interface IdTokenHint {
  /** Its `aud`, as a list. */
  audience: string[];
  /** Its `azp`, if any. */
  authorizedParty: string | undefined;
  subject: string | undefined;
}

/**
 * RP-Initiated Logout 1.0 §2: "The OP need not be listed as an audience of the ID Token when it
 * is used as an id_token_hint value", and an expired one is still a hint ("the OP SHOULD accept
 * ID Tokens when the RP identified by the ID Token's aud claim … has a current session or had a
 * recent session"). So: the signature against the key store's published keys, and `iss`; no
 * `exp` check. An access token (`typ: at+jwt`, or a `scope` claim, which no ID token of this
 * router carries) is not an ID token. Returns `undefined` for a hint that fails; rejects with
 * `key_unavailable` when the key store fails.
 */
export async function verifyIdTokenHint(
  hint: string,
  keyStore: KeyStore,
  issuer: string,
): Promise<IdTokenHint | undefined> {
  const keys = await guard(
    Promise.resolve().then(async () => publicKeysOf(await keyStore.publicJwks())),
    'key_unavailable',
  );
  let payload: JWTPayload;
  try {
    const verified = await compactVerify(hint, createLocalJWKSet({ keys }), { algorithms: ALGORITHMS });
    const typ = verified.protectedHeader.typ?.toLowerCase();
    if (typ === 'at+jwt' || typ === 'application/at+jwt') return undefined;
    const parsed: unknown = JSON.parse(new TextDecoder().decode(verified.payload));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    payload = parsed as JWTPayload;
  } catch {
    return undefined;
  }
  if (payload.iss !== issuer || 'scope' in payload) return undefined;
  const audience = typeof payload.aud === 'string' ? [payload.aud] : payload.aud;
  if (!Array.isArray(audience) || audience.length === 0 || !audience.every((aud) => typeof aud === 'string')) {
    return undefined;
  }
  const azp = (payload as { azp?: unknown }).azp;
  if (azp !== undefined && typeof azp !== 'string') return undefined;
  if (payload.sub !== undefined && typeof payload.sub !== 'string') return undefined;
  return { audience, authorizedParty: azp, subject: payload.sub };
}
