import type { GraceWindow, RefreshTokenRecord, RefreshTokenStore } from '../contracts.js';
import { GRACE_REISSUES } from '../grants/refresh-token.js';
import { type ContractContext, secondsFromNow, type TestFramework } from './framework.js';
import { freshKey, fullRecord } from './refresh-records.js';

/** The window the tests give: 10 seconds, and the router's count of reissues. */
const INTERVAL = 10;

/** How many concurrent presentations the race test makes (docs/refresh.md "The grace window"). */
const RACERS = 20;

type RotateWithinGrace = NonNullable<RefreshTokenStore['rotateWithinGrace']>;

/**
 * The grace-window tests of the `RefreshTokenStore` contract (`rotateWithinGrace`), registered
 * inside its suite. With `checkGrace` left out they run on a store that has the method, and on
 * one without it only check that it is absent (the router then refuses a grace window at
 * startup); `checkGrace: false` leaves them out, `true` requires the method.
 *
 * The window is judged by `grace.now`, the router's clock, which the tests move by hand: a
 * presentation "11 seconds later" is a call with a `now` 11 seconds on. Expiry stays the
 * store's: every token here lives ten minutes.
 */
export function graceContract(framework: TestFramework, context: ContractContext<RefreshTokenStore>): void {
  if (context.checkGrace === false) return;
  const { expect } = framework;
  /**
   * A grace test: the store's `rotateWithinGrace`, a live token saved, and its record. A store
   * without the method, when the suite was not told to require it, is only checked to lack it.
   */
  const graceTest = (
    name: string,
    body: (run: {
      store: RefreshTokenStore;
      rotateWithinGrace: RotateWithinGrace;
      key: string;
      record: RefreshTokenRecord;
      /** The window at `offsetMs` from the suite's now. */
      at(offsetMs: number): GraceWindow;
      /** A fresh successor key, to live ten minutes. */
      next(): { key: string; expiresAt: number };
    }) => Promise<void>,
  ): void => {
    context.test(`rotateWithinGrace(), when the store has it: ${name}`, async ({ store }) => {
      if (typeof store.rotateWithinGrace !== 'function') {
        if (context.checkGrace === true) {
          throw new Error('the store has no rotateWithinGrace(); pass checkGrace: false to the suite');
        }
        expect(store.rotateWithinGrace).toBe(undefined);
        return;
      }
      const expiresAt = secondsFromNow(context.now, 600);
      const record = fullRecord(expiresAt + 600);
      const key = freshKey();
      await store.save(key, record, expiresAt);
      const start = context.now();
      await body({
        store,
        rotateWithinGrace: store.rotateWithinGrace.bind(store),
        key,
        record,
        at: (offsetMs) => ({ now: start + offsetMs, interval: INTERVAL, maxReissues: GRACE_REISSUES }),
        next: () => ({ key: freshKey(), expiresAt }),
      });
    });
  };

  graceTest('a token not yet spent is rotated, and its successor saved with its record', async (run) => {
    const successor = run.next();
    expect(await run.rotateWithinGrace(run.key, successor, run.at(0), run.record.familyId)).toEqual({
      outcome: 'rotated',
      record: run.record,
    });
    expect(await run.store.rotate(successor.key, run.record.familyId)).toEqual({
      outcome: 'rotated',
      record: { ...run.record, expiresAt: successor.expiresAt },
    });
  });

  graceTest(
    'a rotated token presented again inside the window is reissued a new sibling, and the family lives on',
    async (run) => {
      const successor = run.next();
      const sibling = run.next();
      await run.rotateWithinGrace(run.key, successor, run.at(0), run.record.familyId);
      expect(await run.rotateWithinGrace(run.key, sibling, run.at(3_000), run.record.familyId)).toEqual({
        outcome: 'reissued',
        record: run.record,
        reissues: 1,
      });
      // Both the successor and the sibling work, and keep every fact of the record (its DPoP key too).
      for (const token of [successor, sibling]) {
        expect(await run.store.rotate(token.key, run.record.familyId)).toEqual({
          outcome: 'rotated',
          record: { ...run.record, expiresAt: token.expiresAt },
        });
      }
      if (run.store.isFamilyRevoked !== undefined) {
        expect(await run.store.isFamilyRevoked(run.record.familyId)).toBe(false);
      }
    },
  );

  graceTest(
    "the records it gives back, and find() and inspect() after it, hold none of the store's own fields",
    async (run) => {
      await run.rotateWithinGrace(run.key, run.next(), run.at(0), run.record.familyId);
      await run.rotateWithinGrace(run.key, run.next(), run.at(1_000), run.record.familyId);
      expect(await run.store.rotate(run.key, run.record.familyId)).toEqual({ outcome: 'reused', record: run.record });
      if (context.checkFind && run.store.find !== undefined) {
        expect(await run.store.find(run.key, run.record.familyId)).toEqual(run.record);
      }
      if (context.checkInspect && run.store.inspect !== undefined) {
        expect(await run.store.inspect(run.key, run.record.familyId)).toEqual({ record: run.record, spent: true });
      }
    },
  );

  graceTest(`the window's edge is reuse: ${INTERVAL} s after the rotation, to the millisecond`, async (run) => {
    await run.rotateWithinGrace(run.key, run.next(), run.at(0), run.record.familyId);
    const justInside = run.next();
    const atTheEdge = run.next();
    const inside = await run.rotateWithinGrace(run.key, justInside, run.at(INTERVAL * 1000 - 1), run.record.familyId);
    expect(inside.outcome).toBe('reissued');
    expect(await run.rotateWithinGrace(run.key, atTheEdge, run.at(INTERVAL * 1000), run.record.familyId)).toEqual({
      outcome: 'reused',
      record: run.record,
    });
    expect(await run.store.rotate(atTheEdge.key, run.record.familyId)).toEqual({ outcome: 'unknown' });
  });

  graceTest('one presentation outside the window is reuse, and saves nothing', async (run) => {
    await run.rotateWithinGrace(run.key, run.next(), run.at(0), run.record.familyId);
    const late = run.next();
    expect(await run.rotateWithinGrace(run.key, late, run.at(INTERVAL * 1000 + 5_000), run.record.familyId)).toEqual({
      outcome: 'reused',
      record: run.record,
    });
    expect(await run.store.rotate(late.key, run.record.familyId)).toEqual({ outcome: 'unknown' });
  });

  graceTest(
    `past ${GRACE_REISSUES} reissues, a presentation inside the window is reuse, and saves nothing`,
    async (run) => {
      await run.rotateWithinGrace(run.key, run.next(), run.at(0), run.record.familyId);
      for (let reissue = 1; reissue <= GRACE_REISSUES; reissue++) {
        const result = await run.rotateWithinGrace(run.key, run.next(), run.at(reissue * 100), run.record.familyId);
        expect(result).toEqual({ outcome: 'reissued', record: run.record, reissues: reissue });
      }
      const onceTooMany = run.next();
      expect(await run.rotateWithinGrace(run.key, onceTooMany, run.at(1_000), run.record.familyId)).toEqual({
        outcome: 'reused',
        record: run.record,
      });
      expect(await run.store.rotate(onceTooMany.key, run.record.familyId)).toEqual({ outcome: 'unknown' });
    },
  );

  graceTest('a reissued sibling rotates as any token does, with a window of its own', async (run) => {
    await run.rotateWithinGrace(run.key, run.next(), run.at(0), run.record.familyId);
    const sibling = run.next();
    await run.rotateWithinGrace(run.key, sibling, run.at(2_000), run.record.familyId);
    const siblingRecord = { ...run.record, expiresAt: sibling.expiresAt };
    const ofSibling = run.next();
    expect(await run.rotateWithinGrace(sibling.key, ofSibling, run.at(4_000), run.record.familyId)).toEqual({
      outcome: 'rotated',
      record: siblingRecord,
    });
    // Its window opened at its own rotation: 4 s + the interval, not the first token's.
    const again = await run.rotateWithinGrace(
      sibling.key,
      run.next(),
      run.at(INTERVAL * 1000 + 3_000),
      run.record.familyId,
    );
    expect(again).toEqual({ outcome: 'reissued', record: siblingRecord, reissues: 1 });
    expect((await run.store.rotate(ofSibling.key, run.record.familyId)).outcome).toBe('rotated');
  });

  graceTest("a sibling is never kept past the family's end", async (run) => {
    await run.rotateWithinGrace(run.key, run.next(), run.at(0), run.record.familyId);
    const sibling = { key: freshKey(), expiresAt: run.record.familyExpiresAt + 600 };
    await run.rotateWithinGrace(run.key, sibling, run.at(1_000), run.record.familyId);
    expect(await run.store.rotate(sibling.key, run.record.familyId)).toEqual({
      outcome: 'rotated',
      record: { ...run.record, expiresAt: run.record.familyExpiresAt },
    });
  });

  graceTest('a token spent by rotate(), without a window, is reuse', async (run) => {
    await run.store.rotate(run.key, run.record.familyId);
    const next = run.next();
    expect(await run.rotateWithinGrace(run.key, next, run.at(0), run.record.familyId)).toEqual({
      outcome: 'reused',
      record: run.record,
    });
    expect(await run.store.rotate(next.key, run.record.familyId)).toEqual({ outcome: 'unknown' });
  });

  graceTest('an unknown token, or one of a revoked family, is unknown, and saves nothing', async (run) => {
    const afterUnknown = run.next();
    expect(await run.rotateWithinGrace(freshKey(), afterUnknown, run.at(0), run.record.familyId)).toEqual({
      outcome: 'unknown',
    });
    await run.rotateWithinGrace(run.key, run.next(), run.at(0), run.record.familyId);
    await run.store.revokeFamily(run.record.familyId);
    const afterRevoked = run.next();
    expect(await run.rotateWithinGrace(run.key, afterRevoked, run.at(1_000), run.record.familyId)).toEqual({
      outcome: 'unknown',
    });
    for (const { key } of [afterUnknown, afterRevoked]) {
      expect(await run.store.rotate(key, run.record.familyId)).toEqual({ outcome: 'unknown' });
    }
  });

  graceTest(
    `of ${RACERS} concurrent presentations of one token inside the window, exactly 1 is rotated, ${GRACE_REISSUES} reissued and ${RACERS - 1 - GRACE_REISSUES} reused, and only the first ${1 + GRACE_REISSUES} new tokens are saved`,
    async (run) => {
      const successors = Array.from({ length: RACERS }, () => run.next());
      const results = await Promise.all(
        successors.map((successor) => run.rotateWithinGrace(run.key, successor, run.at(0), run.record.familyId)),
      );
      const count = (outcome: string): number => results.filter((result) => result.outcome === outcome).length;
      expect([count('rotated'), count('reissued'), count('reused')]).toEqual([
        1,
        GRACE_REISSUES,
        RACERS - 1 - GRACE_REISSUES,
      ]);
      const reissueCounts = results.flatMap((result) => (result.outcome === 'reissued' ? [result.reissues] : []));
      expect(reissueCounts.sort()).toEqual(Array.from({ length: GRACE_REISSUES }, (_, index) => index + 1));
      const saved = await Promise.all(successors.map(({ key }) => run.store.rotate(key, run.record.familyId)));
      successors.forEach((_successor, index) => {
        const won = results[index]?.outcome !== 'reused';
        expect(saved[index]?.outcome).toBe(won ? 'rotated' : 'unknown');
      });
    },
  );
}
