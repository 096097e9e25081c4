/**
 * How long a refresh-token store remembers the revocation of a family it never saw, in seconds:
 * the family's first token may still be on its way to `save` (a code replayed while its first
 * redemption is being answered), and must not outlive the revocation.
 */
export const UNSEEN_FAMILY_REVOCATION_TTL = 86_400;
