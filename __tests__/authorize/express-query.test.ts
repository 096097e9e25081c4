import express, { type Express } from 'express';
import request from 'supertest';
import {
  authorizationResponseUrl,
  checkAuthorizationRequest,
  createTokenRouter,
  issueAuthorizationCode,
  MemoryCodeStore,
} from '../../lib/index.js';
import { CLIENTS, ISSUER, OPTIONS, REDIRECT_URI } from '../support/authorization-requests.js';
import { pkcePair, sharedKeyStore } from '../support/helpers.js';

declare const EXPRESS_MAJOR: 4 | 5;

/*
 * Through a real host app on this run's Express (4 or 5: `npm run test:express4`), whose query
 * parsers differ: Express 5's default "simple" one (node:querystring) gives strings and arrays,
 * Express 4's default "extended" one (qs) objects too, for `name[a]=` brackets.
 */

type QueryParser = 'simple' | 'extended' | 'default';

const codeStores: MemoryCodeStore[] = [];
afterAll(() => {
  for (const store of codeStores) store.close();
});

/** A host: the router, and an /authorize that answers each outcome as a host would. */
async function hostApp(parser: QueryParser | false): Promise<Express> {
  const codeStore = new MemoryCodeStore();
  codeStores.push(codeStore);
  const app = express();
  if (parser !== 'default') app.set('query parser', parser);
  app.use(createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore(), clients: CLIENTS }));
  app.get('/authorize', (req, res, next) => {
    checkAuthorizationRequest(req.query, OPTIONS)
      .then(async (outcome) => {
        if (outcome.kind === 'show-error') {
          res.status(outcome.status).json({ shown: outcome.error });
          return;
        }
        if (outcome.kind === 'redirect-error') {
          res.redirect(303, outcome.redirectUrl);
          return;
        }
        const code = await issueAuthorizationCode(codeStore, { ...outcome.grant, subject: 'user-1' });
        res.redirect(303, authorizationResponseUrl(outcome.request, code, { issuer: ISSUER }));
      })
      .catch(next);
  });
  return app;
}

function query(pairs: [string, string][]): string {
  return new URLSearchParams(pairs).toString();
}

function goodPairs(challenge: string, without: string[] = []): [string, string][] {
  const pairs: [string, string][] = [
    ['response_type', 'code'],
    ['client_id', 'web'],
    ['redirect_uri', REDIRECT_URI],
    ['scope', 'openid'],
    ['state', 'st'],
    ['code_challenge', challenge],
    ['code_challenge_method', 'S256'],
  ];
  return pairs.filter(([name]) => !without.includes(name));
}

/** Where a 303 sends the browser, as the registered URI (origin and path) and the parameters. */
function redirectOf(res: request.Response): { to: string; params: URLSearchParams } {
  expect(res.status).toBe(303);
  const url = new URL(res.headers.location as string);
  return { to: `${url.origin}${url.pathname}`, params: url.searchParams };
}

/** The parser a host app of this Express gets when it sets none. */
const DEFAULT_PARSER = EXPRESS_MAJOR === 4 ? 'extended' : 'simple';

describe.each<[QueryParser, 'simple' | 'extended']>([
  ['default', DEFAULT_PARSER],
  ['simple', 'simple'],
  ['extended', 'extended'],
])(`on Express ${EXPRESS_MAJOR}, with the %s query parser`, (parser, parses) => {
  it('a good request: redirected back with code, state and iss; the code redeems at the token endpoint', async () => {
    const app = await hostApp(parser);
    const { verifier, challenge } = pkcePair();
    const { to, params } = redirectOf(await request(app).get(`/authorize?${query(goodPairs(challenge))}`));
    expect(to).toBe(REDIRECT_URI);
    expect([...params.keys()]).toEqual(['code', 'state', 'iss']);
    expect(params.get('state')).toBe('st');
    expect(params.get('iss')).toBe(ISSUER);
    const tokens = await request(app)
      .post('/oauth2/token')
      .type('form')
      .send({
        grant_type: 'authorization_code',
        client_id: 'web',
        code: params.get('code') as string,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      });
    expect(tokens.status).toBe(200);
    expect(tokens.body.scope).toBe('openid');
  });

  it('RFC 6749 §3.1: a repeated client_id is shown, not redirected', async () => {
    const app = await hostApp(parser);
    const pairs = [...goodPairs(pkcePair().challenge), ['client_id', 'web'] as [string, string]];
    const res = await request(app).get(`/authorize?${query(pairs)}`);
    expect([res.status, res.body.shown, res.headers.location]).toEqual([400, 'invalid_request', undefined]);
  });

  it('a bracketed client_id (client_id[a]=web) is shown, not redirected', async () => {
    const app = await hostApp(parser);
    const pairs = [...goodPairs(pkcePair().challenge, ['client_id']), ['client_id[a]', 'web'] as [string, string]];
    const res = await request(app).get(`/authorize?${query(pairs)}`);
    expect([res.status, res.body.shown, res.headers.location]).toEqual([400, 'invalid_request', undefined]);
  });

  it('a redirect_uri sent as an array (redirect_uri[]=…) is shown, not redirected', async () => {
    const app = await hostApp(parser);
    const pairs = [
      ...goodPairs(pkcePair().challenge, ['redirect_uri']),
      ['redirect_uri[]', REDIRECT_URI] as [string, string],
    ];
    const res = await request(app).get(`/authorize?${query(pairs)}`);
    expect([res.status, res.body.shown, res.headers.location]).toEqual([400, 'invalid_request', undefined]);
  });

  it('a prototype-polluting client_id (__proto__[client_id]=web) is no client_id: shown', async () => {
    const app = await hostApp(parser);
    const pairs = [
      ...goodPairs(pkcePair().challenge, ['client_id']),
      ['__proto__[client_id]', 'web'] as [string, string],
    ];
    const res = await request(app).get(`/authorize?${query(pairs)}`);
    expect([res.status, res.body.shown]).toEqual([400, 'invalid_request']);
  });

  it('a bracketed state (state[a]=x) is never sent back', async () => {
    const app = await hostApp(parser);
    const pairs = [...goodPairs(pkcePair().challenge, ['state']), ['state[a]', 'x'] as [string, string]];
    const { to, params } = redirectOf(await request(app).get(`/authorize?${query(pairs)}`));
    expect(to).toBe(REDIRECT_URI);
    expect(params.has('state')).toBe(false);
    // The extended parser makes it a state object: refused. The simple one sees an unknown
    // parameter "state[a]" and no state: the request is good.
    if (parses === 'extended') expect(params.get('error')).toBe('invalid_request');
    else expect(params.has('code')).toBe(true);
  });

  it('a bracketed scope (scope[a]=openid) is no scope: refused back to the client', async () => {
    const app = await hostApp(parser);
    const pairs = [...goodPairs(pkcePair().challenge, ['scope']), ['scope[a]', 'openid'] as [string, string]];
    const { params } = redirectOf(await request(app).get(`/authorize?${query(pairs)}`));
    // Extended: a scope object, "repeated or bracketed". Simple: no scope, and no default.
    expect(params.get('error')).toBe(parses === 'extended' ? 'invalid_request' : 'invalid_scope');
    expect(params.get('state')).toBe('st');
  });

  it('RFC 6749 §3.1: a repeated response_type is invalid_request, redirected with the state', async () => {
    const app = await hostApp(parser);
    const pairs = [...goodPairs(pkcePair().challenge), ['response_type', 'code'] as [string, string]];
    const { to, params } = redirectOf(await request(app).get(`/authorize?${query(pairs)}`));
    expect([to, params.get('error'), params.get('state')]).toEqual([REDIRECT_URI, 'invalid_request', 'st']);
  });

  it('an evil redirect_uri beside the registered one is shown, whatever the order', async () => {
    const app = await hostApp(parser);
    for (const order of [
      [REDIRECT_URI, 'https://evil.example/cb'],
      ['https://evil.example/cb', REDIRECT_URI],
    ]) {
      const pairs = [
        ...goodPairs(pkcePair().challenge, ['redirect_uri']),
        ...order.map((uri): [string, string] => ['redirect_uri', uri]),
      ];
      const res = await request(app).get(`/authorize?${query(pairs)}`);
      expect([res.status, res.headers.location]).toEqual([400, undefined]);
    }
  });
});

describe(`on Express ${EXPRESS_MAJOR}, with the query parser turned off`, () => {
  it('req.query is empty: the request has no client_id, and is shown', async () => {
    const app = await hostApp(false);
    const res = await request(app).get(`/authorize?${query(goodPairs(pkcePair().challenge))}`);
    expect([res.status, res.body.shown]).toEqual([400, 'invalid_request']);
  });
});
