import type { Request } from 'express';
import type { RouterConfig } from '../config/configuration.js';
import type { Client } from '../contracts.js';
import { DpopProofError, DpopReplayStoreError } from '../dpop/dpop-error.js';
import { dpopHeaderValues } from '../dpop/proof-header.js';
import { verifyDpopProof } from '../dpop/verify-proof.js';
import type { TokenDpop } from '../grants/dpop-binding.js';
import { RequestError } from '../response/request-error.js';
import type { RequestState } from './form-post.js';

/**
 * docs/contract.md "Order of checks", step 6a: the request's DPoP proof (RFC 9449 §4.3, §5),
 * after the signing key (step 6) and before anything is spent, so a bad proof costs the user no
 * code or refresh token. Resolves to the proof's key, or `undefined` for a request without a
 * proof (Bearer tokens), or for any request when the router's `dpop` option is off: a server
 * that does not support DPoP ignores the header (RFC 9449 §5: "the authorization server …
 * MAY ignore it"), and issues Bearer tokens, which is what the client then sees in `token_type`.
 *
 * The proof is of `POST` at the token endpoint's public URL: the issuer and the token path, as
 * discovery publishes `token_endpoint` (never the request's `Host`, which the client controls).
 * With server nonces (§8), the answer carries the current nonce, success or refusal.
 */
export async function checkTokenDpop(
  config: RouterConfig,
  req: Request,
  client: Client | undefined,
  state: RequestState,
): Promise<TokenDpop | undefined> {
  const { dpop } = config;
  if (dpop === undefined) {
    // A registry record that requires DPoP on a router without it: the registry's mistake (a
    // client list with such a client is refused at startup).
    if (client?.dpopBoundAccessTokens === true) throw new RequestError('client_record_invalid');
    return undefined;
  }
  const values = dpopHeaderValues(req);
  if (values.length === 0) {
    // RFC 9449 §5.2: a client registered for DPoP-bound tokens gets none without a proof.
    if (client?.dpopBoundAccessTokens === true) {
      throw new RequestError('dpop_proof_invalid', { detail: 'dpop_proof_missing' });
    }
    return undefined;
  }
  try {
    const proof = await verifyDpopProof(values, {
      method: 'POST',
      url: `${config.issuer.replace(/\/$/, '')}${config.tokenPath}`,
      algorithms: dpop.algorithms,
      maxAge: dpop.maxAge,
      clockSkew: dpop.clockSkew,
      now: config.now,
      replayStore: dpop.replayStore,
      nonces: dpop.nonces,
    });
    // §8.2: a fresh nonce with every answer, for the client's next request.
    if (dpop.nonces !== undefined) setNonce(state, proof.nextNonce ?? dpop.nonces.current(config.now()));
    return { jkt: proof.jkt };
  } catch (error) {
    if (error instanceof DpopReplayStoreError) throw new RequestError('store_unavailable', { cause: error });
    if (error instanceof DpopProofError) {
      // §8: use_dpop_nonce comes with the nonce to use.
      if (error.nonce !== undefined) setNonce(state, error.nonce);
      const reason = error.error === 'use_dpop_nonce' ? 'dpop_nonce_required' : 'dpop_proof_invalid';
      throw new RequestError(reason, { detail: error.reason, cause: error });
    }
    throw error;
  }
}

function setNonce(state: RequestState, nonce: string): void {
  state.headers = { ...state.headers, 'DPoP-Nonce': nonce };
}
