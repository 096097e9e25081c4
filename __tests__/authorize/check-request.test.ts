import { hashClientSecret, issueAuthorizationCode, MemoryCodeStore } from '../../lib/index.js';
import {
  asQueryObject,
  authorizationParams,
  CLIENTS,
  check,
  expectRedirected,
  expectShown,
  ISSUER,
  OPTIONS,
  PARAM_SHAPES,
  PLAIN_REDIRECT_URI,
  REDIRECT_URI,
  REDIRECT_URI_WITH_QUERY,
} from '../support/authorization-requests.js';
import { pkcePair } from '../support/helpers.js';

const STATE = 'af0ifjsldkj';

describe.each(PARAM_SHAPES)('checkAuthorizationRequest, parameters as %s', (_shape, shape) => {
  const run = (overrides: Record<string, string | undefined> = {}, options = OPTIONS) =>
    check(shape(authorizationParams(overrides)), options);
  /** A request with `extra` appended to a good one, so a parameter appears twice. */
  const runWith = (extra: string, overrides: Record<string, string | undefined> = {}) =>
    check(shape(new URLSearchParams(`${authorizationParams(overrides)}&${extra}`)));

  describe('RFC 6749 §4.1.2.1: errors about the client or its redirection URI are shown, never redirected', () => {
    it('"the client identifier is missing": shown', async () => {
      expectShown(await run({ client_id: undefined }), 'invalid_request', 'client_id');
    });

    it('"the client identifier is missing": an empty client_id counts as omitted (RFC 6749 §3.1)', async () => {
      expectShown(await run({ client_id: '' }), 'invalid_request', 'client_id');
    });

    it('"the client identifier is invalid": one not registered is shown as invalid_client', async () => {
      expectShown(await run({ client_id: 'someone-else' }), 'invalid_client', 'client_id');
    });

    it('"the client identifier is invalid": one that is not printable ASCII (RFC 6749 Appendix A.1) is shown', async () => {
      expectShown(await run({ client_id: 'wéb' }), 'invalid_request', 'client_id');
    });

    it('"the client identifier is invalid": one over 256 characters is shown', async () => {
      expectShown(await run({ client_id: 'w'.repeat(257) }), 'invalid_request', 'client_id');
    });

    it('RFC 6749 §3.1: "parameters MUST NOT be included more than once": a repeated client_id is shown', async () => {
      expectShown(await runWith('client_id=web'), 'invalid_request', 'client_id');
    });

    it('"a missing redirection URI": shown', async () => {
      expectShown(await run({ redirect_uri: undefined }), 'invalid_request', 'redirect_uri');
    });

    it.each([
      ['another host', 'https://evil.example/callback'],
      ['a longer path', `${REDIRECT_URI}/more`],
      ['an added query', `${REDIRECT_URI}?next=/`],
      ['a trailing slash', `${REDIRECT_URI}/`],
      ['a different case', REDIRECT_URI.toUpperCase()],
      ['an encoded character', 'https://app.example.com/%63allback'],
      ["another client's URI", PLAIN_REDIRECT_URI],
    ])(
      '"a mismatching redirection URI" (%s; RFC 6749 §3.1.2.3 compares them as strings): shown',
      async (_name, uri) => {
        expectShown(await run({ redirect_uri: uri }), 'invalid_request', 'redirect_uri');
      },
    );

    it('RFC 6749 §3.1: a repeated redirect_uri is shown, even when both are registered', async () => {
      expectShown(await runWith(`redirect_uri=${encodeURIComponent(REDIRECT_URI)}`), 'invalid_request', 'redirect_uri');
    });

    it('errors shown say nothing of the request: fixed text, a 400 status', async () => {
      const outcome = await run({ client_id: '<script>alert(1)</script>' });
      expect(outcome).toMatchObject({ kind: 'show-error', status: 400 });
      expect(JSON.stringify(outcome)).not.toMatch(/<|alert/);
    });
  });

  describe('RFC 6749 §4.1.2.1: once the client and redirection URI are good, errors go back to the client', () => {
    it('the error redirect carries error, error_description, state and iss (RFC 9207)', async () => {
      const params = expectRedirected(await run({ response_type: 'token' }), 'unsupported_response_type', STATE);
      expect([...params.keys()]).toEqual(['error', 'error_description', 'state', 'iss']);
    });

    it("RFC 6749 §3.1.2: the redirection URI's own query is kept", async () => {
      const outcome = await run({ redirect_uri: REDIRECT_URI_WITH_QUERY, response_type: 'token' });
      if (outcome.kind !== 'redirect-error') throw new Error(outcome.kind);
      expect(outcome.redirectUrl.startsWith(`${REDIRECT_URI_WITH_QUERY}&error=`)).toBe(true);
    });

    it('RFC 6749 §3.1: a repeated state is refused, and no state is sent back', async () => {
      expectRedirected(await runWith('state=other'), 'invalid_request');
    });

    it.each([
      ['not printable ASCII (RFC 6749 Appendix A.5: state = 1*VSCHAR)', 'état'],
      ['a control character', 'a\nb'],
      ['over 2048 characters', 's'.repeat(2049)],
    ])('a malformed state (%s) is refused, and not sent back', async (_name, state) => {
      expectRedirected(await run({ state }), 'invalid_request');
    });

    it('a state of 2048 printable ASCII characters is sent back', async () => {
      const state = `${'s'.repeat(2040)} "\\<>?&=`;
      const outcome = await run({ state, response_type: 'token' });
      expectRedirected(outcome, 'unsupported_response_type', state);
    });

    it.each([
      'response_type',
      'scope',
      'code_challenge',
      'code_challenge_method',
      'nonce',
      'prompt',
      'max_age',
      'login_hint',
      'acr_values',
      'ui_locales',
      'response_mode',
    ])(
      'RFC 6749 §3.1: "parameters MUST NOT be included more than once": a repeated %s is invalid_request',
      async (name) => {
        const every = {
          prompt: 'login',
          max_age: '60',
          login_hint: 'a',
          acr_values: 'a',
          ui_locales: 'en',
          response_mode: 'query',
        };
        const value = authorizationParams(every).get(name) ?? '';
        const params = expectRedirected(
          await runWith(`${name}=${encodeURIComponent(value)}`, every),
          'invalid_request',
          STATE,
        );
        expect(params.get('error_description')).toBe(`The ${name} parameter is repeated.`);
      },
    );

    it('RFC 6749 §3.1: unknown parameters are ignored, even repeated', async () => {
      expect((await runWith('display=page&display=popup&foo=1')).kind).toBe('valid');
    });

    it('RFC 6749 §4.1.1: "response_type: REQUIRED": a request without one is invalid_request', async () => {
      expectRedirected(await run({ response_type: undefined }), 'invalid_request', STATE);
    });

    it.each(['token', 'id_token', 'code id_token', 'CODE'])(
      'RFC 6749 §4.1.2.1: response_type=%s is unsupported_response_type',
      async (responseType) => {
        expectRedirected(await run({ response_type: responseType }), 'unsupported_response_type', STATE);
      },
    );

    it('RFC 6749 §4.1.2.1: a client not registered for the code grant is unauthorized_client', async () => {
      const machine = {
        clientId: 'machine',
        redirectUris: [REDIRECT_URI],
        grantTypes: ['client_credentials' as const],
        scopes: ['status:read'],
        tokenEndpointAuthMethod: 'client_secret_basic' as const,
        clientSecretHash: await hashClientSecret('a machine secret of some length'),
      };
      const options = { ...OPTIONS, clients: [...CLIENTS, machine] };
      expectRedirected(await run({ client_id: 'machine' }, options), 'unauthorized_client', STATE);
      expect((await run({}, options)).kind).toBe('valid'); // the same options, a client of the code grant
    });

    it("a valid request's client carries no credentials (a host may log it or keep it in its session)", async () => {
      const confidential = {
        clientId: 'confidential',
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'client_secret_basic' as const,
        clientSecretHash: await hashClientSecret('a confidential secret of some length'),
      };
      const outcome = await run({ client_id: 'confidential' }, { ...OPTIONS, clients: [...CLIENTS, confidential] });
      if (outcome.kind !== 'valid') throw new Error(`not valid: ${outcome.kind}`);
      expect(outcome.request.client).toEqual({
        clientId: 'confidential',
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'client_secret_basic',
      });
      expect(JSON.stringify(outcome)).not.toContain(confidential.clientSecretHash);
    });

    it.each(['fragment', 'form_post'])(
      'OAuth 2.0 Multiple Response Type Encoding Practices §2.1: response_mode=%s, not the query this host answers in, is invalid_request',
      async (mode) => {
        expectRedirected(await run({ response_mode: mode }), 'invalid_request', STATE);
      },
    );

    it('response_mode=query, the default for code, is accepted', async () => {
      expect((await run({ response_mode: 'query' })).kind).toBe('valid');
    });

    it('OIDC Core §6: a request object (request) is request_not_supported', async () => {
      expectRedirected(await run({ request: 'eyJhbGciOiJub25lIn0.e30.' }), 'request_not_supported', STATE);
    });

    it('OIDC Core §6: a request_uri is request_uri_not_supported', async () => {
      expectRedirected(await run({ request_uri: 'https://app.example.com/r/1' }), 'request_uri_not_supported', STATE);
    });
  });

  describe('RFC 7636: the PKCE challenge', () => {
    it('§4.4.1: "If the server requires Proof Key for Code Exchange (PKCE) … and the client does not send the "code_challenge" in the request, the authorization endpoint MUST return … invalid_request"', async () => {
      expectRedirected(await run({ code_challenge: undefined }), 'invalid_request', STATE);
    });

    it('§4.3: code_challenge_method "defaults to plain if not present": refused for a client not allowed plain', async () => {
      expectRedirected(await run({ code_challenge_method: undefined }), 'invalid_request', STATE);
    });

    it('§4.3: code_challenge_method=plain is refused for a client not allowed plain', async () => {
      expectRedirected(
        await run({ code_challenge_method: 'plain', code_challenge: pkcePair().verifier }),
        'invalid_request',
        STATE,
      );
    });

    it.each(['S512', 's256', 'sha256'])(
      '§4.4.1: a transformation the server does not support (%s) is invalid_request',
      async (method) => {
        expectRedirected(await run({ code_challenge_method: method }), 'invalid_request', STATE);
      },
    );

    it.each([
      ['42 characters', 'a'.repeat(42)],
      ['44 characters', 'a'.repeat(44)],
      ['base64 padding', `${'a'.repeat(42)}=`],
      ['a character outside base64url', `${'a'.repeat(42)}.`],
      ['base64 rather than base64url', `${'a'.repeat(42)}+`],
    ])(
      '§4.2: an S256 challenge is 43 base64url characters: one with %s is invalid_request',
      async (_name, challenge) => {
        expectRedirected(await run({ code_challenge: challenge }), 'invalid_request', STATE);
      },
    );

    describe('for a client registered with allowPlainPkce', () => {
      const legacy = (overrides: Record<string, string | undefined>) =>
        run({ client_id: 'legacy', redirect_uri: PLAIN_REDIRECT_URI, ...overrides });

      it('§4.3: a missing method means plain, accepted: the grant says plain', async () => {
        const verifier = pkcePair().verifier;
        const outcome = await legacy({ code_challenge_method: undefined, code_challenge: verifier });
        expect(outcome).toMatchObject({
          kind: 'valid',
          grant: { codeChallenge: verifier, codeChallengeMethod: 'plain' },
        });
      });

      it.each([
        ['42 characters', 'a'.repeat(42)],
        ['129 characters', 'a'.repeat(129)],
        ['a character outside the unreserved set', `${'a'.repeat(42)}+`],
      ])(
        '§4.2: code-challenge = 43*128unreserved: a plain one with %s is invalid_request',
        async (_name, challenge) => {
          expectRedirected(
            await legacy({ code_challenge_method: 'plain', code_challenge: challenge }),
            'invalid_request',
            STATE,
            PLAIN_REDIRECT_URI,
          );
        },
      );
    });
  });

  describe('RFC 6749 §3.3: the scope', () => {
    it('§4.1.2.1 invalid_scope: "the requested scope is … unknown": a scope not offered is refused', async () => {
      expectRedirected(await run({ scope: 'openid admin' }), 'invalid_scope', STATE);
    });

    it('with ignoreUnknownScopes (OIDC Core §3.1.2.1: values "not understood … SHOULD be ignored"), it is dropped', async () => {
      const outcome = await run({ scope: 'openid admin offline_access' }, { ...OPTIONS, ignoreUnknownScopes: true });
      expect(outcome).toMatchObject({ kind: 'valid', request: { scope: ['openid'] }, grant: { scope: ['openid'] } });
    });

    it('with ignoreUnknownScopes, a request left with no scope is invalid_scope', async () => {
      expectRedirected(
        await run({ scope: 'admin' }, { ...OPTIONS, ignoreUnknownScopes: true }),
        'invalid_scope',
        STATE,
      );
    });

    it('"If the client omits the scope parameter", without a default the request fails "indicating an invalid scope"', async () => {
      expectRedirected(await run({ scope: undefined }), 'invalid_scope', STATE);
    });

    it('"If the client omits the scope parameter", the "pre-defined default value" (defaultScope) is used', async () => {
      const outcome = await run({ scope: undefined }, { ...OPTIONS, defaultScope: ['openid'] });
      expect(outcome).toMatchObject({ kind: 'valid', grant: { scope: ['openid'] } });
    });

    it.each([
      ['two spaces between tokens', 'openid  profile'],
      ['a leading space', ' openid'],
      ['a double quote', 'openid "profile"'],
      ['over 2048 characters', `openid ${'p'.repeat(2048)}`],
    ])('scope = scope-token *( SP scope-token ): a scope with %s is invalid_scope', async (_name, scope) => {
      expectRedirected(await run({ scope }), 'invalid_scope', STATE);
    });

    it('a scope token asked twice is granted once, in the order asked', async () => {
      const outcome = await run({ scope: 'email openid email' });
      expect(outcome).toMatchObject({ kind: 'valid', grant: { scope: ['email', 'openid'] } });
    });

    it('with requireOpenid, a scope without openid is invalid_scope', async () => {
      expectRedirected(await run({ scope: 'profile' }, { ...OPTIONS, requireOpenid: true }), 'invalid_scope', STATE);
    });
  });

  describe('RFC 9449 §10: dpop_jkt, the key the code is bound to', () => {
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

    it('a well-formed dpop_jkt goes into the request and the grant', async () => {
      const outcome = await run({ dpop_jkt: jkt });
      expect(outcome.kind).toBe('valid');
      if (outcome.kind !== 'valid') return;
      expect(outcome.request.dpopJkt).toBe(jkt);
      expect(outcome.grant.dpopJkt).toBe(jkt);
    });

    it.each([
      ['not 43 characters', jkt.slice(1)],
      ['not base64url', `${jkt.slice(1)}=`],
    ])('a dpop_jkt %s is invalid_request', async (_name, dpopJkt) => {
      expectRedirected(await run({ dpop_jkt: dpopJkt }), 'invalid_request', STATE);
    });

    it('RFC 6749 §3.1: a repeated dpop_jkt is invalid_request', async () => {
      expectRedirected(await runWith(`dpop_jkt=${jkt}`, { dpop_jkt: jkt }), 'invalid_request', STATE);
    });
  });

  describe('OIDC Core §3.1.2.1: what the sign-in reads', () => {
    it.each([
      ['not printable ASCII', 'nonce-é'],
      ['over 512 characters', 'n'.repeat(513)],
    ])('a nonce %s is invalid_request', async (_name, nonce) => {
      expectRedirected(await run({ nonce }), 'invalid_request', STATE);
    });

    it('prompt: "If this parameter contains none with any other value, an error is returned": invalid_request', async () => {
      expectRedirected(await run({ prompt: 'none login' }), 'invalid_request', STATE);
    });

    it('prompt: a value that is not one of none, login, consent, select_account is invalid_request', async () => {
      expectRedirected(await run({ prompt: 'login create' }), 'invalid_request', STATE);
    });

    it('prompt: "a space-delimited, case-sensitive list": Login is not login', async () => {
      expectRedirected(await run({ prompt: 'Login' }), 'invalid_request', STATE);
    });

    it.each(['-1', '1.5', '1e3', 'soon', '12345678901'])(
      'max_age=%s, not a whole number of seconds, is invalid_request',
      async (maxAge) => {
        expectRedirected(await run({ max_age: maxAge }), 'invalid_request', STATE);
      },
    );

    it.each([
      ['a control character', 'alice\u0000'],
      ['over 512 characters', 'a'.repeat(513)],
    ])('a login_hint with %s is invalid_request', async (_name, loginHint) => {
      expectRedirected(await run({ login_hint: loginHint }), 'invalid_request', STATE);
    });

    it('a login_hint with a lone surrogate (only a req.query object can hold one) is invalid_request', async () => {
      const query = { ...asQueryObject(authorizationParams()), login_hint: 'alice\uD800' };
      expectRedirected(await check(query), 'invalid_request', STATE);
    });

    it('a login_hint is free text: an internationalised email passes through as sent', async () => {
      const outcome = await run({ login_hint: 'José@exämple.com' });
      expect(outcome).toMatchObject({ kind: 'valid', request: { loginHint: 'José@exämple.com' } });
    });

    it.each([
      ['not language tags separated by spaces', 'en_US,fr'],
      ['over 256 characters', `${'en '.repeat(86)}en`],
    ])('ui_locales %s are invalid_request', async (_name, uiLocales) => {
      expectRedirected(await run({ ui_locales: uiLocales }), 'invalid_request', STATE);
    });

    it.each([
      ['not separated by single spaces', 'urn:a  urn:b'],
      ['over 2048 characters', `urn:${'a'.repeat(2045)}`],
    ])('acr_values %s are invalid_request', async (_name, acrValues) => {
      expectRedirected(await run({ acr_values: acrValues }), 'invalid_request', STATE);
    });

    it('a prompt over 256 characters is invalid_request', async () => {
      expectRedirected(await run({ prompt: `${'login '.repeat(43)}login` }), 'invalid_request', STATE);
    });
  });

  describe('a valid request', () => {
    it('gives the checked request, with what the sign-in reads passed through', async () => {
      const { challenge } = pkcePair();
      const outcome = await run({
        code_challenge: challenge,
        prompt: 'login consent login',
        max_age: '0',
        login_hint: 'alice@example.com',
        acr_values: 'urn:mace:incommon:iap:silver urn:example:mfa',
        ui_locales: 'fr-CA fr en',
      });
      expect(outcome).toEqual({
        kind: 'valid',
        request: {
          client: CLIENTS[0],
          clientId: 'web',
          redirectUri: REDIRECT_URI,
          responseType: 'code',
          scope: ['openid', 'profile'],
          codeChallenge: challenge,
          codeChallengeMethod: 'S256',
          state: STATE,
          nonce: 'n-0S6_WzA2Mj',
          prompt: ['login', 'consent'],
          maxAge: 0,
          loginHint: 'alice@example.com',
          acrValues: ['urn:mace:incommon:iap:silver', 'urn:example:mfa'],
          uiLocales: ['fr-CA', 'fr', 'en'],
        },
        grant: {
          clientId: 'web',
          redirectUri: REDIRECT_URI,
          codeChallenge: challenge,
          codeChallengeMethod: 'S256',
          scope: ['openid', 'profile'],
          nonce: 'n-0S6_WzA2Mj',
        },
      });
    });

    it('RFC 6749 §3.1: empty optional parameters count as omitted', async () => {
      const outcome = await run({ state: '', nonce: '', prompt: '', max_age: '' });
      expect(outcome.kind).toBe('valid');
      if (outcome.kind !== 'valid') return;
      expect(outcome.request).not.toHaveProperty('state');
      expect(outcome.request).not.toHaveProperty('nonce');
      expect(outcome.request).not.toHaveProperty('maxAge');
      expect(outcome.request.prompt).toEqual([]);
      expect(outcome.grant).not.toHaveProperty('nonce');
    });

    it('its grant, with the subject added, is what issueAuthorizationCode takes', async () => {
      const outcome = await run();
      if (outcome.kind !== 'valid') throw new Error(outcome.kind);
      const store = new MemoryCodeStore();
      const code = await issueAuthorizationCode(store, {
        ...outcome.grant,
        subject: 'user-1',
        authTime: 1_700_000_000,
      });
      expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      store.close();
    });
  });
});

describe('checkAuthorizationRequest with a ClientRegistry', () => {
  const options = (findClient: (id: string) => Promise<unknown>) => ({
    ...OPTIONS,
    clients: { findClient } as unknown as import('../../lib/index.js').ClientRegistry,
  });

  it('looks the client up in the registry', async () => {
    const outcome = await check(
      authorizationParams(),
      options(async (id) => (id === 'web' ? { clientId: 'web', redirectUris: [REDIRECT_URI] } : undefined)),
    );
    expect(outcome.kind).toBe('valid');
  });

  it('a registry that finds nothing (null, as a database lookup may resolve): shown as invalid_client', async () => {
    expectShown(
      await check(
        authorizationParams(),
        options(async () => null),
      ),
      'invalid_client',
    );
  });

  it('a record under another client_id (a case-insensitive lookup) is not this client: shown', async () => {
    const outcome = await check(
      authorizationParams({ client_id: 'WEB' }),
      options(async () => ({ clientId: 'web', redirectUris: [REDIRECT_URI] })),
    );
    expectShown(outcome, 'invalid_client');
  });

  it('a registry that fails: shown as temporarily_unavailable, 503, with the cause for the host', async () => {
    const failure = new Error('database down');
    const outcome = await check(
      authorizationParams(),
      options(async () => {
        throw failure;
      }),
    );
    expect(outcome).toMatchObject({
      kind: 'show-error',
      status: 503,
      error: 'temporarily_unavailable',
      cause: failure,
    });
    expect(outcome.kind === 'show-error' && outcome.description).not.toContain('database');
  });

  it.each([
    'javascript:alert(document.cookie)//',
    'data:text/html,<script>1</script>',
    'https://app.example.com/*',
    'https://app.example.com/cb#frag',
    '/relative/callback',
  ])('a registered redirect URI that runs script or is a pattern (%s) is never redirected to: shown', async (uri) => {
    const outcome = await check(
      authorizationParams({ redirect_uri: uri }),
      options(async () => ({ clientId: 'web', redirectUris: [uri] })),
    );
    expectShown(outcome, 'invalid_request');
  });
});

describe('the issuer of the error redirects', () => {
  it('is the issuer option, as the router has it', async () => {
    const outcome = await check(authorizationParams({ response_type: 'token' }), {
      ...OPTIONS,
      issuer: 'https://id.example.org/tenant',
    });
    if (outcome.kind !== 'redirect-error') throw new Error(outcome.kind);
    expect(new URL(outcome.redirectUrl).searchParams.get('iss')).toBe('https://id.example.org/tenant');
    expect(ISSUER).not.toBe('https://id.example.org/tenant');
  });
});
