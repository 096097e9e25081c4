/**
 * docs/contract.md "Limits on input". Every limit counts UTF-16 code units, JavaScript's
 * `string.length`: a character outside the Basic Multilingual Plane (an emoji) counts 2, and a
 * variation selector after a character 1 more. That is the unit the memory a value takes is
 * bounded by (at most 2 bytes a unit in V8), so what is remembered or stored stays within the
 * bound the contract gives.
 */
export const MAX_CLIENT_ID_LENGTH = 256;
export const MAX_CODE_LENGTH = 512;
export const MAX_REDIRECT_URI_LENGTH = 2048;
export const MAX_GRANT_TYPE_LENGTH = 64;
/** Ours are 128 characters; the limit leaves room without inviting abuse. */
export const MAX_REFRESH_TOKEN_LENGTH = 512;
export const MAX_SCOPE_LENGTH = 2048;
export const MAX_TOKEN_TYPE_HINT_LENGTH = 64;
export const DEFAULT_BODY_LIMIT = 16 * 1024;

/** RFC 6749 Appendix A: VSCHAR = %x20-7E (printable ASCII). */
const VSCHAR = '[\\x20-\\x7E]';

/** RFC 6749 Appendix A.1: client_id = *VSCHAR (printable ASCII). */
export const CLIENT_ID_FORMAT = new RegExp(`^${VSCHAR}+$`);

/** A client_id parameter: 1 to 256 VSCHAR. VSCHAR is ASCII: one code unit each, as the pattern (without the `u` flag) counts. */
export const CLIENT_ID_PARAMETER = new RegExp(`^${VSCHAR}{1,${MAX_CLIENT_ID_LENGTH}}$`);

/** RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*NQCHAR. */
export const SCOPE_FORMAT = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;
