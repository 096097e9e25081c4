import type { Clock } from '../contracts.js';

/** The matchers the contract suites use: jest's `expect` fits, as does any with these matchers. */
export interface ContractMatchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toContain(expected: unknown): void;
  not: {
    toBe(expected: unknown): void;
    toContain(expected: unknown): void;
  };
}

/**
 * The test framework, injected so the suites run under whichever one the adapter's project uses:
 * pass its own `describe`, `it` and `expect` (jest's, or another framework's of the same shape).
 */
export interface TestFramework {
  describe(name: string, body: () => void): void;
  it(name: string, test: () => Promise<void>, timeout?: number): void;
  expect(actual: unknown): ContractMatchers;
}

/** One fresh store for one test, with what the suite needs around it. */
export interface StoreFixture<S> {
  /** The store under test, empty of anything the suite will look for. */
  store: S;
  /**
   * Everything the store keeps at rest, as text: the keys and values under its Redis prefix, the
   * rows of its table, and so on. With it the suite proves that secrets are stored only as hashes.
   * Required unless the options say `checkAtRest: false`.
   */
  readAtRest?(): Promise<string>;
  /** Release what `create` made; called after every test, passed or failed. */
  cleanup?(): Promise<void> | void;
}

/** Options of a contract suite. */
export interface ContractOptions<S> {
  /** The store's name, for the test titles. */
  name: string;
  /** Make a fresh store (a fresh prefix or table, say) for one test. */
  create(): Promise<StoreFixture<S>> | StoreFixture<S>;
  /** The clock the store decides expiry by: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /**
   * Move that clock forward by `ms`. Default: wait that long for real (a store whose expiry the
   * server decides, as Redis's does, needs real time to pass; the expiry tests then take ~2 s).
   */
  advanceTime?(ms: number): Promise<void> | void;
  /**
   * Whether to run the "only hashes at rest" tests, which need the fixture's `readAtRest`.
   * Default `true`; an in-process store with nothing at rest may say `false`.
   */
  checkAtRest?: boolean;
  /**
   * Whether to test the optional `RefreshTokenStore.find`. Default `true`: a store without it
   * says `false`, and the suite's title says the method was left out.
   */
  checkFind?: boolean;
  /**
   * Whether to test the optional `RefreshTokenStore.inspect`. Default `true`: a store without it
   * says `false`, and the suite's title says the method was left out.
   */
  checkInspect?: boolean;
  /**
   * Whether to test the optional `RefreshTokenStore.isFamilyRevoked`. Default `true`: a store
   * without it says `false`, and the suite's title says the method was left out.
   */
  checkIsFamilyRevoked?: boolean;
  /**
   * Whether to test the optional `RefreshTokenStore.rotateWithinGrace` (the grace window, which
   * `refreshTokenReuseInterval` needs). Default: `true` when the store made by `create` has the
   * method, as the suite sees once its first test runs; pass `false` to leave it out, and the
   * suite's title says so. `true` on a store without it fails those tests.
   */
  checkGrace?: boolean;
  /** How many concurrent calls the concurrency tests make. Default 100. */
  concurrency?: number;
  /** Timeout of each test, in milliseconds. Default 20000. */
  testTimeoutMs?: number;
}

/** The options with defaults filled in, and a runner that always cleans up. */
export interface ContractContext<S> {
  now: Clock;
  advanceTime(ms: number): Promise<void>;
  concurrency: number;
  checkAtRest: boolean;
  checkFind: boolean;
  checkInspect: boolean;
  checkIsFamilyRevoked: boolean;
  /** `checkGrace` as given: `undefined` means "when the store has `rotateWithinGrace`". */
  checkGrace: boolean | undefined;
  /** The title of the suite's outer `describe`. */
  title(interfaceName: string): string;
  /** Register one test that runs on a fresh fixture. */
  test(name: string, body: (fixture: StoreFixture<S>) => Promise<void>): void;
}

export function contractContext<S>(framework: TestFramework, options: ContractOptions<S>): ContractContext<S> {
  const now = options.now ?? Date.now;
  const advance =
    options.advanceTime?.bind(options) ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeout = options.testTimeoutMs ?? 20_000;
  const checkAtRest = options.checkAtRest ?? true;
  const checkFind = options.checkFind ?? true;
  const checkInspect = options.checkInspect ?? true;
  const checkIsFamilyRevoked = options.checkIsFamilyRevoked ?? true;
  const { checkGrace } = options;
  return {
    now,
    advanceTime: async (ms) => {
      await advance(ms);
    },
    concurrency: options.concurrency ?? 100,
    checkAtRest,
    checkFind,
    checkInspect,
    checkIsFamilyRevoked,
    checkGrace,
    title: (interfaceName) => {
      const off = [
        checkAtRest ? '' : 'at-rest check off',
        checkFind || interfaceName !== 'RefreshTokenStore' ? '' : 'find() not tested',
        checkInspect || interfaceName !== 'RefreshTokenStore' ? '' : 'inspect() not tested',
        checkIsFamilyRevoked || interfaceName !== 'RefreshTokenStore' ? '' : 'isFamilyRevoked() not tested',
        checkGrace !== false || interfaceName !== 'RefreshTokenStore' ? '' : 'rotateWithinGrace() not tested',
      ];
      const notes = off.filter((note) => note !== '').join('; ');
      return `${options.name} meets the ${interfaceName} contract${notes === '' ? '' : ` (${notes})`}`;
    },
    test: fixtureTest(framework, options.create, timeout),
  };
}

/**
 * A suite's `test(name, body)`: a test that gets a fresh fixture from `create` and releases it
 * with its `cleanup()` afterwards, passed or failed.
 */
export function fixtureTest<F extends { cleanup?(): Promise<void> | void }>(
  framework: TestFramework,
  create: () => Promise<F> | F,
  timeoutMs: number,
): (name: string, body: (fixture: F) => Promise<void>) => void {
  return (name, body) =>
    framework.it(
      name,
      async () => {
        const fixture = await create();
        try {
          await body(fixture);
        } finally {
          await fixture.cleanup?.();
        }
      },
      timeoutMs,
    );
}

/** Whole epoch seconds on the suite's clock, `offset` seconds from now. */
export function secondsFromNow(now: Clock, offset: number): number {
  return Math.floor(now() / 1000) + offset;
}

/** Everything the fixture's store keeps at rest; a fixture without the hook fails the test that needs it. */
export async function readAtRest(fixture: StoreFixture<unknown>): Promise<string> {
  if (fixture.readAtRest === undefined) {
    throw new Error('the fixture has no readAtRest(); add one, or pass checkAtRest: false to the suite');
  }
  return fixture.readAtRest();
}

/** Let the clock pass `expiresAt` (epoch seconds) by a margin. */
export async function passExpiry(context: ContractContext<unknown>, expiresAt: number): Promise<void> {
  const wait = expiresAt * 1000 - context.now() + 50;
  if (wait > 0) await context.advanceTime(wait);
}
