import { isConfidential } from '../clients/client-grants.js';
import type { Client } from '../contracts.js';
import { RequestError } from '../response/request-error.js';

/** What step 6a (endpoints/token-dpop.ts) found: the key of the request's valid DPoP proof. */
export interface TokenDpop {
  /** The RFC 7638 thumbprint of the proof's key: the access token's `cnf.jkt`. */
  jkt: string;
}

/**
 * RFC 9449 §5 and §10: a refresh token or code bound to a key (`boundJkt`) is used only with a
 * proof of that key; a request without a proof, or with another key's, is refused as
 * `invalid_dpop_proof`.
 */
export function requireProofOfKey(boundJkt: string | undefined, proof: TokenDpop | undefined): void {
  if (boundJkt === undefined) return;
  if (proof === undefined) throw new RequestError('dpop_proof_invalid', { detail: 'dpop_proof_missing' });
  if (proof.jkt !== boundJkt) throw new RequestError('dpop_proof_invalid', { detail: 'dpop_key_mismatch' });
}

/**
 * RFC 9449 §5: the key a new refresh-token family is bound to. A public client's refresh tokens
 * are bound to the proof's key; a confidential client's are not ("already sender-constrained" by
 * its authentication), so it may change keys. Without a client list every client is public: none
 * can authenticate.
 */
export function familyBinding(client: Client | undefined, proof: TokenDpop | undefined): string | undefined {
  if (proof === undefined || (client !== undefined && isConfidential(client))) return undefined;
  return proof.jkt;
}
