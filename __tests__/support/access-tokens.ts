import { createPublicKey, createSecretKey } from 'node:crypto';
import { decodeJwt, type JWTPayload, SignJWT } from 'jose';
import type { AuthorizationCodeRequest, KeyStore, MemoryKeyStore } from '../../lib/index.js';
import { type Harness, signIn } from './helpers.js';

/** The tokens of one sign-in through the router's token endpoint, and the access token's claims. */
export async function accessTokenOf(
  h: Harness,
  grant: Partial<AuthorizationCodeRequest> = {},
): Promise<{ accessToken: string; idToken: string | undefined; refreshToken: string; claims: JWTPayload }> {
  const body = await signIn(h, { scope: ['openid', 'profile'], ...grant });
  const accessToken = body.access_token as string;
  return {
    accessToken,
    idToken: body.id_token,
    refreshToken: body.refresh_token as string,
    claims: decodeJwt(accessToken),
  };
}

/** A key store that counts its `publicJwks()` reads, and can be made to fail them. */
export function countingKeyStore(inner: KeyStore): KeyStore & { reads: number; failing: boolean } {
  const counting = {
    reads: 0,
    failing: false,
    signingKey: () => inner.signingKey(),
    publicJwks: () => {
      counting.reads++;
      return counting.failing ? Promise.reject(new Error('key store down')) : inner.publicJwks();
    },
  };
  return counting;
}

/** RFC 7519 §6: an unsecured JWT (`alg: none`) with these claims. */
export function unsecuredJwt(claims: JWTPayload, typ = 'JWT'): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ })}.${part(claims)}.`;
}

/**
 * The algorithm-confusion forgery (RFC 8725 §2.1): HS256 with the router's public key (its PEM)
 * as the HMAC secret, under the key's own kid.
 */
export async function hs256WithPublicKey(keyStore: MemoryKeyStore, claims: JWTPayload, typ = 'JWT'): Promise<string> {
  const [jwk] = (await keyStore.publicJwks()).keys;
  if (jwk === undefined) throw new Error('no published key');
  const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  });
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ, ...(jwk.kid === undefined ? {} : { kid: jwk.kid }) })
    .sign(createSecretKey(Buffer.from(pem)));
}
