import type { Request } from 'express';
import {
  type AuthorizationParams,
  type AuthorizationRequestOutcome,
  checkAuthorizationRequest,
  type PromptValue,
} from '../../lib/index.js';
import { authorizationParams, OPTIONS } from '../support/authorization-requests.js';

/*
 * The public types, checked by `npm run typecheck` (which covers __tests__): both shapes of the
 * parameters are accepted, other values are not, and the outcome is a union narrowed by `kind`.
 */

/** What a host writes; never called, only compiled. */
function typesAHostUses(req: Request): void {
  void checkAuthorizationRequest(req.query, OPTIONS); // Express's ParsedQs
  void checkAuthorizationRequest(new URLSearchParams(req.originalUrl.split('?')[1]), OPTIONS);
  void checkAuthorizationRequest({ client_id: 'web', redirect_uri: ['a', 'b'] }, OPTIONS);
  // @ts-expect-error a query string is not parameters: parse it first
  void checkAuthorizationRequest('client_id=web', OPTIONS);
  // @ts-expect-error the options are required
  void checkAuthorizationRequest(req.query);
  // @ts-expect-error scopes is required
  void checkAuthorizationRequest(req.query, { issuer: OPTIONS.issuer, clients: OPTIONS.clients });
}
void typesAHostUses;

/** Every kind handled, or this does not compile (`never`). */
function describeOutcome(outcome: AuthorizationRequestOutcome): string {
  switch (outcome.kind) {
    case 'show-error':
      return `${outcome.status} ${outcome.error}`;
    case 'redirect-error':
      return outcome.redirectUrl;
    case 'valid': {
      const prompt: PromptValue[] = outcome.request.prompt;
      return `${outcome.grant.clientId} ${prompt.join(' ')}`;
    }
    default: {
      const unhandled: never = outcome;
      return unhandled;
    }
  }
}

describe('the public types', () => {
  it('an outcome is narrowed by kind: a valid one has request and grant', async () => {
    const params: AuthorizationParams = authorizationParams({ prompt: 'consent' });
    expect(describeOutcome(await checkAuthorizationRequest(params, OPTIONS))).toBe('web consent');
  });
});
