import { verify } from 'node:crypto';
import type { ExternalSigningKey } from '../contracts.js';
import { base64urlJson, type JwsHeader, jwsAlgorithm } from './jws.js';
import { externalKeyVerdict } from './signing-key-check.js';

/**
 * Why an external signer's answer was not used: it failed, it took too long, or what it gave is
 * not a signature of this input by this key. The token endpoint answers 503 `key_unavailable`; the
 * message names the kid and the problem, never the input or the signature.
 */
export class ExternalSignerError extends Error {
  readonly code: 'ERR_EXTERNAL_SIGNER_FAILED' | 'ERR_EXTERNAL_SIGNER_TIMEOUT' | 'ERR_EXTERNAL_SIGNATURE_INVALID';

  constructor(code: ExternalSignerError['code'], message: string, options?: { cause?: unknown }) {
    super(`pkce-token-router: ${message}`, options);
    this.name = 'ExternalSignerError';
    this.code = code;
  }
}

/**
 * Sign `payload` as a compact JWS (RFC 7515 §7.1) with a key that stays outside the process: the
 * signing input goes to `key.sign`, raced against `key.timeoutMs`, and what comes back is checked
 * before it is used: its length (RFC 7518 §3.3, §3.4; RFC 8032 §5.1.6), then the signature
 * itself, verified with node:crypto against the key's `publicJwk`. So a signer that answers with
 * DER instead of R || S, with another key, or for another algorithm never makes a token that the
 * JWKS cannot verify. The key was checked at step 6 (docs/contract.md "Order of checks").
 */
export async function signCompactJwsExternally(
  header: JwsHeader,
  payload: object,
  key: ExternalSigningKey,
): Promise<string> {
  const verdict = externalKeyVerdict(key);
  const algorithm = jwsAlgorithm(header.alg);
  if (!verdict.usable || algorithm === undefined) {
    throw new TypeError(`the external signing key ${verdict.usable ? `cannot sign ${header.alg}` : verdict.why}`);
  }
  const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`;
  const input = Buffer.from(signingInput, 'ascii');
  const signature = await withinTimeout(key, input, verdict.timeoutMs);
  if (!(signature instanceof Uint8Array)) {
    throw new ExternalSignerError('ERR_EXTERNAL_SIGNATURE_INVALID', `the signer of kid ${key.kid} answered no bytes`);
  }
  if (signature.byteLength !== verdict.signatureLength) {
    throw new ExternalSignerError(
      'ERR_EXTERNAL_SIGNATURE_INVALID',
      `the signer of kid ${key.kid} answered ${signature.byteLength} bytes; a ${key.alg} signature has ${verdict.signatureLength}${key.alg.startsWith('ES') ? ' (R || S, not DER: see derToJoseSignature)' : ''}`,
    );
  }
  const valid = await new Promise<boolean>((resolve, reject) => {
    verify(algorithm.digest, input, { key: verdict.publicKey, ...algorithm.options }, signature, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
  if (!valid) {
    throw new ExternalSignerError(
      'ERR_EXTERNAL_SIGNATURE_INVALID',
      `the signer of kid ${key.kid} answered a signature its publicJwk does not verify as ${key.alg}`,
    );
  }
  return `${signingInput}.${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64url')}`;
}

/** `key.sign(input)`, or an {@link ExternalSignerError} when it rejects, throws, or outlasts `timeoutMs`. */
function withinTimeout(key: ExternalSigningKey, input: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ExternalSignerError(
            'ERR_EXTERNAL_SIGNER_TIMEOUT',
            `the signer of kid ${key.kid} took over ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  // A signer that throws synchronously fails like one that rejects.
  // The signer gets a copy: whatever it does to it, the input verified below is the one signed.
  const signing = new Promise<Uint8Array>((resolve) => resolve(key.sign(Uint8Array.from(input)))).catch(
    (cause: unknown) => {
      throw new ExternalSignerError('ERR_EXTERNAL_SIGNER_FAILED', `the signer of kid ${key.kid} failed`, { cause });
    },
  );
  return Promise.race([signing, timeout]).finally(() => clearTimeout(timer));
}
