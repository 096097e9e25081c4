import { externalKeyStore, type SigningAlgorithm, startChildProcessSigner } from '../../../lib/index.js';
import { type ExternalKeyStoreFixture, externalKeyStoreContract } from '../../../lib/testing/index.js';
import { kmsFixture } from './kms-fixtures.js';

/*
 * The ExternalKeyStore contract (docs/external-signers.md "Testing a KMS adapter") on the
 * external signers the package ships, and on a KMS adapter as a host writes one.
 */

/**
 * externalKeyStore over a fresh child-process signer. Its outage is the child stopped (SIGSTOP):
 * a signer that hangs, given up after its timeoutMs; SIGCONT brings it back.
 */
async function childProcessFixture(alg: SigningAlgorithm): Promise<ExternalKeyStoreFixture> {
  const signer = await startChildProcessSigner({ alg, timeoutMs: 1_000 });
  let stopped = false;
  const signal = (name: 'SIGSTOP' | 'SIGCONT') => {
    process.kill(signer.pid ?? 0, name);
    stopped = name === 'SIGSTOP';
  };
  return {
    store: externalKeyStore({ keys: [await signer.signingKey()] }),
    failSigning: () => signal('SIGSTOP'),
    restoreSigning: () => signal('SIGCONT'),
    cleanup: async () => {
      // A stopped child cannot exit: let it run, then close it.
      if (stopped) signal('SIGCONT');
      await signer.close();
    },
  };
}

for (const alg of ['ES256', 'RS256'] as const) {
  externalKeyStoreContract(
    { describe, it, expect },
    { name: `externalKeyStore over startChildProcessSigner (${alg})`, create: () => childProcessFixture(alg) },
  );
}

externalKeyStoreContract(
  { describe, it, expect },
  { name: 'externalKeyStore over an in-process KMS adapter (ES256, DER answers)', create: () => kmsFixture() },
);
