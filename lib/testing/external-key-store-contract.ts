import { KeyObject, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  calculateJwkThumbprint,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { issueAuthorizationCode } from '../authorize/issue-code.js';
import type { ExternalKeyStore, ExternalSigningKey } from '../contracts.js';
import { signCompactJwsExternally } from '../crypto/external-jws.js';
import { base64urlJson } from '../crypto/jws.js';
import { externalKeyVerdict, signingKeyProblem } from '../crypto/signing-key-check.js';
import { s256Challenge } from '../grants/pkce.js';
import { createTokenRouter } from '../router.js';
import { MemoryCodeStore } from '../stores/memory/memory-code-store.js';
import { MemoryRefreshTokenStore } from '../stores/memory/memory-refresh-token-store.js';
import { fixtureTest, type TestFramework } from './framework.js';

/** One fresh external key store for one test, with a way to make its signer fail. */
export interface ExternalKeyStoreFixture {
  /** The key store under test: its `signingKey()` resolves to an external key (a KMS adapter's). */
  store: ExternalKeyStore;
  /**
   * Make the signer unable to sign, as when its KMS is unreachable: a fake KMS client that
   * rejects, a signer process stopped. Needed with `checkOutage`.
   */
  failSigning?(): Promise<void> | void;
  /** Undo `failSigning`: the signer signs again. Needed with `checkOutage`. */
  restoreSigning?(): Promise<void> | void;
  /** Release what `create` made; called after every test, passed or failed. */
  cleanup?(): Promise<void> | void;
}

/** Options of {@link externalKeyStoreContract}. */
export interface ExternalKeyStoreContractOptions {
  /** The adapter's name, for the test titles. */
  name: string;
  /** Make a fresh store (a fresh signer) for one test. */
  create(): Promise<ExternalKeyStoreFixture> | ExternalKeyStoreFixture;
  /**
   * Whether to run the outage test through the router, which needs the fixture's `failSigning`
   * and `restoreSigning`. Default `true`; `false` leaves it out, and the suite's title says so.
   */
  checkOutage?: boolean;
  /** How many signatures the concurrency test asks for at once. Default 50. */
  concurrency?: number;
  /** Timeout of each test, in milliseconds. Default 30000 (the outage test waits out a hung signer's `timeoutMs`). */
  testTimeoutMs?: number;
}

/** Every member of a JWK that holds private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A private member written out as JSON: `"d":`, `"qi" :`… */
const PRIVATE_MEMBER_JSON = /"(?:d|p|q|dp|dq|qi|oth|k)"\s*:/g;

/** The issuer, client and redirect URI of the router the outage test runs. */
const ISSUER = 'https://issuer.contract.example';
const CLIENT_ID = 'contract-client';
const REDIRECT_URI = 'https://app.contract.example/callback';

/** The private members `jwk` holds, by name. */
function privateMembersOf(jwk: object, where: string): string[] {
  return PRIVATE_MEMBERS.filter((member) => member in jwk).map((member) => `${where}.${member}`);
}

/**
 * JSON of `value` as a host would log it: functions left out as JSON.stringify does, a value met
 * again written once (so a key holding its KMS client, which points back, is still written), a
 * bigint as text.
 */
function loggedJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_name, member: unknown) => {
    if (typeof member === 'bigint') return member.toString();
    if (typeof member === 'object' && member !== null) {
      if (seen.has(member)) return '[seen]';
      seen.add(member);
    }
    return member;
  });
}

/**
 * Where, among the own data properties of `value` (three levels down), a private or secret
 * KeyObject or CryptoKey is held: JSON.stringify writes those as `{}`, so only this finds them.
 * Getters are not called.
 */
function privateKeysHeld(value: unknown, where: string, depth = 3, seen = new WeakSet<object>()): string[] {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) return [];
  seen.add(value);
  if (value instanceof KeyObject) return value.type === 'public' ? [] : [where];
  if (Object.prototype.toString.call(value) === '[object CryptoKey]') {
    return (value as { type?: unknown }).type === 'public' ? [] : [where];
  }
  if (depth === 0) return [];
  return Reflect.ownKeys(value).flatMap((name) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(value, name);
    if (descriptor === undefined || !('value' in descriptor)) return [];
    return privateKeysHeld(descriptor.value, `${where}.${String(name)}`, depth - 1, seen);
  });
}

/** The code a rejection carries, or `undefined` when it resolved. */
async function rejectionCode(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  return undefined;
}

/** A rejection as the concurrency test lists it: its code, if any, and its message. */
function described(reason: unknown): string {
  const code = (reason as { code?: unknown } | undefined)?.code;
  const message = reason instanceof Error ? reason.message : String(reason);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

/** The compact-JWS signing input of a fresh payload (RFC 7515 §5.1), as the bytes `sign` is given. */
function signingInputFor(key: ExternalSigningKey): { text: string; bytes: Uint8Array; payload: object } {
  const header = { alg: key.alg, kid: key.kid, typ: 'JWT' };
  const payload = { contract: randomBytes(8).toString('hex') };
  const text = `${base64urlJson(header)}.${base64urlJson(payload)}`;
  return { text, bytes: new Uint8Array(Buffer.from(text, 'ascii')), payload };
}

/** Sign `payload` as the router signs a token with an external key: lib/crypto/external-jws.ts. */
function routerSigns(key: ExternalSigningKey, payload: object): Promise<string> {
  return signCompactJwsExternally({ alg: key.alg, kid: key.kid, typ: 'JWT' }, payload, key);
}

/** A token endpoint (createTokenRouter on memory stores) keyed by `keyStore`, on a loopback port. */
async function tokenEndpoint(keyStore: ExternalKeyStore) {
  const codeStore = new MemoryCodeStore();
  const refreshTokenStore = new MemoryRefreshTokenStore();
  const app = express();
  app.use(
    createTokenRouter({
      issuer: ISSUER,
      codeStore,
      refreshTokenStore,
      keyStore,
      clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }],
    }),
  );
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    /** Issue a code with a fresh PKCE pair; resolves to the form that redeems it. */
    async issueCode(): Promise<Record<string, string>> {
      const verifier = randomBytes(32).toString('base64url');
      const code = await issueAuthorizationCode(codeStore, {
        clientId: CLIENT_ID,
        redirectUri: REDIRECT_URI,
        codeChallenge: s256Challenge(verifier),
        codeChallengeMethod: 'S256',
        subject: 'contract-user',
        scope: ['openid'],
      });
      return {
        grant_type: 'authorization_code',
        client_id: CLIENT_ID,
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      };
    },
    async post(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
      const response = await fetch(`http://127.0.0.1:${port}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      codeStore.close();
      refreshTokenStore.close();
    },
  };
}

/**
 * The contract of an {@link ExternalKeyStore} (docs/external-signers.md "Testing a KMS
 * adapter"), as tests: the signing key is `{ kid, alg, publicJwk, sign }` with nothing private
 * on it or in the JWKS, its kid is published before it signs, what `sign` answers is a JOSE
 * signature (R || S for ECDSA, not DER) that jose verifies against `publicJwks()`, the router
 * refuses a signature the key does not verify, a signer that cannot sign is a 503 that spends
 * nothing, and concurrent signatures each verify:
 *
 * ```ts
 * import { externalKeyStoreContract } from 'pkce-token-router/testing';
 * externalKeyStoreContract({ describe, it, expect }, {
 *   name: 'MyKmsAdapter',
 *   create: () => ({ store: myKmsKeyStore(kms), failSigning: () => kms.goDown(), restoreSigning: () => kms.comeBack() }),
 * });
 * ```
 */
export function externalKeyStoreContract(framework: TestFramework, options: ExternalKeyStoreContractOptions): void {
  const { describe, expect } = framework;
  const checkOutage = options.checkOutage ?? true;
  const concurrency = options.concurrency ?? 50;
  const test = fixtureTest(framework, options.create, options.testTimeoutMs ?? 30_000);
  const title = `${options.name} meets the ExternalKeyStore contract${checkOutage ? '' : ' (outage check off)'}`;

  describe(title, () => {
    test('signingKey() resolves to { kid, alg, publicJwk, sign } that the router accepts, and sign() returns a promise of bytes', async (fixture) => {
      const key = await fixture.store.signingKey();
      expect(typeof key.kid === 'string' && key.kid !== '').toBe(true);
      expect(typeof key.publicJwk === 'object' && key.publicJwk !== null).toBe(true);
      expect(typeof key.sign).toBe('function');
      // The router's own check of an external key (docs/contract.md "Order of checks", step 6):
      // an alg it signs, a public JWK of the kind alg needs, a timeoutMs within bounds.
      expect(signingKeyProblem(key)).toBe(undefined);
      const answer: unknown = key.sign(signingInputFor(key).bytes);
      expect(typeof (answer as { then?: unknown } | undefined)?.then).toBe('function');
      expect((await answer) instanceof Uint8Array).toBe(true);
    });

    test('the signing key holds no private member: none on the key or its publicJwk, no private key object, none in its JSON', async (fixture) => {
      const key = await fixture.store.signingKey();
      expect([...privateMembersOf(key, 'key'), ...privateMembersOf(key.publicJwk, 'key.publicJwk')]).toEqual([]);
      expect('key' in key).toBe(false);
      expect(privateKeysHeld(key, 'key')).toEqual([]);
      expect(loggedJson(key).match(PRIVATE_MEMBER_JSON) ?? []).toEqual([]);
    });

    test('publicJwks() holds no private member (d, p, q, dp, dq, qi, oth, k), nor in its JSON', async (fixture) => {
      const jwks = await fixture.store.publicJwks();
      expect(jwks.keys.length > 0).toBe(true);
      expect(jwks.keys.flatMap((jwk, index) => privateMembersOf(jwk, `keys[${index}]`))).toEqual([]);
      expect(loggedJson(jwks).match(PRIVATE_MEMBER_JSON) ?? []).toEqual([]);
    });

    test('a kid signingKey() returns is in publicJwks() already, with the same public key and alg', async (fixture) => {
      for (let round = 0; round < 3; round += 1) {
        // The JWKS first: a key must be published before it signs, not as it starts to. A few rounds,
        // for a store whose answer changes from one call to the next.
        const { keys } = await fixture.store.publicJwks();
        const key = await fixture.store.signingKey();
        const published = keys.filter((jwk) => jwk.kid === key.kid);
        expect(published.length).toBe(1);
        const [jwk] = published as [JWK];
        expect(await calculateJwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(key.publicJwk));
        if (jwk.alg !== undefined) expect(jwk.alg).toBe(key.alg);
      }
    });

    test('sign() answers the signature in JOSE form (RFC 7518 §3): R || S for ECDSA (64 bytes for ES256, not DER), as long as the modulus for RSA', async (fixture) => {
      const key = await fixture.store.signingKey();
      const verdict = externalKeyVerdict(key);
      if (!verdict.usable) throw new Error(`the router cannot use the signing key: it ${verdict.why}`);
      const input = signingInputFor(key);
      const signature = await key.sign(input.bytes);
      expect(signature.byteLength).toBe(verdict.signatureLength);
      const jws = `${input.text}.${Buffer.from(signature).toString('base64url')}`;
      const { payload } = await compactVerify(jws, await importJWK(key.publicJwk, key.alg));
      expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(input.payload);
    });

    test("a JWS the router signs through the key verifies with jose against publicJwks(), under the key's kid and alg in its header", async (fixture) => {
      const key = await fixture.store.signingKey();
      const jws = await routerSigns(key, { contract: 'external' });
      const header = decodeProtectedHeader(jws);
      expect(header.kid).toBe(key.kid);
      expect(header.alg).toBe(key.alg);
      const verified = await compactVerify(jws, createLocalJWKSet(await fixture.store.publicJwks()));
      expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual({ contract: 'external' });
    });

    test("a signature the key's publicJwk does not verify is refused by the router (ERR_EXTERNAL_SIGNATURE_INVALID), never a token", async (fixture) => {
      const key = await fixture.store.signingKey();
      const altered: ExternalSigningKey = {
        ...key,
        async sign(input) {
          const signature = Uint8Array.from(await key.sign(input));
          // One bit of the last byte: the length stays right, so the verification itself refuses it.
          signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1;
          return signature;
        },
      };
      expect(await rejectionCode(() => routerSigns(altered, { contract: 'altered' }))).toBe(
        'ERR_EXTERNAL_SIGNATURE_INVALID',
      );
    });

    if (checkOutage) {
      test('a signer that cannot sign: the token request is answered 503 temporarily_unavailable, and once it signs again the same code gets tokens that verify', async (fixture) => {
        if (fixture.failSigning === undefined || fixture.restoreSigning === undefined) {
          throw new Error('checkOutage needs the fixture to have failSigning() and restoreSigning()');
        }
        const endpoint = await tokenEndpoint(fixture.store);
        try {
          const form = await endpoint.issueCode();
          await fixture.failSigning();
          const refused = await endpoint.post(form);
          expect(refused.status).toBe(503);
          expect(refused.body.error).toBe('temporarily_unavailable');
          await fixture.restoreSigning();
          // docs/external-signers.md "Nothing spent": the code was read, not redeemed, before the 503.
          const redeemed = await endpoint.post(form);
          expect(redeemed.status).toBe(200);
          const jwks = createLocalJWKSet(await fixture.store.publicJwks());
          const access = await jwtVerify(String(redeemed.body.access_token), jwks, { issuer: ISSUER });
          expect(access.payload.sub).toBe('contract-user');
          const id = await jwtVerify(String(redeemed.body.id_token), jwks, { issuer: ISSUER, audience: CLIENT_ID });
          expect(id.payload.sub).toBe('contract-user');
        } finally {
          await endpoint.close();
        }
      });
    }

    test(`${concurrency} concurrent signatures through the router each verify with jose, over its own payload`, async (fixture) => {
      const key = await fixture.store.signingKey();
      const payloads = Array.from({ length: concurrency }, (_, index) => ({
        index,
        nonce: randomBytes(8).toString('hex'),
      }));
      const jwks = createLocalJWKSet(await fixture.store.publicJwks());
      const outcomes = await Promise.allSettled(
        payloads.map(async (payload) => {
          const { payload: verified } = await compactVerify(await routerSigns(key, payload), jwks);
          return JSON.parse(new TextDecoder().decode(verified)) as unknown;
        }),
      );
      // Every failure by its code and message (the router's messages name the kid and the problem).
      expect(outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [described(outcome.reason)] : []))).toEqual(
        [],
      );
      expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined))).toEqual(payloads);
    });
  });
}
