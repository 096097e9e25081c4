import { type ChildProcess, spawn } from 'node:child_process';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ConfigurationError, describeValue } from '../../config/configuration-error.js';
import { positiveInteger } from '../../config/option-checks.js';
import type { ExternalKeyStore, ExternalSigningKey } from '../../contracts.js';
import { publicPartOf } from '../../crypto/public-jwk.js';
import {
  EXTERNAL_SIGN_TIMEOUT_MS,
  publicJwkVerdict,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from '../../crypto/signing-key-check.js';

import { CHILD_SIGNER_PROGRAM } from './child-signer-program.js';

/** Options of {@link startChildProcessSigner}. */
export interface ChildProcessSignerOptions {
  /** The JWS algorithm: `RS256` (default, 2048-bit), `PS256`, `ES256` or `EdDSA`. */
  alg?: SigningAlgorithm;
  /**
   * A file holding the private JWK, read by the child process alone: the key never passes
   * through this process. Without it, the child generates a key, which lives as long as it does.
   */
  privateJwkPath?: string;
  /** The `kid`. Default: the public key's RFC 7638 thumbprint, the same on every start from one file. */
  kid?: string;
  /** How long one signature may take, in milliseconds (default 2000, at most 30000); then 503. */
  timeoutMs?: number;
  /** How long the child may take to start and hand over its public key, in milliseconds. Default 10000. */
  startTimeoutMs?: number;
}

/** A signature the parent waits for. */
interface Pending {
  resolve(signature: Uint8Array): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * An external signer in a child process (docs/external-signers.md "A signer in a child
 * process"): the child holds the private key, generated there or read there from a file, and
 * signs over the IPC channel; this process only ever holds the public key. It is an
 * {@link ExternalKeyStore} of that one key, for `createTokenRouter`'s `keyStore`.
 *
 * If the child dies, every signature rejects from then on, so token requests are answered 503
 * with nothing spent; it is not restarted (a generated key dies with it, and a new key must be
 * published `jwksMaxAge` before it signs). {@link ChildProcessSigner.exited} tells the host, which
 * starts a new signer. Call {@link ChildProcessSigner.close} on shutdown.
 */
export class ChildProcessSigner implements ExternalKeyStore {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** The public key, as the JWKS publishes it. */
  readonly publicJwk: JWK;
  /** Settles when the child has exited, for whatever reason. */
  readonly exited: Promise<void>;
  readonly #child: ChildProcess;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #signingKey: ExternalSigningKey;
  #nextId = 0;
  #alive = true;

  /** @internal Use {@link startChildProcessSigner}. */
  constructor(child: ChildProcess, setup: { kid: string; alg: SigningAlgorithm; publicJwk: JWK; timeoutMs: number }) {
    this.#child = child;
    this.kid = setup.kid;
    this.alg = setup.alg;
    this.publicJwk = { ...setup.publicJwk, kid: setup.kid, alg: setup.alg, use: 'sig' };
    this.#timeoutMs = setup.timeoutMs;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.#alive = false;
        for (const [id, pending] of this.#pending) this.#settle(id, pending, new Error('the signer process exited'));
        resolve();
      });
    });
    child.on('message', (message: unknown) => this.#answer(message));
    this.#signingKey = {
      kid: this.kid,
      alg: this.alg,
      publicJwk: this.publicJwk,
      timeoutMs: this.#timeoutMs,
      sign: (input) => this.#sign(input),
    };
  }

  /** The child's process id (to watch it, or to stop it in a test). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The one key, while the child lives; rejects once it has exited. */
  signingKey(): Promise<ExternalSigningKey> {
    return this.#alive
      ? Promise.resolve(this.#signingKey)
      : Promise.reject(new Error('pkce-token-router: the child-process signer has exited'));
  }

  /** Its public key, still published after the child exited: tokens it signed stay verifiable. */
  publicJwks(): Promise<{ keys: JWK[] }> {
    return Promise.resolve({ keys: [{ ...this.publicJwk }] });
  }

  /** Stop the child: pending signatures reject, and the key is gone with it. */
  async close(): Promise<void> {
    if (this.#alive && this.#child.connected) this.#child.disconnect();
    await this.exited;
  }

  #sign(input: Uint8Array): Promise<Uint8Array> {
    if (!this.#alive || !this.#child.connected) {
      return Promise.reject(new Error('pkce-token-router: the child-process signer has exited'));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // Bounded here too, so a hung child does not keep a request's entry for ever.
      const timer = setTimeout(
        () => this.#settle(id, pending, new Error('the signer process did not answer in time')),
        this.#timeoutMs,
      );
      const pending: Pending = { resolve, reject, timer };
      this.#pending.set(id, pending);
      this.#child.send({ id, input: Buffer.from(input).toString('base64') }, (error) => {
        if (error) this.#settle(id, pending, new Error('the signer process could not be reached'));
      });
    });
  }

  #answer(message: unknown): void {
    const { id, signature } = (message ?? {}) as { id?: unknown; signature?: unknown };
    const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (pending === undefined) return;
    if (typeof signature === 'string') {
      this.#pending.delete(id as number);
      clearTimeout(pending.timer);
      pending.resolve(new Uint8Array(Buffer.from(signature, 'base64')));
    } else {
      this.#settle(id as number, pending, new Error('the signer process could not sign'));
    }
  }

  #settle(id: number, pending: Pending, error: Error): void {
    if (this.#pending.get(id) !== pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.reject(new Error(`pkce-token-router: ${error.message}`));
  }
}

/**
 * Start a child process that holds a signing key (generated there, or read there from
 * `privateJwkPath`), and resolve once it has handed over the public key. A bad option, a file
 * the child cannot read, or a key that does not suit `alg` is a `ConfigurationError`
 * (`ERR_KEY_INVALID`) naming the problem, never the key.
 */
export async function startChildProcessSigner(options: ChildProcessSignerOptions = {}): Promise<ChildProcessSigner> {
  const owner = 'startChildProcessSigner';
  const alg = options.alg ?? 'RS256';
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new ConfigurationError(
      'ERR_KEY_INVALID',
      'alg',
      `${owner}: alg must be one of ${SIGNING_ALGORITHMS.join(', ')}; received ${describeValue(alg)}`,
    );
  }
  const { privateJwkPath, kid } = options;
  if (privateJwkPath !== undefined && (typeof privateJwkPath !== 'string' || privateJwkPath === '')) {
    throw new ConfigurationError('ERR_KEY_INVALID', 'privateJwkPath', `${owner}: privateJwkPath must be a file path`);
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw new ConfigurationError('ERR_KEY_INVALID', 'kid', `${owner}: kid must be a non-empty string`);
  }
  const timeoutMs = positiveInteger(
    options.timeoutMs,
    'timeoutMs',
    EXTERNAL_SIGN_TIMEOUT_MS.default,
    'milliseconds',
    owner,
  );
  if (timeoutMs > EXTERNAL_SIGN_TIMEOUT_MS.max) {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'timeoutMs',
      `${owner}: timeoutMs must be at most ${EXTERNAL_SIGN_TIMEOUT_MS.max}`,
    );
  }
  const startTimeoutMs = positiveInteger(options.startTimeoutMs, 'startTimeoutMs', 10_000, 'milliseconds', owner);
  // Only the program and the IPC channel: no inherited flags, no stdin; its output goes to ours.
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SIGNER_PROGRAM], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const publicJwk = await handshake(
    child,
    { alg, ...(privateJwkPath === undefined ? {} : { privateJwkPath }) },
    startTimeoutMs,
  ).catch((error: unknown) => {
    child.kill();
    throw error;
  });
  const verdict = publicJwkVerdict(publicJwk, alg);
  if (!verdict.usable) {
    child.kill();
    throw new ConfigurationError('ERR_KEY_INVALID', 'privateJwkPath', `${owner}: the key ${verdict.why}`);
  }
  const publicPart = publicPartOf(publicJwk) ?? {};
  return new ChildProcessSigner(child, {
    kid: kid ?? (await calculateJwkThumbprint(publicPart)),
    alg,
    publicJwk: publicPart,
    timeoutMs,
  });
}

/** Send the setup and wait for the child's public key, or its reason for failing. */
function handshake(
  child: ChildProcess,
  setup: { alg: string; privateJwkPath?: string },
  timeoutMs: number,
): Promise<JWK> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new ConfigurationError(
            'ERR_KEY_INVALID',
            'startTimeoutMs',
            `startChildProcessSigner: the signer process did not start within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const onMessage = (message: unknown): void => {
      const { ready, failed } = (message ?? {}) as { ready?: { publicJwk?: JWK }; failed?: unknown };
      done();
      if (ready?.publicJwk !== undefined) resolve(ready.publicJwk);
      else
        reject(
          new ConfigurationError(
            'ERR_KEY_INVALID',
            'privateJwkPath',
            `startChildProcessSigner: ${typeof failed === 'string' ? failed : 'the signer process failed to start'}`,
          ),
        );
    };
    const onExit = (): void => {
      done();
      reject(
        new ConfigurationError(
          'ERR_KEY_INVALID',
          'privateJwkPath',
          'startChildProcessSigner: the signer process exited while starting',
        ),
      );
    };
    const onError = (): void => {
      done();
      reject(
        new ConfigurationError(
          'ERR_KEY_INVALID',
          'privateJwkPath',
          'startChildProcessSigner: the signer process could not be started',
        ),
      );
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
    child.send({ setup });
  });
}
