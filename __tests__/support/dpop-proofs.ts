import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/** A client's DPoP key pair (RFC 9449 §2), its public JWK and its RFC 7638 thumbprint. */
export interface DpopKey {
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
  jkt: string;
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

/** RFC 9449 §4.2 `ath`: the base64url SHA-256 of the access token. */
export function athOf(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

/**
 * A DPoP proof (RFC 9449 §4.2) for `htm` `htu`, signed by `key`, with `accessToken`'s `ath`;
 * `claims` and `header` override what they name.
 */
export function dpopProof(
  key: DpopKey,
  htm: string,
  htu: string,
  options: { accessToken?: string; claims?: JWTPayload; header?: Record<string, unknown> } = {},
): Promise<string> {
  const payload: JWTPayload = {
    htm,
    htu,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    ...(options.accessToken === undefined ? {} : { ath: athOf(options.accessToken) }),
    ...options.claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...options.header } as never)
    .sign(key.privateKey);
}
