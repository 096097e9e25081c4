import type { OnDeadline } from '../bounded-call.js';

/**
 * One statement for many callers. A call made while fewer than `maxInFlight` statements are
 * running goes at once, alone: light load waits for nothing. A call made while the limit is
 * reached waits in a queue, and when a statement ends, everything queued goes as the next one.
 * So under load, calls share one round trip and one commit, which on PostgreSQL costs more
 * than the whole rest of a token request (docs/performance.md).
 *
 * A statement that fails, fails every call in it; none of them took effect, since a statement
 * is one transaction (unless only its reply was lost, after the commit: docs/contract.md "When a
 * store fails"). When the failure may be one call's own doing (`isOwnFault`: a value the database
 * refused, say), each of its calls is sent again alone, so a bad one fails alone. A call whose
 * deadline passed while it waited (see `bounded`) is dropped from the queue and never sent:
 * what it would have done is not done. When the deadline of a call already sent passes, its
 * statement stops counting against `maxInFlight`: one statement stuck on a lock or a dead
 * connection must not hold back every call after it.
 */
export class StatementBatch<Input, Output> {
  readonly #run: (inputs: readonly Input[]) => Promise<readonly Output[]>;
  readonly #maxInFlight: number;
  readonly #maxSize: number;
  readonly #isOwnFault: (error: unknown) => boolean;
  readonly #queue: Waiting<Input, Output>[] = [];
  #inFlight = 0;

  /**
   * @param run sends one statement for `inputs` and resolves to one output per input, in order
   * @param maxInFlight how many statements may run at once (each holds one pooled connection)
   * @param maxSize the most calls one statement carries
   * @param isOwnFault whether a statement's failure may be due to one of its calls alone
   */
  constructor(
    run: (inputs: readonly Input[]) => Promise<readonly Output[]>,
    maxInFlight: number,
    maxSize: number,
    isOwnFault: (error: unknown) => boolean = () => false,
  ) {
    this.#run = run;
    this.#maxInFlight = maxInFlight;
    this.#maxSize = maxSize;
    this.#isOwnFault = isOwnFault;
  }

  /** How many calls wait for a statement to end (not those already sent). */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Carry `input` in the next statement; resolves to its output. */
  call(input: Input, onDeadline: OnDeadline): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      const waiting: Waiting<Input, Output> = { input, resolve, reject };
      this.#queue.push(waiting);
      onDeadline(() => this.#giveUp(waiting));
      this.#dispatch();
    });
  }

  #giveUp(waiting: Waiting<Input, Output>): void {
    waiting.givenUp = true;
    if (waiting.sentIn !== undefined) {
      this.#release(waiting.sentIn);
      return;
    }
    const index = this.#queue.indexOf(waiting);
    if (index !== -1) this.#queue.splice(index, 1);
  }

  #dispatch(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxSize);
      const sent: Sent = { released: false };
      for (const waiting of batch) waiting.sentIn = sent;
      this.#inFlight += 1;
      void this.#send(batch, sent);
    }
  }

  /** A statement no longer counts against `maxInFlight`: it ended, or a caller's deadline passed. */
  #release(sent: Sent): void {
    if (sent.released) return;
    sent.released = true;
    this.#inFlight -= 1;
    this.#dispatch();
  }

  /** Run one statement and settle its calls; never rejects. */
  async #send(batch: readonly Waiting<Input, Output>[], sent: Sent): Promise<void> {
    try {
      const outputs = await this.#run(batch.map((waiting) => waiting.input));
      for (const [index, waiting] of batch.entries()) waiting.resolve(outputs[index] as Output);
    } catch (error) {
      if (batch.length > 1 && this.#isOwnFault(error)) {
        // Nothing took effect: each call whose caller still waits goes again, alone.
        const retried = batch.filter((waiting) => !waiting.givenUp);
        await Promise.all(retried.map((waiting) => this.#sendAlone(waiting)));
      }
      // A call settled by its retry keeps that outcome: a promise settles once.
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.#release(sent);
    }
  }

  async #sendAlone(waiting: Waiting<Input, Output>): Promise<void> {
    try {
      const [output] = await this.#run([waiting.input]);
      waiting.resolve(output as Output);
    } catch (error) {
      waiting.reject(error);
    }
  }
}

/** One statement sent, and whether it still counts against `maxInFlight`. */
interface Sent {
  released: boolean;
}

interface Waiting<Input, Output> {
  input: Input;
  /** The statement that carried it, once sent. */
  sentIn?: Sent;
  /** Its caller's deadline passed: it is not sent again. */
  givenUp?: boolean;
  resolve: (output: Output) => void;
  reject: (reason: unknown) => void;
}
