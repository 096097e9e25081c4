import { type CompactJWSHeaderParameters, compactVerify, errors, type FlattenedJWSInput, type JWTPayload } from 'jose';
import type { AnyKeyStore } from '../contracts.js';
import { KeyStoreUnavailable, publishedKeysOf } from '../resource/published-keys.js';
import { RequestError } from '../response/request-error.js';

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
 * `key_unavailable` when the key store fails. The keys are those access-token checks keep
 * (lib/resource/published-keys.ts): read once, again on an unknown `kid`.
 */
export async function verifyIdTokenHint(
  hint: string,
  keyStore: AnyKeyStore,
  issuer: string,
): Promise<IdTokenHint | undefined> {
  const keys = publishedKeysOf(keyStore);
  const getKey = async (header: CompactJWSHeaderParameters, token: FlattenedJWSInput) => {
    const used = await keys.current();
    try {
      return await used.resolve(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      const fresh = await keys.afterMiss(used);
      if (fresh === undefined) throw error;
      return fresh.resolve(header, token);
    }
  };
  let payload: JWTPayload;
  try {
    const verified = await compactVerify(hint, getKey, { algorithms: ALGORITHMS });
    const typ = verified.protectedHeader.typ?.toLowerCase();
    if (typ === 'at+jwt' || typ === 'application/at+jwt') return undefined;
    const parsed: unknown = JSON.parse(new TextDecoder().decode(verified.payload));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    payload = parsed as JWTPayload;
  } catch (error) {
    if (error instanceof KeyStoreUnavailable) throw new RequestError('key_unavailable', { cause: error });
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
