import { createHash, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { ReplayStore } from '../../lib/contracts.js';
import { DpopProofError, DpopReplayStoreError } from '../../lib/dpop/dpop-error.js';
import { DpopNonces } from '../../lib/dpop/nonce.js';
import { type DpopProofExpectation, verifyDpopProof } from '../../lib/dpop/verify-proof.js';
import { MemoryCodeStore } from '../../lib/stores/memory/memory-code-store.js';
import { fakeClock } from '../support/fake-clock.js';

const URL_ = 'https://as.example/oauth/token';
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const publicJwk = await exportJWK(publicKey);
const otherKeys = await generateKeyPair('ES256', { extractable: true });

interface ProofParts {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  key?: Parameters<SignJWT['sign']>[0];
  alg?: string;
}

let jtiCounter = 0;
async function proof(clock: () => number, parts: ProofParts = {}): Promise<string> {
  const alg = parts.alg ?? 'ES256';
  const claims = {
    htm: 'POST',
    htu: URL_,
    iat: Math.floor(clock() / 1000),
    jti: `jti-${++jtiCounter}-${Math.random()}`,
    ...parts.claims,
  };
  for (const [name, value] of Object.entries(claims))
    if (value === undefined) delete (claims as Record<string, unknown>)[name];
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: publicJwk, ...parts.header } as never)
    .sign(parts.key ?? privateKey);
}

function expectation(clock: () => number, overrides: Partial<DpopProofExpectation> = {}): DpopProofExpectation {
  return {
    method: 'POST',
    url: URL_,
    algorithms: ['ES256', 'RS256'],
    maxAge: 60,
    clockSkew: 5,
    now: clock,
    replayStore: new MemoryCodeStore({ now: clock }),
    ...overrides,
  };
}

async function refusal(promise: Promise<unknown>): Promise<DpopProofError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DpopProofError);
  return error as DpopProofError;
}

describe('verifyDpopProof (RFC 9449 §4.3)', () => {
  it('accepts a valid proof and answers the RFC 7638 thumbprint of its jwk', async () => {
    const clock = fakeClock().now;
    const result = await verifyDpopProof([await proof(clock)], expectation(clock));
    expect(result.jkt).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
  });

  it('refuses a request with no DPoP header', async () => {
    const clock = fakeClock().now;
    expect((await refusal(verifyDpopProof([], expectation(clock)))).reason).toBe('dpop_proof_missing');
  });

  it('check 1: refuses two DPoP header fields', async () => {
    const clock = fakeClock().now;
    const values = [await proof(clock), await proof(clock)];
    const error = await refusal(verifyDpopProof(values, expectation(clock)));
    expect([error.error, error.reason]).toEqual(['invalid_dpop_proof', 'dpop_proof_repeated']);
  });

  it('check 1: refuses one header field whose value joins two proofs with a comma', async () => {
    const clock = fakeClock().now;
    const joined = `${await proof(clock)}, ${await proof(clock)}`;
    expect((await refusal(verifyDpopProof([joined], expectation(clock)))).reason).toBe('dpop_proof_repeated');
  });

  it.each([
    ['not a JWS', 'not-a-jws'],
    ['two parts', 'eyJhbGciOiJFUzI1NiJ9.e30'],
    ['a header that is not JSON', 'bm90LWpzb24.e30.c2ln'],
  ])('checks 2 and 3: refuses a proof that is %s', async (_name, value) => {
    const clock = fakeClock().now;
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_malformed');
  });

  it('check 4: refuses a typ other than dpop+jwt', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { header: { typ: 'JWT' } });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_typ');
  });

  it('check 5: refuses alg none', async () => {
    const clock = fakeClock().now;
    const head = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ htm: 'POST', htu: URL_, iat: 0, jti: 'x' })).toString('base64url');
    const value = `${head}.${body}.c2ln`;
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_alg');
  });

  it('check 5: refuses a symmetric algorithm (HS256), even when listed', async () => {
    const clock = fakeClock().now;
    const secret = new Uint8Array(32).fill(7);
    const value = await proof(clock, { alg: 'HS256', key: secret, header: { jwk: { kty: 'oct', k: 'Bwc' } } });
    const error = await refusal(verifyDpopProof([value], expectation(clock, { algorithms: ['ES256', 'HS256'] })));
    expect(error.reason).toBe('dpop_proof_alg');
  });

  it('check 5: refuses an asymmetric algorithm the server does not accept', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock);
    const error = await refusal(verifyDpopProof([value], expectation(clock, { algorithms: ['RS256'] })));
    expect(error.reason).toBe('dpop_proof_alg');
  });

  it('check 7: refuses a jwk header that carries the private key', async () => {
    const clock = fakeClock().now;
    const privateJwk = await exportJWK(privateKey);
    const value = await proof(clock, { header: { jwk: privateJwk } });
    const error = await refusal(verifyDpopProof([value], expectation(clock)));
    expect(error.reason).toBe('dpop_proof_jwk');
    // Nothing of the key in the error.
    expect(JSON.stringify({ message: error.message, reason: error.reason, error: error.error })).not.toContain(
      privateJwk.d as string,
    );
  });

  it('check 7: refuses a proof without a jwk header', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { header: { jwk: undefined } });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_jwk');
  });

  it('check 6: refuses a proof signed by a key other than its jwk', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { key: otherKeys.privateKey });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_signature');
  });

  it('check 8: refuses an htm that is not the request method', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { claims: { htm: 'GET' } });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_htm');
  });

  it('check 9: refuses an htu that is another URL', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { claims: { htu: 'https://as.example/oauth/other' } });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_htu');
  });

  it('check 9: ignores the query and fragment of htu, and compares it after RFC 3986 normalisation', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { claims: { htu: 'HTTPS://AS.example:443/oauth/./token?x=1#f' } });
    await expect(verifyDpopProof([value], expectation(clock))).resolves.toHaveProperty('jkt');
  });

  it('check 11: refuses a proof whose iat is older than the window', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { claims: { iat: Math.floor(clock() / 1000) - 61 } });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_expired');
  });

  it('check 11: refuses a proof whose iat is further ahead than the clock skew', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { claims: { iat: Math.floor(clock() / 1000) + 6 } });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_future');
  });

  it('check 11: accepts a proof at the edges of the window', async () => {
    const clock = fakeClock().now;
    const now = Math.floor(clock() / 1000);
    const expected = expectation(clock);
    await expect(verifyDpopProof([await proof(clock, { claims: { iat: now - 60 } })], expected)).resolves.toBeDefined();
    await expect(verifyDpopProof([await proof(clock, { claims: { iat: now + 5 } })], expected)).resolves.toBeDefined();
  });

  it('§4.2: refuses a proof without jti', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock, { claims: { jti: undefined } });
    expect((await refusal(verifyDpopProof([value], expectation(clock)))).reason).toBe('dpop_proof_jti_missing');
  });

  it('§11.1: refuses a proof presented a second time (its jti seen before)', async () => {
    const clock = fakeClock().now;
    const value = await proof(clock);
    const expected = expectation(clock);
    await verifyDpopProof([value], expected);
    expect((await refusal(verifyDpopProof([value], expected))).reason).toBe('dpop_proof_replayed');
  });

  it('§11.1: remembers the jti under a key of its own, apart from private_key_jwt assertions', async () => {
    const clock = fakeClock().now;
    const keys: string[] = [];
    const replayStore: ReplayStore = {
      markSeen: async (key) => {
        keys.push(key);
        return true;
      },
    };
    await verifyDpopProof([await proof(clock)], expectation(clock, { replayStore }));
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^dpop-proof:/);
  });

  it('does not spend the jti of a proof refused by an earlier check', async () => {
    const clock = fakeClock().now;
    const expected = expectation(clock);
    const jti = 'kept-jti';
    await refusal(verifyDpopProof([await proof(clock, { claims: { jti, htm: 'GET' } })], expected));
    await expect(verifyDpopProof([await proof(clock, { claims: { jti } })], expected)).resolves.toBeDefined();
  });

  it('answers a DpopReplayStoreError, not a refusal, when the replay store does not answer', async () => {
    const clock = fakeClock().now;
    const replayStore: ReplayStore = { markSeen: () => Promise.reject(new Error('ECONNREFUSED')) };
    const error = await verifyDpopProof([await proof(clock)], expectation(clock, { replayStore })).catch((e) => e);
    expect(error).toBeInstanceOf(DpopReplayStoreError);
  });

  it('check 12: accepts an ath that is the base64url SHA-256 of the access token', async () => {
    const clock = fakeClock().now;
    const ath = createHash('sha256').update('the-access-token').digest('base64url');
    const value = await proof(clock, { claims: { ath } });
    await expect(
      verifyDpopProof([value], expectation(clock, { accessToken: 'the-access-token' })),
    ).resolves.toBeDefined();
  });

  it('check 12: refuses an ath of another access token', async () => {
    const clock = fakeClock().now;
    const ath = createHash('sha256').update('another-token').digest('base64url');
    const value = await proof(clock, { claims: { ath } });
    const error = await refusal(verifyDpopProof([value], expectation(clock, { accessToken: 'the-access-token' })));
    expect(error.reason).toBe('dpop_proof_ath');
  });

  it('check 12: refuses a proof without ath when an access token is presented', async () => {
    const clock = fakeClock().now;
    const error = await refusal(verifyDpopProof([await proof(clock)], expectation(clock, { accessToken: 'tok' })));
    expect(error.reason).toBe('dpop_proof_ath');
  });

  it('accepts RS256 proofs when listed', async () => {
    const clock = fakeClock().now;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk: JWK = rsa.publicKey.export({ format: 'jwk' }) as JWK;
    const value = await new SignJWT({ htm: 'POST', htu: URL_, iat: Math.floor(clock() / 1000), jti: 'rsa-1' })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'RS256', jwk })
      .sign(rsa.privateKey);
    await expect(verifyDpopProof([value], expectation(clock))).resolves.toHaveProperty('alg', 'RS256');
  });
});

describe('server nonces (RFC 9449 §8)', () => {
  const secret = new Uint8Array(32).fill(1);

  it('answers use_dpop_nonce, with the nonce to use, to a proof without a nonce', async () => {
    const clock = fakeClock().now;
    const nonces = new DpopNonces({ secret, lifetime: 300 });
    const error = await refusal(verifyDpopProof([await proof(clock)], expectation(clock, { nonces })));
    expect([error.error, error.reason, error.nonce]).toEqual([
      'use_dpop_nonce',
      'dpop_nonce_missing',
      nonces.current(clock()),
    ]);
  });

  it('accepts a proof carrying the nonce the server provided', async () => {
    const clock = fakeClock().now;
    const nonces = new DpopNonces({ secret, lifetime: 300 });
    const value = await proof(clock, { claims: { nonce: nonces.current(clock()) } });
    await expect(verifyDpopProof([value], expectation(clock, { nonces }))).resolves.toHaveProperty(
      'nextNonce',
      undefined,
    );
  });

  it('accepts the previous nonce for one more lifetime, and offers the current one', async () => {
    const { now, advanceTime } = fakeClock();
    const nonces = new DpopNonces({ secret, lifetime: 300 });
    const old = nonces.current(now());
    advanceTime(300_000);
    const value = await proof(now, { claims: { nonce: old } });
    const result = await verifyDpopProof([value], expectation(now, { nonces }));
    expect(result.nextNonce).toBe(nonces.current(now()));
    expect(result.nextNonce).not.toBe(old);
  });

  it('answers use_dpop_nonce to a nonce two lifetimes old', async () => {
    const { now, advanceTime } = fakeClock();
    const nonces = new DpopNonces({ secret, lifetime: 300 });
    const old = nonces.current(now());
    advanceTime(600_000);
    const value = await proof(now, { claims: { nonce: old } });
    const error = await refusal(verifyDpopProof([value], expectation(now, { nonces })));
    expect([error.error, error.reason]).toEqual(['use_dpop_nonce', 'dpop_nonce_invalid']);
  });

  it('is stateless: an instance sharing the secret accepts the nonce another issued', async () => {
    const clock = fakeClock().now;
    const issued = new DpopNonces({ secret, lifetime: 300 }).current(clock());
    const value = await proof(clock, { claims: { nonce: issued } });
    const other = new DpopNonces({ secret: new Uint8Array(secret), lifetime: 300 });
    await expect(verifyDpopProof([value], expectation(clock, { nonces: other }))).resolves.toBeDefined();
  });

  it('refuses a nonce made under another secret', async () => {
    const clock = fakeClock().now;
    const forged = new DpopNonces({ secret: new Uint8Array(32).fill(2), lifetime: 300 }).current(clock());
    const value = await proof(clock, { claims: { nonce: forged } });
    const nonces = new DpopNonces({ secret, lifetime: 300 });
    expect((await refusal(verifyDpopProof([value], expectation(clock, { nonces })))).reason).toBe('dpop_nonce_invalid');
  });
});
