import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { DpopNonces } from '../dist/dpop/nonce.js';
import { dpopHeaderValues } from '../dist/dpop/proof-header.js';
import { verifyDpopProof } from '../dist/dpop/verify-proof.js';
import { MemoryCodeStore } from '../dist/index.js';
import { accessTokenHash, createDpopProof, fetchWithDpop, generateDpopKeyPair } from '../example-app/public/dpop.js';

/*
 * The SPA's DPoP proofs (example-app/public/dpop.js), made with WebCrypto as the browser makes
 * them, checked by jose and by the router's own verifier (lib/dpop/verify-proof.ts), RFC 9449
 * §4.2–§4.3. The browser test drives the same module in Chromium, with its key in IndexedDB.
 */

const URL_ = 'https://login.example.com/oauth2/token';
const keyPair = await generateDpopKeyPair();

function expectation(overrides = {}) {
  return {
    method: 'POST',
    url: URL_,
    algorithms: ['ES256'],
    maxAge: 60,
    clockSkew: 5,
    now: Date.now,
    replayStore: new MemoryCodeStore(),
    ...overrides,
  };
}

describe('the SPA’s DPoP proofs (RFC 9449 §4.2)', () => {
  it('the private key cannot be exported: the page can sign with it, never read it', async () => {
    expect(keyPair.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', keyPair.privateKey)).rejects.toThrow();
  });

  it('a proof is a dpop+jwt signed with ES256, carrying the public key only', async () => {
    const proof = await createDpopProof(keyPair, { method: 'POST', url: URL_ });
    const header = decodeProtectedHeader(proof);
    expect(header.typ).toBe('dpop+jwt');
    expect(header.alg).toBe('ES256');
    expect(Object.keys(header.jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const { payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(payload.htm).toBe('POST');
    expect(payload.htu).toBe(URL_);
  });

  it('the router’s verifier accepts it, and names the key by its RFC 7638 thumbprint', async () => {
    const proof = await createDpopProof(keyPair, { method: 'POST', url: URL_ });
    const { jkt } = await verifyDpopProof([proof], expectation());
    expect(jkt).toBe(await calculateJwkThumbprint(decodeProtectedHeader(proof).jwk, 'sha256'));
  });

  it('htu is the request’s URL without query and fragment (§4.2)', async () => {
    const proof = await createDpopProof(keyPair, { method: 'GET', url: `${URL_}?a=1#top` });
    await expect(verifyDpopProof([proof], expectation({ method: 'GET' }))).resolves.toHaveProperty('jkt');
  });

  it('each proof has its own jti: the same request twice needs two proofs (§11.1)', async () => {
    const replayStore = new MemoryCodeStore();
    const first = await createDpopProof(keyPair, { method: 'POST', url: URL_ });
    const second = await createDpopProof(keyPair, { method: 'POST', url: URL_ });
    await verifyDpopProof([first], expectation({ replayStore }));
    await verifyDpopProof([second], expectation({ replayStore }));
    await expect(verifyDpopProof([first], expectation({ replayStore }))).rejects.toMatchObject({
      error: 'invalid_dpop_proof',
    });
  });

  it('with an access token, ath is the base64url SHA-256 of it (§4.2)', async () => {
    const accessToken = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2ln';
    expect(await accessTokenHash(accessToken)).toBe(createHash('sha256').update(accessToken).digest('base64url'));
    const proof = await createDpopProof(keyPair, { method: 'GET', url: URL_, accessToken });
    await expect(verifyDpopProof([proof], expectation({ method: 'GET', accessToken }))).resolves.toHaveProperty('jkt');
    await expect(
      verifyDpopProof([proof], expectation({ method: 'GET', accessToken: `${accessToken}x` })),
    ).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('asked for a nonce (use_dpop_nonce and a DPoP-Nonce header, §8), fetchWithDpop sends the request once more with it', async () => {
    // A token endpoint of its own that wants the router's nonces, checked by the router's verifier.
    const nonces = new DpopNonces({ secret: randomBytes(32), lifetime: 300 });
    const replayStore = new MemoryCodeStore();
    const answers = [];
    const app = express().post('/oauth2/token', async (req, res) => {
      const url = `http://127.0.0.1:${server.address().port}/oauth2/token`;
      try {
        await verifyDpopProof(dpopHeaderValues(req), expectation({ url, nonces, replayStore }));
        answers.push(200);
        res.json({ ok: true });
      } catch (error) {
        answers.push(error.error);
        res.status(400).set('DPoP-Nonce', nonces.current(Date.now())).json({ error: error.error });
      }
    });
    const server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const url = `http://127.0.0.1:${server.address().port}/oauth2/token`;
      const response = await fetchWithDpop(keyPair, url, { method: 'POST', body: 'grant_type=x' });
      expect(response.status).toBe(200);
      expect(answers).toEqual(['use_dpop_nonce', 200]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
