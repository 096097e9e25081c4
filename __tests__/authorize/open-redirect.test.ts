import type { AuthorizationRequestOutcome } from '../../lib/index.js';
import {
  asQueryObject,
  authorizationParams,
  CLIENTS,
  check,
  REDIRECT_URI,
  REDIRECT_URI_WITH_QUERY,
} from '../support/authorization-requests.js';

/*
 * RFC 6749 §4.1.2.1 and RFC 9700 §4.11 (open redirection): an attacker-chosen redirect_uri is
 * never redirected to, whatever else the request holds. Each request below carries an evil
 * redirect URI (alone, beside a registered one, or looking like one); no outcome may hold a URL
 * that leads there, and none may be anything but shown.
 */

const EVIL = 'https://evil.example/callback';

/** Redirect URIs an attacker might try, none registered exactly. */
const EVIL_REDIRECTS: string[][] = [
  [EVIL],
  [`${REDIRECT_URI}.evil.example`],
  [`${REDIRECT_URI}/../../evil.example`],
  ['https://app.example.com@evil.example/callback'],
  [`${REDIRECT_URI}?redirect=${encodeURIComponent(EVIL)}`],
  [`${REDIRECT_URI}#@evil.example`],
  ['https://APP.example.com/callback'],
  [' https://app.example.com/callback'],
  ['https://app.example.com/callback%00.evil.example'],
  ['//evil.example/callback'],
  ['javascript:alert(1)'],
  [REDIRECT_URI, EVIL],
  [EVIL, REDIRECT_URI],
  [EVIL, EVIL],
  [REDIRECT_URI_WITH_QUERY.replace('tenant=a', 'tenant=evil')],
];

/** Everything else an attacker might vary, from nothing to a request that is wrong in every way. */
const MUTATIONS: Record<string, string | undefined>[] = [
  {},
  { client_id: undefined },
  { client_id: 'legacy' },
  { client_id: 'unknown' },
  { response_type: 'token' },
  { response_type: undefined },
  { code_challenge: undefined },
  { code_challenge: 'short' },
  { code_challenge_method: 'plain' },
  { code_challenge_method: undefined },
  { scope: 'admin' },
  { scope: undefined },
  { state: 'é' },
  { state: undefined },
  { nonce: 'é' },
  { prompt: 'none login' },
  { max_age: '-1' },
  { request: 'x' },
  { request_uri: EVIL },
  { response_mode: 'fragment' },
  { response_type: 'token', scope: 'admin', code_challenge: undefined, state: 'é' },
];

/** The request with each evil redirect URI in place of the good one (repeated where there are two). */
function withRedirects(mutation: Record<string, string | undefined>, redirects: string[]): URLSearchParams {
  const params = authorizationParams({ ...mutation, redirect_uri: undefined });
  for (const uri of redirects) params.append('redirect_uri', uri);
  return params;
}

/** Every URL-like string anywhere in an outcome. */
function urlsIn(outcome: AuthorizationRequestOutcome): string[] {
  return JSON.stringify(outcome).match(/[a-z][a-z0-9+.-]*:[^"]*/gi) ?? [];
}

const REGISTERED = new Set(CLIENTS.flatMap((client) => client.redirectUris));

describe('an attacker-chosen redirect_uri is never redirected to, in any outcome', () => {
  const cases = MUTATIONS.flatMap((mutation) => EVIL_REDIRECTS.map((redirects) => ({ mutation, redirects })));

  it(`${cases.length * 2} malformed requests with an evil redirect_uri: every one is shown, none holds a URL to it`, async () => {
    for (const { mutation, redirects } of cases) {
      for (const params of [withRedirects(mutation, redirects), asQueryObject(withRedirects(mutation, redirects))]) {
        const outcome = await check(params);
        const context = JSON.stringify({ mutation, redirects, outcome });
        expect([context, outcome.kind]).toEqual([context, 'show-error']);
        for (const url of urlsIn(outcome)) expect([context, url.includes('evil')]).toEqual([context, false]);
      }
    }
  });

  it('random requests: any redirect goes to a registered URI, exactly, and to nothing else', async () => {
    // A fixed seed, so a failure can be replayed.
    let seed = 0x2545f491;
    const random = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T>(values: readonly T[]): T => values[random(values.length)] as T;
    const redirectValues = [...REGISTERED, ...EVIL_REDIRECTS.flat()];
    const names = [
      'client_id',
      'redirect_uri',
      'response_type',
      'code_challenge',
      'code_challenge_method',
      'scope',
      'state',
    ];
    let redirected = 0;
    for (let round = 0; round < 2000; round++) {
      const params = authorizationParams();
      for (const name of names) {
        const action = random(4);
        if (action === 0) params.delete(name);
        if (action === 1)
          params.append(name, name === 'redirect_uri' ? pick(redirectValues) : pick(['', 'x', 'web', 'code']));
        if (action === 2 && name === 'redirect_uri') params.set(name, pick(redirectValues));
        if (action === 2 && name === 'client_id') params.set(name, pick(['web', 'legacy', 'nobody']));
      }
      const outcome = await check(random(2) === 0 ? params : asQueryObject(params));
      if (outcome.kind === 'show-error') continue;
      redirected++;
      const target = outcome.kind === 'valid' ? outcome.request.redirectUri : outcome.redirectUrl;
      const client = CLIENTS.find((candidate) => candidate.clientId === params.get('client_id'));
      const context = `${params} → ${target}`;
      // The one redirect_uri sent, registered for the client that sent it.
      expect([context, params.getAll('redirect_uri').length]).toEqual([context, 1]);
      const sent = params.get('redirect_uri') as string;
      expect([context, client?.redirectUris.includes(sent)]).toEqual([context, true]);
      expect([context, target === sent || target.startsWith(`${sent}${sent.includes('?') ? '&' : '?'}`)]).toEqual([
        context,
        true,
      ]);
    }
    // The loop reached both sides: some requests were good enough to redirect.
    expect(redirected).toBeGreaterThan(50);
  });
});
