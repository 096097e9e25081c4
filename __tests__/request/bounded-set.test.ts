import { BoundedSet } from '../../lib/request/bounded-set.js';
import { parseForm } from '../../lib/request/form-body.js';
import { TOKEN_PARAMETERS } from '../../lib/request/validation.js';
import { heapAfterGc } from '../support/heap.js';

describe('BoundedSet', () => {
  it('holds what was added, up to its capacity', () => {
    const set = new BoundedSet(3);
    for (const value of ['a', 'b', 'c']) set.add(value);
    expect(['a', 'b', 'c', 'd'].map((value) => set.has(value))).toEqual([true, true, true, false]);
    expect(set.size).toBe(3);
  });

  it('adding one more than its capacity forgets the oldest value only', () => {
    const set = new BoundedSet(3);
    for (const value of ['a', 'b', 'c', 'd']) set.add(value);
    expect(['a', 'b', 'c', 'd'].map((value) => set.has(value))).toEqual([false, true, true, true]);
    expect(set.size).toBe(3);
  });

  it('adding a value it holds changes nothing', () => {
    const set = new BoundedSet(2);
    set.add('a');
    set.add('b');
    set.add('a');
    expect([set.has('a'), set.has('b'), set.size]).toEqual([true, true, 2]);
  });

  it('never holds more than its capacity, whatever is added', () => {
    const set = new BoundedSet(100);
    for (let i = 0; i < 10_000; i++) set.add(`value-${i}`);
    expect(set.size).toBe(100);
    expect(set.has('value-9999')).toBe(true);
    expect(set.has('value-9899')).toBe(false);
  });

  it('keeps its own copy: a value cut from a request body does not keep the body (nor a secret in it) alive', () => {
    const set = new BoundedSet(4);
    const clientId = 'a-client-id-long-enough-to-be-cut-as-a-slice';
    const before = heapAfterGc();
    (() => {
      // A 32 MiB code_verifier stands in for the body's secrets: cut from the same string as client_id.
      const body = Buffer.concat([
        Buffer.from('code_verifier='),
        Buffer.alloc(32 * 2 ** 20, 'v'),
        Buffer.from(`&client_id=${clientId}`),
      ]);
      set.add(parseForm(body, TOKEN_PARAMETERS).params.client_id!);
    })();
    const grown = heapAfterGc() - before;
    expect(set.has(clientId)).toBe(true);
    expect(grown).toBeLessThan(2 ** 20);
  });
});
