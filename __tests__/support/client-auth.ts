import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { type Client, hashClientSecret } from '../../lib/index.js';
import { ISSUER, REDIRECT_URI } from './helpers.js';

/** Confidential clients of every method, for the client-authentication tests (docs/clients.md). */
export const BASIC_CLIENT = 'confidential-basic';
export const POST_CLIENT = 'confidential-post';
export const JWT_CLIENT = 'machine-jwt';
export const JWKS_URI_CLIENT = 'machine-jwks-uri';
/** A client secret with characters that Basic's form-urlencoding must carry (RFC 6749 §2.3.1). */
export const CLIENT_SECRET = 'sécret:with+special&chars=%';
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_ENDPOINT = `${ISSUER}/oauth2/token`;

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface ClientAuthFixture {
  clients: Client[];
  /** The private_key_jwt client's private key. */
  privateKey: PrivateKey;
  publicJwk: JWK;
  /** A signed assertion for `clientId` (JWT_CLIENT by default), with claims overridden by `claims`. */
  assertion(
    claims?: Record<string, unknown>,
    options?: { clientId?: string; alg?: string; key?: PrivateKey | Uint8Array },
  ): Promise<string>;
}

let fixture: Promise<ClientAuthFixture> | undefined;

/** One fixture for a test file: hashing and key generation done once. */
export function clientAuthFixture(jwksUri = 'http://127.0.0.1:9/jwks'): Promise<ClientAuthFixture> {
  fixture ??= (async () => {
    const clientSecretHash = await hashClientSecret(CLIENT_SECRET);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'client-key-1', alg: 'ES256' };
    const clients: Client[] = [
      {
        clientId: BASIC_CLIENT,
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'client_secret_basic',
        clientSecretHash,
      },
      {
        clientId: POST_CLIENT,
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'client_secret_post',
        clientSecretHash,
      },
      {
        clientId: JWT_CLIENT,
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [publicJwk] },
      },
      { clientId: JWKS_URI_CLIENT, redirectUris: [REDIRECT_URI], tokenEndpointAuthMethod: 'private_key_jwt', jwksUri },
    ];
    return {
      clients,
      privateKey,
      publicJwk,
      async assertion(claims = {}, options = {}) {
        const clientId = options.clientId ?? JWT_CLIENT;
        const now = Math.floor(Date.now() / 1000);
        const payload = {
          iss: clientId,
          sub: clientId,
          aud: TOKEN_ENDPOINT,
          jti: randomUUID(),
          iat: now,
          exp: now + 60,
          ...claims,
        };
        for (const [name, value] of Object.entries(payload)) {
          if (value === undefined) delete (payload as Record<string, unknown>)[name];
        }
        return new SignJWT(payload)
          .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: 'client-key-1' })
          .sign(options.key ?? privateKey);
      },
    };
  })();
  return fixture;
}

/** `Authorization: Basic` for a client_id and secret, each form-urlencoded first (RFC 6749 §2.3.1). */
export function basicHeader(clientId: string, secret: string): string {
  const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}
