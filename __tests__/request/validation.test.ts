import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { BoundedSet } from '../../lib/request/bounded-set.js';
import { validateRevocationRequest, validateTokenRequest } from '../../lib/request/validation.js';

/** A well-formed code request; `unique` makes values no earlier test can have judged. */
function codeRequest(unique: string): Record<string, string> {
  return {
    client_id: `client-${unique}`,
    grant_type: 'authorization_code',
    code: `code-${unique}`,
    redirect_uri: `https://app.example.com/${unique}`,
    code_verifier: `${'v'.repeat(43)}${unique.replaceAll('-', '')}`,
  };
}

describe('validation remembers the accepted values of repeating parameters', () => {
  // Each case is judged twice: first with values never seen, then again, when what was accepted is remembered.
  const cases: [string, string, (unique: string) => Record<string, string | undefined>][] = [
    ['a well-formed code request', 'accepted', (u) => codeRequest(u)],
    [
      'client_id over 256 characters',
      'client_id_invalid',
      (u) => ({ ...codeRequest(u), client_id: `${u}${'c'.repeat(257)}` }),
    ],
    ['client_id with a control character', 'client_id_invalid', (u) => ({ ...codeRequest(u), client_id: `${u}\n` })],
    ['grant_type unsupported', 'grant_type_unsupported', (u) => ({ ...codeRequest(u), grant_type: `password-${u}` })],
    [
      'grant_type over its limit',
      'parameter_invalid',
      (u) => ({ ...codeRequest(u), grant_type: `${u}${'g'.repeat(64)}` }),
    ],
    ['grant_type empty', 'parameter_invalid', (u) => ({ ...codeRequest(u), grant_type: '' })],
    [
      'redirect_uri over 2048 characters',
      'parameter_invalid',
      (u) => ({ ...codeRequest(u), redirect_uri: `https://app.example.com/${u}${'a'.repeat(2048)}` }),
    ],
    ['redirect_uri missing', 'parameter_invalid', (u) => ({ ...codeRequest(u), redirect_uri: undefined })],
    ['code_verifier empty', 'parameter_invalid', (u) => ({ ...codeRequest(u), code_verifier: '' })],
    ['code_verifier malformed', 'code_verifier_malformed', (u) => ({ ...codeRequest(u), code_verifier: `short-${u}` })],
    [
      'a well-formed refresh request with a scope',
      'accepted',
      (u) => ({
        client_id: `client-${u}`,
        grant_type: 'refresh_token',
        refresh_token: `rt-${u}`,
        scope: `openid s${u}`,
      }),
    ],
    [
      'a malformed scope',
      'scope_malformed',
      (u) => ({
        client_id: `client-${u}`,
        grant_type: 'refresh_token',
        refresh_token: `rt-${u}`,
        scope: `openid  ${u}`,
      }),
    ],
  ];

  for (const [name, verdict, make] of cases) {
    it(`${name}: ${verdict}, and again when judged a second time`, async () => {
      const unique = randomUUID();
      for (let time = 0; time < 2; time++) {
        const result = await validateTokenRequest(make(unique));
        expect('failure' in result ? result.failure : 'accepted').toBe(verdict);
      }
    });
  }

  it('a value accepted once is not judged again: the second request finds client_id and redirect_uri remembered', async () => {
    const has = jest.spyOn(BoundedSet.prototype, 'has');
    try {
      const request = codeRequest(randomUUID());
      await validateTokenRequest(request);
      has.mockClear();
      await validateTokenRequest(request);
      const found = has.mock.calls.map(([value], index) => [value, has.mock.results[index]!.value]);
      expect(found).toEqual(
        expect.arrayContaining([
          [request.client_id, true],
          [request.redirect_uri, true],
        ]),
      );
    } finally {
      has.mockRestore();
    }
  });

  it('a revocation request: the same verdict when judged again, accepted and refused', async () => {
    const unique = randomUUID();
    const accepted = { client_id: `client-${unique}`, token: `t-${unique}`, token_type_hint: 'refresh_token' };
    const refused = {
      client_id: `client-${unique}`,
      token: `t-${unique}`,
      token_type_hint: `${unique}${'h'.repeat(64)}`,
    };
    for (const params of [accepted, refused]) {
      expect(await validateRevocationRequest(params)).toEqual(await validateRevocationRequest(params));
    }
    expect('request' in (await validateRevocationRequest(accepted))).toBe(true);
    expect('failure' in (await validateRevocationRequest(refused))).toBe(true);
  });

  it('never keeps a code, a code_verifier, a refresh token or a token to revoke', async () => {
    const add = jest.spyOn(BoundedSet.prototype, 'add');
    try {
      const unique = randomUUID();
      const code = codeRequest(unique);
      const refresh = {
        client_id: code.client_id!,
        grant_type: 'refresh_token',
        refresh_token: `rt-${unique}`,
        scope: 'openid',
      };
      const revocation = { client_id: code.client_id!, token: `t-${unique}`, token_type_hint: 'refresh_token' };
      expect('request' in (await validateTokenRequest(code))).toBe(true);
      expect('request' in (await validateTokenRequest(refresh))).toBe(true);
      expect('request' in (await validateRevocationRequest(revocation))).toBe(true);
      const kept = add.mock.calls.map(([value]) => value);
      expect(kept).toEqual(expect.arrayContaining([code.client_id, code.redirect_uri]));
      for (const secret of [code.code, code.code_verifier, refresh.refresh_token, revocation.token])
        expect(kept).not.toContain(secret);
    } finally {
      add.mockRestore();
    }
  });

  it('never keeps a refused value', async () => {
    const add = jest.spyOn(BoundedSet.prototype, 'add');
    try {
      const unique = randomUUID();
      const refusedClientId = `${unique}\n`;
      expect('failure' in (await validateTokenRequest({ ...codeRequest(unique), client_id: refusedClientId }))).toBe(
        true,
      );
      const refusedRedirect = `https://app.example.com/${unique}${'a'.repeat(2048)}`;
      expect('failure' in (await validateTokenRequest({ ...codeRequest(unique), redirect_uri: refusedRedirect }))).toBe(
        true,
      );
      const kept = add.mock.calls.map(([value]) => value);
      expect(kept).not.toContain(refusedClientId);
      expect(kept).not.toContain(refusedRedirect);
    } finally {
      add.mockRestore();
    }
  });
});
