/*
 * docs/authorize.md "Limits": the authorization request's parameters beside those the token
 * endpoint shares (client_id, redirect_uri, scope: lib/request/limits.ts). Lengths count UTF-16
 * code units, as there.
 */

/** `state` is echoed to the client in a URL; long enough for a signed state, short enough for any URL. */
export const MAX_STATE_LENGTH = 2048;
/** `nonce` is stored with the code and copied into the ID token. */
export const MAX_NONCE_LENGTH = 512;
export const MAX_LOGIN_HINT_LENGTH = 512;
export const MAX_ACR_VALUES_LENGTH = 2048;
export const MAX_UI_LOCALES_LENGTH = 256;
export const MAX_PROMPT_LENGTH = 256;

/** RFC 6749 Appendix A.5: state = 1*VSCHAR (printable ASCII). The same for nonce, which ends up in a JWT. */
export const VSCHAR_STRING = /^[\x20-\x7E]+$/;

/** RFC 7636 §4.2: an S256 code_challenge is BASE64URL(SHA256(…)), 43 characters without padding. */
export const S256_CHALLENGE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** OIDC Core §3.1.2.1: `max_age` in seconds, a non-negative integer (ten digits cover any epoch). */
export const MAX_AGE_FORMAT = /^[0-9]{1,10}$/;

/** OIDC Core §3.1.2.1: `ui_locales`, BCP 47 tags (letters, digits, "-") separated by spaces. */
export const UI_LOCALES_FORMAT = /^[A-Za-z0-9-]+(?: [A-Za-z0-9-]+)*$/;

/** A `login_hint` is free text (an email, a phone number, a name): no control characters or lone surrogates. */
export const LOGIN_HINT_FORMAT = /^[^\p{Cc}\p{Cs}]+$/u;
