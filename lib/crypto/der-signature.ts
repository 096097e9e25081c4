/** RFC 7518 §3.4: the size of R and of S, in bytes, for each ECDSA algorithm. */
const COORDINATE_BYTES: Readonly<Record<string, number>> = { ES256: 32, ES384: 48, ES512: 66 };

/**
 * An ECDSA signature as a KMS gives it, DER (`Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s
 * INTEGER }`, RFC 3279 §2.2.3; AWS KMS `Sign`, Google Cloud KMS `asymmetricSign`), turned into
 * what JWS needs (RFC 7518 §3.4): R || S, each left-padded to the curve's size: the form
 * node:crypto makes with `dsaEncoding: 'ieee-p1363'`. Only the encoding changes; the signature is
 * not touched. Throws a `TypeError` for anything but a well-formed, minimal DER signature of that
 * size, so a wrong answer never becomes a token.
 */
export function derToJoseSignature(der: Uint8Array, alg: string): Uint8Array {
  const size = Object.hasOwn(COORDINATE_BYTES, alg) ? COORDINATE_BYTES[alg] : undefined;
  if (size === undefined) {
    throw new TypeError('derToJoseSignature: alg must be ES256, ES384 or ES512');
  }
  const reader = new DerReader(der);
  const sequence = reader.element(0x30);
  reader.end();
  const integers = new DerReader(sequence);
  const r = integers.element(0x02);
  const s = integers.element(0x02);
  integers.end();
  const out = new Uint8Array(2 * size);
  out.set(unsigned(r, size), 0);
  out.set(unsigned(s, size), size);
  return out;
}

/** A DER INTEGER's content as an unsigned big-endian number of `size` bytes. */
function unsigned(integer: Uint8Array, size: number): Uint8Array {
  if (integer.length === 0 || (integer[0] ?? 0) >= 0x80)
    throw new TypeError('not an ECDSA signature: a negative or empty integer');
  // DER is minimal: one leading zero only where the next byte's high bit is set.
  if (integer.length > 1 && integer[0] === 0 && (integer[1] ?? 0) < 0x80) {
    throw new TypeError('not a DER signature: an integer with a needless leading zero');
  }
  const value = integer[0] === 0 ? integer.subarray(1) : integer;
  if (value.length > size) throw new TypeError(`not an ECDSA signature of this curve: an integer over ${size} bytes`);
  const padded = new Uint8Array(size);
  padded.set(value, size - value.length);
  return padded;
}

/** Reads DER elements of one expected tag after another (X.690 §8.1, definite lengths only). */
class DerReader {
  #offset = 0;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  element(tag: number): Uint8Array {
    if (this.#bytes[this.#offset] !== tag) throw new TypeError('not a DER signature: an unexpected element');
    let length = this.#bytes[this.#offset + 1];
    let start = this.#offset + 2;
    if (length === undefined) throw new TypeError('not a DER signature: cut short');
    if (length === 0x81) {
      // The long form, one length byte: only for lengths of 128 and over (minimal encoding).
      length = this.#bytes[start];
      if (length === undefined || length < 0x80) throw new TypeError('not a DER signature: a bad length');
      start += 1;
    } else if (length > 0x80) {
      throw new TypeError('not a DER signature: a length too long for a signature');
    } else if (length === 0x80) {
      throw new TypeError('not a DER signature: an indefinite length');
    }
    const end = start + length;
    if (end > this.#bytes.length) throw new TypeError('not a DER signature: cut short');
    this.#offset = end;
    return this.#bytes.subarray(start, end);
  }

  end(): void {
    if (this.#offset !== this.#bytes.length) throw new TypeError('not a DER signature: bytes after its end');
  }
}
