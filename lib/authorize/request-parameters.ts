import type { Client } from '../contracts.js';
import { JKT_FORMAT } from '../crypto/secrets.js';
import { VERIFIER_FORMAT } from '../grants/pkce.js';
import { MAX_SCOPE_LENGTH, SCOPE_FORMAT } from '../request/limits.js';
import {
  LOGIN_HINT_FORMAT,
  MAX_ACR_VALUES_LENGTH,
  MAX_AGE_FORMAT,
  MAX_LOGIN_HINT_LENGTH,
  MAX_NONCE_LENGTH,
  MAX_PROMPT_LENGTH,
  MAX_UI_LOCALES_LENGTH,
  S256_CHALLENGE_FORMAT,
  UI_LOCALES_FORMAT,
  VSCHAR_STRING,
} from './authorization-limits.js';
import type { AuthorizationRequest, PromptValue } from './authorization-request.js';
import type { AuthorizationConfig } from './request-options.js';

/*
 * docs/authorize.md "Order of checks, and every error", steps 8 to 10: the parameters read once
 * the client and its redirect URI are known good. Each check gives the checked value, or the
 * error_description of its refusal (fixed text, RFC 6749 §4.1.2.1's character set).
 */

/** The parameters read after the redirect URI; each sent twice is refused (RFC 6749 §3.1). */
export const LATER_PARAMETERS = [
  'response_type',
  'response_mode',
  'scope',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'prompt',
  'max_age',
  'login_hint',
  'acr_values',
  'ui_locales',
  'dpop_jkt',
  'request',
  'request_uri',
] as const;

/** A parameter's single value, or undefined when absent (repeated ones were refused before). */
export type ValueReader = (name: (typeof LATER_PARAMETERS)[number]) => string | undefined;

/** What the sign-in reads (OIDC Core §3.1.2.1), checked. */
export type SignInParameters = Pick<
  AuthorizationRequest,
  'nonce' | 'prompt' | 'maxAge' | 'loginHint' | 'acrValues' | 'uiLocales'
>;

const PROMPT_VALUES: ReadonlySet<string> = new Set<PromptValue>(['none', 'login', 'consent', 'select_account']);

/** Step 8, RFC 7636 §4.3 and §4.4.1: the challenge and its method (refused: invalid_request). */
export function pkceChallenge(
  value: ValueReader,
  client: Client,
): Pick<AuthorizationRequest, 'codeChallenge' | 'codeChallengeMethod'> | string {
  const codeChallenge = value('code_challenge');
  if (codeChallenge === undefined) return 'The request has no code_challenge: PKCE is required (RFC 7636).';
  const method = value('code_challenge_method') ?? 'plain'; // RFC 7636 §4.3: absent means plain
  if (method !== 'S256' && method !== 'plain') return 'The code_challenge_method is not supported: use S256.';
  if (method === 'plain' && client.allowPlainPkce !== true) {
    return 'The code_challenge_method must be S256 (a request without one asks for plain, which this application may not use).';
  }
  if (method === 'S256' && !S256_CHALLENGE_FORMAT.test(codeChallenge)) {
    return 'The code_challenge is malformed: an S256 challenge is 43 base64url characters.';
  }
  if (method === 'plain' && !VERIFIER_FORMAT.test(codeChallenge)) {
    return 'The code_challenge is malformed: 43 to 128 characters of A-Z a-z 0-9 - . _ ~.';
  }
  return { codeChallenge, codeChallengeMethod: method };
}

/** Step 10, OIDC Core §3.1.2.1: nonce, prompt, max_age, login_hint, acr_values, ui_locales (refused: invalid_request). */
export function signInParameters(value: ValueReader): SignInParameters | string {
  const nonce = value('nonce');
  if (nonce !== undefined && (nonce.length > MAX_NONCE_LENGTH || !VSCHAR_STRING.test(nonce))) {
    return `The nonce is malformed: it must be 1 to ${MAX_NONCE_LENGTH} printable ASCII characters.`;
  }
  const prompt = promptValues(value('prompt'));
  if (typeof prompt === 'string') return prompt;
  const maxAge = value('max_age');
  if (maxAge !== undefined && !MAX_AGE_FORMAT.test(maxAge)) {
    return 'The max_age is malformed: it must be a whole number of seconds.';
  }
  const loginHint = value('login_hint');
  if (loginHint !== undefined && (loginHint.length > MAX_LOGIN_HINT_LENGTH || !LOGIN_HINT_FORMAT.test(loginHint))) {
    return `The login_hint is malformed: at most ${MAX_LOGIN_HINT_LENGTH} characters of text.`;
  }
  const acrValues = value('acr_values');
  if (acrValues !== undefined && (acrValues.length > MAX_ACR_VALUES_LENGTH || !SCOPE_FORMAT.test(acrValues))) {
    return 'The acr_values are malformed: values separated by single spaces.';
  }
  const uiLocales = value('ui_locales');
  if (uiLocales !== undefined && (uiLocales.length > MAX_UI_LOCALES_LENGTH || !UI_LOCALES_FORMAT.test(uiLocales))) {
    return 'The ui_locales are malformed: language tags separated by single spaces.';
  }
  const checked: SignInParameters = { prompt };
  if (nonce !== undefined) checked.nonce = nonce;
  if (maxAge !== undefined) checked.maxAge = Number(maxAge);
  if (loginHint !== undefined) checked.loginHint = loginHint;
  if (acrValues !== undefined) checked.acrValues = acrValues.split(' ');
  if (uiLocales !== undefined) checked.uiLocales = uiLocales.split(' ');
  return checked;
}

/**
 * RFC 9449 §10: `dpop_jkt`, the thumbprint of the key the client will prove at the token
 * endpoint: a base64url SHA-256 (RFC 7638), 43 characters (refused: invalid_request). The code
 * is then redeemed only with a proof of that key.
 */
export function dpopJktParameter(value: ValueReader): { dpopJkt?: string } | string {
  const dpopJkt = value('dpop_jkt');
  if (dpopJkt === undefined) return {};
  if (!JKT_FORMAT.test(dpopJkt)) {
    return 'The dpop_jkt is malformed: it must be the base64url SHA-256 thumbprint of a key, 43 characters (RFC 9449 section 10).';
  }
  return { dpopJkt };
}

/** Step 9, RFC 6749 §3.3: the scopes to grant, or why the request's scope is refused (`invalid_scope`). */
export function grantedScope(requested: string | undefined, config: AuthorizationConfig): string[] | string {
  const offered = `Offered: ${[...config.scopes].join(' ')}.`;
  let scope: string[];
  if (requested === undefined) {
    if (config.defaultScope === undefined) return `The request has no scope, and this host has no default. ${offered}`;
    scope = [...config.defaultScope];
  } else {
    if (requested.length > MAX_SCOPE_LENGTH || !SCOPE_FORMAT.test(requested)) {
      return 'The scope is malformed: scope tokens separated by single spaces.';
    }
    const tokens = [...new Set(requested.split(' '))];
    scope = tokens.filter((token) => config.scopes.has(token));
    if (scope.length < tokens.length && !config.ignoreUnknownScopes) {
      return `The request asks for a scope this host does not offer. ${offered}`;
    }
    if (scope.length === 0) return `None of the requested scopes is offered. ${offered}`;
  }
  if (config.requireOpenid && !scope.includes('openid')) {
    return 'The scope must include openid: this host serves OpenID Connect requests only.';
  }
  return scope;
}

/** OIDC Core §3.1.2.1: the prompt values, each once; `none` with any other is an error. */
function promptValues(prompt: string | undefined): PromptValue[] | string {
  if (prompt === undefined) return [];
  if (prompt.length > MAX_PROMPT_LENGTH || !SCOPE_FORMAT.test(prompt)) {
    return 'The prompt is malformed: values separated by single spaces.';
  }
  const values = [...new Set(prompt.split(' '))];
  if (!values.every((entry) => PROMPT_VALUES.has(entry))) {
    return 'The prompt holds a value that is not supported: none, login, consent or select_account.';
  }
  if (values.includes('none') && values.length > 1) {
    return 'The prompt value none cannot be combined with another value.';
  }
  return values as PromptValue[];
}
