import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { BoundedSet } from '../../lib/request/bounded-set.js';
import {
  MAX_CLIENT_ID_LENGTH,
  MAX_CODE_LENGTH,
  MAX_GRANT_TYPE_LENGTH,
  MAX_REDIRECT_URI_LENGTH,
  MAX_REFRESH_TOKEN_LENGTH,
  MAX_SCOPE_LENGTH,
  MAX_TOKEN_TYPE_HINT_LENGTH,
} from '../../lib/request/limits.js';
import { validateRevocationRequest, validateTokenRequest } from '../../lib/request/validation.js';
import { heapAfterGc } from '../support/heap.js';

/*
 * docs/contract.md "Limits on input": every limit counts UTF-16 code units. The fillers are the
 * characters that express-validator's isLength counts as one although they take two or three units.
 */
const FILLERS = [
  ['a character outside the BMP (2 units)', '\u{1F600}'],
  ['a BMP character with a variation selector (2 units)', '\u2764\uFE0F'],
  ['a character outside the BMP with a variation selector (3 units)', '\u{1F600}\uFE0F'],
] as const;

/** A value of exactly `units` UTF-16 code units: `prefix`, then as many `filler`s as fit, then `a`s. */
function value(units: number, filler: string, prefix = ''): string {
  const fillers = filler.repeat(Math.floor((units - prefix.length) / filler.length));
  const result = `${prefix}${fillers}${'a'.repeat(units - prefix.length - fillers.length)}`;
  expect(result.length).toBe(units);
  return result;
}

/** A well-formed code request; its values unique, so none was judged (and remembered) before. */
function codeRequest(): Record<string, string> {
  const unique = randomUUID();
  return {
    client_id: `client-${unique}`,
    grant_type: 'authorization_code',
    code: `code-${unique}`,
    redirect_uri: `https://app.example.com/${unique}`,
    code_verifier: 'v'.repeat(43),
  };
}

function refreshRequest(): Record<string, string> {
  const unique = randomUUID();
  return { client_id: `client-${unique}`, grant_type: 'refresh_token', refresh_token: `rt-${unique}` };
}

function revocationRequest(): Record<string, string> {
  return { client_id: `client-${randomUUID()}`, token: 't' };
}

interface Limited {
  parameter: string;
  limit: number;
  base(): Record<string, string>;
  /** A prefix the value must start with, and what a value at the limit gets (the checks after the length). */
  prefix?: string;
  atLimit: string;
  overLimit: string;
  validate(params: Record<string, string>): Promise<string>;
}

async function verdictOfToken(params: Record<string, string>): Promise<string> {
  const result = await validateTokenRequest(params);
  return 'failure' in result ? result.failure : 'accepted';
}

async function verdictOfRevocation(params: Record<string, string>): Promise<string> {
  const result = await validateRevocationRequest(params);
  return 'failure' in result ? result.failure : 'accepted';
}

const LIMITED: Limited[] = [
  {
    parameter: 'code',
    limit: MAX_CODE_LENGTH,
    base: codeRequest,
    atLimit: 'accepted',
    overLimit: 'parameter_invalid',
    validate: verdictOfToken,
  },
  {
    parameter: 'redirect_uri',
    limit: MAX_REDIRECT_URI_LENGTH,
    base: codeRequest,
    prefix: 'https://app.example.com/',
    atLimit: 'accepted',
    overLimit: 'parameter_invalid',
    validate: verdictOfToken,
  },
  // Past its limit, a grant type is not looked up: parameter_invalid; within it, an unknown one is unsupported.
  {
    parameter: 'grant_type',
    limit: MAX_GRANT_TYPE_LENGTH,
    base: codeRequest,
    atLimit: 'grant_type_unsupported',
    overLimit: 'parameter_invalid',
    validate: verdictOfToken,
  },
  {
    parameter: 'refresh_token',
    limit: MAX_REFRESH_TOKEN_LENGTH,
    base: refreshRequest,
    atLimit: 'accepted',
    overLimit: 'parameter_invalid',
    validate: verdictOfToken,
  },
  // scope is NQCHAR (ASCII): within the limit these characters are malformed; past it, over the limit first.
  {
    parameter: 'scope',
    limit: MAX_SCOPE_LENGTH,
    base: refreshRequest,
    atLimit: 'scope_malformed',
    overLimit: 'parameter_invalid',
    validate: verdictOfToken,
  },
  {
    parameter: 'token_type_hint',
    limit: MAX_TOKEN_TYPE_HINT_LENGTH,
    base: revocationRequest,
    atLimit: 'accepted',
    overLimit: 'parameter_invalid',
    validate: verdictOfRevocation,
  },
];

describe('limits count UTF-16 code units (docs/contract.md "Limits on input")', () => {
  describe.each(LIMITED)('$parameter: at most $limit units', (limited) => {
    it.each(FILLERS)(`%s: exactly the limit passes it`, async (_name, filler) => {
      const params = {
        ...limited.base(),
        [limited.parameter]: value(limited.limit, filler, `${limited.prefix ?? ''}${randomUUID()}`),
      };
      expect(await limited.validate(params)).toBe(limited.atLimit);
    });

    it.each(FILLERS)(`%s: one unit over the limit is refused as over it`, async (_name, filler) => {
      const params = {
        ...limited.base(),
        [limited.parameter]: value(limited.limit + 1, filler, `${limited.prefix ?? ''}${randomUUID()}`),
      };
      expect(await limited.validate(params)).toBe(limited.overLimit);
    });

    it.each(FILLERS)(`%s: as many as the limit (as isLength counts characters) is refused`, async (_name, filler) => {
      const params = { ...limited.base(), [limited.parameter]: filler.repeat(limited.limit) };
      expect(await limited.validate(params)).toBe(limited.overLimit);
    });
  });

  describe('client_id: 1 to 256 printable ASCII characters, one unit each', () => {
    it('256 ASCII characters pass, 257 do not', async () => {
      expect(
        await verdictOfToken({ ...codeRequest(), client_id: value(MAX_CLIENT_ID_LENGTH, 'c', randomUUID()) }),
      ).toBe('accepted');
      expect(
        await verdictOfToken({ ...codeRequest(), client_id: value(MAX_CLIENT_ID_LENGTH + 1, 'c', randomUUID()) }),
      ).toBe('client_id_invalid');
    });

    it.each(FILLERS)('%s is not printable ASCII: refused at any length', async (_name, filler) => {
      for (const units of [filler.length, MAX_CLIENT_ID_LENGTH, MAX_CLIENT_ID_LENGTH + 1]) {
        expect(await verdictOfToken({ ...codeRequest(), client_id: value(units, filler) })).toBe('client_id_invalid');
        expect(await verdictOfRevocation({ ...revocationRequest(), client_id: value(units, filler) })).toBe(
          'client_id_invalid',
        );
      }
    });
  });

  describe('code_verifier: 43 to 128 of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1), one unit each', () => {
    it('128 characters pass, 129 do not', async () => {
      expect(await verdictOfToken({ ...codeRequest(), code_verifier: 'v'.repeat(128) })).toBe('accepted');
      expect(await verdictOfToken({ ...codeRequest(), code_verifier: 'v'.repeat(129) })).toBe(
        'code_verifier_malformed',
      );
    });

    it.each(FILLERS)('%s is outside the alphabet: malformed at any length', async (_name, filler) => {
      for (const units of [43, 128, 129]) {
        expect(await verdictOfToken({ ...codeRequest(), code_verifier: value(units, filler, 'v'.repeat(40)) })).toBe(
          'code_verifier_malformed',
        );
      }
    });
  });

  it('the token to revoke has no limit of its own (RFC 7009 §2.2: an unknown token is answered 200)', async () => {
    expect(await verdictOfRevocation({ ...revocationRequest(), token: value(15_000, FILLERS[2][1]) })).toBe('accepted');
  });
});

describe('what validation remembers stays within its bound (README "Security notes")', () => {
  it("no remembered value is longer than its parameter's limit in UTF-16 units", async () => {
    const add = jest.spyOn(BoundedSet.prototype, 'add');
    try {
      for (const [, filler] of FILLERS) {
        for (const units of [
          MAX_REDIRECT_URI_LENGTH,
          MAX_REDIRECT_URI_LENGTH + 1,
          MAX_REDIRECT_URI_LENGTH * filler.length,
        ]) {
          await verdictOfToken({
            ...codeRequest(),
            redirect_uri: value(units, filler, `https://app.example.com/${randomUUID()}`),
          });
        }
      }
      const kept = add.mock.calls.map(([kept]) => kept).filter((kept) => kept.startsWith('https://app.example.com/'));
      expect(kept.length).toBe(FILLERS.length);
      for (const redirectUri of kept) expect(redirectUri.length).toBeLessThanOrEqual(MAX_REDIRECT_URI_LENGTH);
    } finally {
      add.mockRestore();
    }
  });

  it('redirect URIs of 2,048 characters as isLength counts them (up to 6,144 units) fill no memory', async () => {
    const wide = (prefix: string) => `${prefix}${FILLERS[2][1].repeat(MAX_REDIRECT_URI_LENGTH - prefix.length)}`;
    const send = async (make: (prefix: string) => string) => {
      for (let i = 0; i < 256; i++)
        await verdictOfToken({ ...codeRequest(), redirect_uri: make(`https://app.example.com/${randomUUID()}`) });
    };
    // Fill every set with small values first, so what follows replaces values instead of adding them.
    await send((prefix) => prefix);
    const before = heapAfterGc();
    await send(wide);
    const grown = heapAfterGc() - before;
    // Were they remembered, 256 values of 6,000-odd two-byte units: 3 MiB.
    expect(grown).toBeLessThan(2 ** 20 / 4);
  });

  it('redirect URIs at the limit, 256 of them: the remembered ones take about 1 MiB, their bound', async () => {
    const send = async (make: (prefix: string) => string) => {
      for (let i = 0; i < 256; i++)
        await verdictOfToken({ ...codeRequest(), redirect_uri: make(`https://app.example.com/${randomUUID()}`) });
    };
    // The heap moves by a few hundred KiB on its own (compiled code, feedback, the test runner),
    // either way: the growth is measured in five rounds, each replacing small values by values at
    // the limit, and the median round is the one judged.
    const rounds: number[] = [];
    for (let round = 0; round < 5; round++) {
      await send((prefix) => prefix);
      const before = heapAfterGc();
      await send((prefix) => value(MAX_REDIRECT_URI_LENGTH, FILLERS[2][1], prefix));
      rounds.push(heapAfterGc() - before);
    }
    const grown = rounds.sort((a, b) => a - b)[2] ?? Number.POSITIVE_INFINITY;
    // 256 values of 2,048 two-byte units is 1 MiB, less the small values they replaced.
    expect(grown).toBeLessThan(1.1 * 2 ** 20);
  });
});
