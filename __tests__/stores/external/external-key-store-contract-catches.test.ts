import type { JWK } from 'jose';
import {
  derToJoseSignature,
  type ExternalKeyStore,
  type ExternalSigningKey,
  externalKeyStore,
} from '../../../lib/index.js';
import { externalKeyStoreContract, type TestFramework } from '../../../lib/testing/index.js';
import { type FakeKms, KMS_KID, kmsFixture, kmsSigningKey } from './kms-fixtures.js';

/*
 * The ExternalKeyStore contract suite fails for the adapters it is there to catch: each broken
 * KMS adapter below is run through the suite under a framework that records its cases instead of
 * registering them with jest, and the case of the rule it breaks must fail, for that reason. The
 * adapter done right passes every case, so the recording framework fails only what fails.
 */

/** One case the suite registered: its title, and the error it threw or `undefined`. */
interface Outcome {
  name: string;
  failure: string | undefined;
}

/** The cases, by a fragment of their titles. */
const CASE = {
  shape: 'resolves to { kid, alg, publicJwk, sign }',
  keyPrivate: 'the signing key holds no private member',
  jwksPrivate: 'publicJwks() holds no private member',
  published: 'is in publicJwks() already',
  joseForm: 'in JOSE form',
  routerVerifies: 'a JWS the router signs through the key verifies',
  alteredRefused: 'ERR_EXTERNAL_SIGNATURE_INVALID',
  outage: 'a signer that cannot sign',
  concurrent: 'concurrent signatures',
} as const;

/** Run the suite on the KMS adapter that `store` makes, every case in turn, and say how each went. */
async function runSuite(store?: (kms: FakeKms) => ExternalKeyStore): Promise<Outcome[]> {
  const cases: { name: string; test: () => Promise<void> }[] = [];
  const recording: TestFramework = {
    describe: (_name, body) => body(),
    it: (name, test) => {
      cases.push({ name, test });
    },
    expect,
  };
  externalKeyStoreContract(recording, { name: 'a KMS adapter', concurrency: 20, create: () => kmsFixture(store) });
  const outcomes: Outcome[] = [];
  for (const { name, test } of cases) {
    try {
      await test();
      outcomes.push({ name, failure: undefined });
    } catch (error) {
      outcomes.push({ name, failure: error instanceof Error ? error.message : String(error) });
    }
  }
  return outcomes;
}

/** The one outcome whose title holds `fragment`. */
function outcomeOf(outcomes: readonly Outcome[], fragment: string): Outcome {
  const matching = outcomes.filter((outcome) => outcome.name.includes(fragment));
  expect(matching).toHaveLength(1);
  return matching[0] as Outcome;
}

/** An adapter that publishes what externalKeyStore would, changed by `jwks`, and signs with `key`. */
function handWritten(key: ExternalSigningKey, jwks: (published: JWK[]) => JWK[]): ExternalKeyStore {
  const inner = externalKeyStore({ keys: [key] });
  return {
    signingKey: () => inner.signingKey(),
    publicJwks: async () => ({ keys: jwks((await inner.publicJwks()).keys) }),
  };
}

describe('the ExternalKeyStore contract suite catches broken KMS adapters', () => {
  it('passes, every case, the adapter done right (the recording framework fails only what fails)', async () => {
    const outcomes = await runSuite();
    expect(outcomes.map((outcome) => outcome.name)).toHaveLength(Object.keys(CASE).length);
    for (const fragment of Object.values(CASE)) outcomeOf(outcomes, fragment);
    expect(outcomes.filter((outcome) => outcome.failure !== undefined)).toEqual([]);
  });

  it('fails "no private member" for a signing key that carries the private d beside the public JWK', async () => {
    const outcomes = await runSuite((kms) => {
      const { d } = kms.privateKey.export({ format: 'jwk' });
      return externalKeyStore({ keys: [{ ...kmsSigningKey(kms), d } as ExternalSigningKey] });
    });
    expect(outcomeOf(outcomes, CASE.keyPrivate).failure).toContain('key.d');
    expect(outcomeOf(outcomes, CASE.shape).failure).toBeUndefined();
  });

  it('fails "no private member" for a signing key that holds the private KeyObject (JSON writes it as {})', async () => {
    const outcomes = await runSuite((kms) =>
      externalKeyStore({ keys: [{ ...kmsSigningKey(kms), client: { key: kms.privateKey } } as ExternalSigningKey] }),
    );
    expect(outcomeOf(outcomes, CASE.keyPrivate).failure).toContain('key.client.key');
    expect(outcomeOf(outcomes, CASE.shape).failure).toBeUndefined();
  });

  it('fails "publicJwks() holds no private member" for an adapter that publishes the private JWK', async () => {
    const outcomes = await runSuite((kms) =>
      handWritten(kmsSigningKey(kms), ([published]) => [
        { ...published, ...(kms.privateKey.export({ format: 'jwk' }) as JWK) },
      ]),
    );
    expect(outcomeOf(outcomes, CASE.jwksPrivate).failure).toContain('keys[0].d');
    expect(outcomeOf(outcomes, CASE.keyPrivate).failure).toBeUndefined();
  });

  it('fails "JOSE form" for an adapter that hands on the KMS\'s DER signature unconverted', async () => {
    const outcomes = await runSuite((kms) =>
      externalKeyStore({ keys: [{ ...kmsSigningKey(kms), sign: (input) => kms.sign(input) }] }),
    );
    // A DER ES256 signature is 70 to 72 bytes; R || S is 64.
    expect(outcomeOf(outcomes, CASE.joseForm).failure).toMatch(/Expected: 64\s+Received: 7[0-2]/);
    expect(outcomeOf(outcomes, CASE.routerVerifies).failure).toContain('R || S, not DER');
  });

  it('fails "published before it signs" for an adapter that publishes its key under another kid', async () => {
    const outcomes = await runSuite((kms) =>
      handWritten(kmsSigningKey(kms), (published) => published.map((jwk) => ({ ...jwk, kid: `${KMS_KID}-alias` }))),
    );
    expect(outcomeOf(outcomes, CASE.published).failure).toMatch(/Expected: 1\s+Received: 0/);
    // jose finds no key under the header's kid.
    expect(outcomeOf(outcomes, CASE.routerVerifies).failure).toMatch(/no applicable key/i);
  });

  it('fails the outage case for an adapter that keeps its first failure: it never signs again', async () => {
    const outcomes = await runSuite((kms) => {
      let failed: Error | undefined;
      const key = kmsSigningKey(kms);
      return externalKeyStore({
        keys: [
          {
            ...key,
            async sign(input) {
              if (failed !== undefined) throw failed;
              try {
                return await key.sign(input);
              } catch (error) {
                failed = error as Error;
                throw error;
              }
            },
          },
        ],
      });
    });
    expect(outcomeOf(outcomes, CASE.outage).failure).toMatch(/Expected: 200\s+Received: 503/);
    expect(outcomeOf(outcomes, CASE.routerVerifies).failure).toBeUndefined();
  });

  it('fails the concurrency case for an adapter that keeps the input in shared state across an await', async () => {
    const outcomes = await runSuite((kms) => {
      let current: Uint8Array | undefined;
      return externalKeyStore({
        keys: [
          {
            ...kmsSigningKey(kms),
            async sign(input) {
              current = input;
              // A hop, as for a client's credentials; concurrent calls overwrite `current` meanwhile.
              await new Promise((resolve) => setImmediate(resolve));
              return derToJoseSignature(await kms.sign(current), 'ES256');
            },
          },
        ],
      });
    });
    expect(outcomeOf(outcomes, CASE.concurrent).failure).toContain('ERR_EXTERNAL_SIGNATURE_INVALID');
    // One signature at a time is right: only the concurrency case sees it.
    expect(outcomeOf(outcomes, CASE.routerVerifies).failure).toBeUndefined();
  });
});
