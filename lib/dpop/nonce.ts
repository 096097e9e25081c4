import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a {@link DpopNonces} is built from. */
export interface DpopNonceSettings {
  /** The router-held secret the nonces are HMACs under: at least 32 bytes. Every instance shares it. */
  secret: Uint8Array;
  /** How long one nonce is current, in seconds; the one before it is accepted for as long again. */
  lifetime: number;
}

/**
 * Server-provided nonces (RFC 9449 §8), stateless: a nonce is the HMAC-SHA-256 of a time slot
 * under the secret, so any instance sharing the secret issues and checks the same nonces without a
 * store. The current slot's nonce and the previous one are accepted, so a nonce handed out at the
 * end of a slot still works for one more lifetime.
 */
export class DpopNonces {
  readonly #secret: Uint8Array;
  readonly #lifetimeMs: number;

  constructor(options: DpopNonceSettings) {
    this.#secret = options.secret;
    this.#lifetimeMs = options.lifetime * 1000;
  }

  /** The nonce to send in `DPoP-Nonce` at time `now` (epoch ms). */
  current(now: number): string {
    return this.#nonceOf(Math.floor(now / this.#lifetimeMs));
  }

  /** Whether `nonce` is the current or the previous slot's nonce at time `now`. */
  accepts(nonce: string, now: number): boolean {
    const slot = Math.floor(now / this.#lifetimeMs);
    return matches(nonce, this.#nonceOf(slot)) || matches(nonce, this.#nonceOf(slot - 1));
  }

  #nonceOf(slot: number): string {
    return createHmac('sha256', this.#secret).update(`dpop-nonce:${slot}`).digest('base64url');
  }
}

function matches(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
