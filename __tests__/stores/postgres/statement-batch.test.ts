import type { OnDeadline } from '../../../lib/stores/bounded-call.js';
import { StatementBatch } from '../../../lib/stores/postgres/statement-batch.js';

/** A statement runner the test finishes by hand: each statement's inputs, and its end. */
function heldStatements() {
  const statements: { inputs: readonly string[]; finish: () => void; fail: (error: Error) => void }[] = [];
  const run = (inputs: readonly string[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      statements.push({ inputs, finish: () => resolve(inputs.map((input) => `out:${input}`)), fail: reject });
    });
  return { statements, run };
}

/** A caller whose deadline never passes. */
const live = (): OnDeadline => () => undefined;

/** Let every settled promise's callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StatementBatch: one statement for the calls that wait', () => {
  it('a call made while no statement runs goes at once, alone', async () => {
    const { statements, run } = heldStatements();
    const batch = new StatementBatch(run, 1, 10);
    const output = batch.call('a', live());
    expect(statements.map((s) => s.inputs)).toEqual([['a']]);
    statements[0]!.finish();
    await expect(output).resolves.toBe('out:a');
  });

  it('calls made while the limit of statements runs wait, then go together as the next one, each with its own output', async () => {
    const { statements, run } = heldStatements();
    const batch = new StatementBatch(run, 1, 10);
    const first = batch.call('a', live());
    const waiting = ['b', 'c', 'd'].map((input) => batch.call(input, live()));
    expect(statements).toHaveLength(1);
    expect(batch.waiting).toBe(3);
    statements[0]!.finish();
    await first;
    expect(statements.map((s) => s.inputs)).toEqual([['a'], ['b', 'c', 'd']]);
    statements[1]!.finish();
    await expect(Promise.all(waiting)).resolves.toEqual(['out:b', 'out:c', 'out:d']);
    expect(batch.waiting).toBe(0);
  });

  it('runs up to maxInFlight statements at once', () => {
    const { statements, run } = heldStatements();
    const batch = new StatementBatch(run, 2, 10);
    for (const input of ['a', 'b', 'c']) void batch.call(input, live());
    expect(statements.map((s) => s.inputs)).toEqual([['a'], ['b']]);
    expect(batch.waiting).toBe(1);
  });

  it('a statement carries at most maxSize calls; the rest go in the next', async () => {
    const { statements, run } = heldStatements();
    const batch = new StatementBatch(run, 1, 2);
    void batch.call('a', live());
    for (const input of ['b', 'c', 'd']) void batch.call(input, live());
    statements[0]!.finish();
    await settle();
    expect(statements.map((s) => s.inputs)).toEqual([['a'], ['b', 'c']]);
    statements[1]!.finish();
    await settle();
    expect(statements.map((s) => s.inputs)).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('a failed statement fails every call it carried, and the calls after it still go', async () => {
    const { statements, run } = heldStatements();
    const batch = new StatementBatch(run, 1, 10);
    const first = batch.call('a', live());
    const carried = [batch.call('b', live()), batch.call('c', live())];
    statements[0]!.finish();
    await first;
    const after = batch.call('d', live());
    statements[1]!.fail(new Error('connection lost'));
    for (const call of carried) await expect(call).rejects.toThrow('connection lost');
    await settle();
    expect(statements[2]!.inputs).toEqual(['d']);
    statements[2]!.finish();
    await expect(after).resolves.toBe('out:d');
  });

  it('a runner that throws at once fails its calls like a failed statement', async () => {
    const batch = new StatementBatch<string, string>(
      () => {
        throw new Error('pool closed');
      },
      1,
      10,
    );
    await expect(batch.call('a', live())).rejects.toThrow('pool closed');
  });

  it('a call whose deadline passed while it waited is never sent', async () => {
    const { statements, run } = heldStatements();
    const batch = new StatementBatch(run, 1, 10);
    void batch.call('a', live());
    let deadlinePassed!: () => void;
    void batch.call('b', (giveUp) => {
      deadlinePassed = giveUp;
    });
    void batch.call('c', live());
    deadlinePassed();
    expect(batch.waiting).toBe(1);
    statements[0]!.finish();
    await settle();
    expect(statements.map((s) => s.inputs)).toEqual([['a'], ['c']]);
  });

  it("a statement whose caller's deadline passed stops holding its place: the calls after it go", async () => {
    const { statements, run } = heldStatements();
    const batch = new StatementBatch(run, 1, 10);
    let deadlinePassed!: () => void;
    void batch.call('stuck', (giveUp) => {
      deadlinePassed = giveUp;
    });
    void batch.call('next', live());
    expect(statements.map((s) => s.inputs)).toEqual([['stuck']]);
    deadlinePassed();
    expect(statements.map((s) => s.inputs)).toEqual([['stuck'], ['next']]);
    // The stuck statement ending later frees nothing twice: one more call still waits its turn.
    statements[0]!.finish();
    await settle();
    void batch.call('after', live());
    expect(statements).toHaveLength(2);
    expect(batch.waiting).toBe(1);
  });

  it("a statement that failed by one call's own fault sends each call again alone: only that one fails", async () => {
    const sent: string[][] = [];
    const run = async (inputs: readonly string[]): Promise<string[]> => {
      sent.push([...inputs]);
      if (inputs.includes('bad')) throw Object.assign(new Error('refused'), { ownFault: true });
      return inputs.map((input) => `out:${input}`);
    };
    const batch = new StatementBatch(run, 1, 10, (error) => (error as { ownFault?: boolean }).ownFault === true);
    let deadlinePassed!: () => void;
    const first = batch.call('first', live());
    const calls = [batch.call('a', live()), batch.call('bad', live()), batch.call('b', live())];
    void batch
      .call('late', (giveUp) => {
        deadlinePassed = giveUp;
      })
      .catch(() => undefined);
    await first;
    deadlinePassed();
    const settled = await Promise.allSettled(calls);
    expect(settled.map((result) => (result.status === 'fulfilled' ? result.value : 'rejected'))).toEqual([
      'out:a',
      'rejected',
      'out:b',
    ]);
    // The late call's deadline passed while its statement ran: it is not sent again.
    expect(sent).toEqual([['first'], ['a', 'bad', 'b', 'late'], ['a'], ['bad'], ['b']]);
  });

  it('a statement that failed for any other reason fails its calls without sending them again', async () => {
    const sent: string[][] = [];
    const batch = new StatementBatch<string, string>(
      async (inputs) => {
        sent.push([...inputs]);
        if (inputs[0] === 'first') return ['out:first'];
        throw new Error('connection lost');
      },
      1,
      10,
      () => false,
    );
    const first = batch.call('first', live());
    // Made while 'first' runs, so a and b share the next statement, which fails.
    const calls = ['a', 'b'].map((input) => batch.call(input, live()));
    await first;
    for (const call of calls) await expect(call).rejects.toThrow('connection lost');
    expect(sent).toEqual([['first'], ['a', 'b']]);
  });
});
