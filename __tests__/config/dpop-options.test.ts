import {
  ConfigurationError,
  createTokenRouter,
  DEFAULT_DPOP_ALGORITHMS,
  DPOP_ALGORITHMS,
  type DpopOptions,
  MemoryCodeStore,
  type TokenRouterOptions,
} from '../../lib/index.js';
import { REDIRECT_URI, sharedKeyStore } from '../support/helpers.js';

/* The router's `dpop` option (docs/dpop.md "Turning it on"), checked when the router is created. */

let base: TokenRouterOptions;
const codeStore = new MemoryCodeStore();
beforeAll(async () => {
  base = { issuer: 'https://login.example.com', codeStore, keyStore: await sharedKeyStore() };
});
afterAll(() => codeStore.close());

function refusal(options: Partial<TokenRouterOptions>): ConfigurationError {
  try {
    createTokenRouter({ ...base, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('did not throw');
}

describe('the dpop option', () => {
  it('starts with every default ({})', () => {
    expect(() => createTokenRouter({ ...base, dpop: {} })).not.toThrow();
  });

  it('RFC 9449 §11.1: without a replay store (a code store without markSeen) it is ERR_OPTION_MISSING', () => {
    const forgetful = { save: codeStore.save.bind(codeStore), redeem: codeStore.redeem.bind(codeStore) };
    const error = refusal({ codeStore: forgetful, dpop: {} });
    expect({ code: error.code, option: error.option }).toEqual({ code: 'ERR_OPTION_MISSING', option: 'replayStore' });
  });

  it('a client with dpopBoundAccessTokens on a router without dpop is refused at startup', () => {
    const error = refusal({
      clients: [{ clientId: 'spa', redirectUris: [REDIRECT_URI], dpopBoundAccessTokens: true }],
    });
    expect({ code: error.code, option: error.option }).toEqual({
      code: 'ERR_OPTION_INVALID',
      option: 'clients[0].dpopBoundAccessTokens',
    });
  });

  it('dpopBoundAccessTokens must be a boolean', () => {
    const clients = [{ clientId: 'spa', redirectUris: [REDIRECT_URI], dpopBoundAccessTokens: 'yes' as never }];
    expect(refusal({ clients, dpop: {} }).option).toBe('clients[0].dpopBoundAccessTokens');
  });

  it.each<[string, DpopOptions, string]>([
    ['RFC 9449 §4.2: a symmetric algorithm', { algorithms: ['HS256'] }, 'dpop.algorithms'],
    ['RFC 9449 §4.2: none', { algorithms: ['none'] }, 'dpop.algorithms'],
    ['an empty list of algorithms', { algorithms: [] }, 'dpop.algorithms'],
    ['maxAge above five minutes', { maxAge: 301 }, 'dpop.maxAge'],
    ['maxAge of 0', { maxAge: 0 }, 'dpop.maxAge'],
    ['clockSkew above a minute', { clockSkew: 61 }, 'dpop.clockSkew'],
    ['a nonce secret under 32 bytes', { nonces: { secret: new Uint8Array(31) } }, 'dpop.nonces.secret'],
    [
      'a nonce lifetime above an hour',
      { nonces: { secret: new Uint8Array(32), lifetime: 3601 } },
      'dpop.nonces.lifetime',
    ],
  ])('%s is ERR_OPTION_INVALID', (_name, dpop, option) => {
    const error = refusal({ dpop });
    expect({ code: error.code, option: error.option }).toEqual({ code: 'ERR_OPTION_INVALID', option });
  });

  it('the nonce secret is never quoted in the message', () => {
    const secret = new TextEncoder().encode('short secret');
    expect(refusal({ dpop: { nonces: { secret } } }).message).not.toContain('short secret');
  });

  it('a misspelt member gets a "did you mean"', () => {
    const error = refusal({ dpop: { maxage: 30 } as DpopOptions });
    expect(error.code).toBe('ERR_OPTION_UNKNOWN');
    expect(error.message).toContain('did you mean "maxAge"?');
  });

  it('the exported algorithm lists: every default is accepted, none is symmetric', () => {
    expect(DEFAULT_DPOP_ALGORITHMS.every((alg) => DPOP_ALGORITHMS.includes(alg))).toBe(true);
    expect(DPOP_ALGORITHMS.some((alg) => alg.startsWith('HS') || alg === 'none')).toBe(false);
  });
});
