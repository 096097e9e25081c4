/*
 * The program of the child process that holds a ChildProcessSigner's private key. It is plain
 * JavaScript run with `node --input-type=module -e`, so the same text runs from the built package
 * and from the TypeScript sources, and it imports node:crypto and node:fs only.
 *
 * Its protocol, over the IPC channel, JSON:
 * - the parent sends `{ setup: { alg, privateJwkPath? } }` once; the child generates the key (or
 *   reads the file itself, so the key never passes through the parent) and answers
 *   `{ ready: { publicJwk } }` or `{ failed: why }` (no key material) and exits;
 * - then `{ id, input }` (the signing input, base64) and answers `{ id, signature }` (base64) or
 *   `{ id, error }`;
 * - it exits when the channel closes: the parent closed it, or the parent died.
 *
 * The digests and options are those of crypto/jws.ts (RFC 7518 §3.3 to §3.5, RFC 8037 §3.1).
 */
export const CHILD_SIGNER_PROGRAM = `
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

const ALGORITHMS = {
  RS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING }, generate: ['rsa', { modulusLength: 2048 }] },
  PS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, generate: ['rsa', { modulusLength: 2048 }] },
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' }, generate: ['ec', { namedCurve: 'P-256' }] },
  EdDSA: { digest: null, options: {}, generate: ['ed25519', {}] },
};

process.on('disconnect', () => process.exit(0));

process.once('message', ({ setup }) => {
  const algorithm = Object.hasOwn(ALGORITHMS, setup.alg) ? ALGORITHMS[setup.alg] : undefined;
  if (algorithm === undefined) return fail('an alg other than RS256, PS256, ES256, EdDSA');
  let privateKey;
  try {
    privateKey = setup.privateJwkPath === undefined
      ? generateKeyPairSync(...algorithm.generate).privateKey
      : createPrivateKey({ key: JSON.parse(readFileSync(setup.privateJwkPath, 'utf8')), format: 'jwk' });
  } catch {
    // The error could quote the file: say only what went wrong.
    return fail(setup.privateJwkPath === undefined ? 'the key could not be generated' : 'the file is not a private JWK it can read');
  }
  if (privateKey.type !== 'private') return fail('the file holds no private key');
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  process.send({ ready: { publicJwk } });
  process.on('message', ({ id, input }) => {
    sign(algorithm.digest, Buffer.from(input, 'base64'), { key: privateKey, ...algorithm.options }, (error, signature) => {
      process.send(error ? { id, error: 'the signature failed' } : { id, signature: signature.toString('base64') });
    });
  });
});

function fail(why) {
  process.send({ failed: why }, () => process.exit(1));
}
`;
