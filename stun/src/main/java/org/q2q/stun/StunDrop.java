package org.q2q.stun;

/**
 * Why a datagram on a STUN port is not answered. The server counts each and logs it at debug; it
 * never answers a dropped datagram (no error responses: they would be free reflection).
 */
public enum StunDrop {
  /** Shorter than the 20-byte STUN header. */
  TOO_SHORT,
  /** Longer than {@link StunCodec#MAX_REQUEST_BYTES}: no Binding request needs that much. */
  TOO_LONG,
  /** Not STUN: the first two bits are not 00 or the magic cookie is missing (PTCP, probes, garbage). */
  NOT_STUN,
  /** The header's length field disagrees with the datagram or is not a multiple of 4 (truncated). */
  BAD_LENGTH,
  /** STUN, but not a Binding request (another method, or an indication/response). */
  NOT_BINDING_REQUEST,
  /** An attribute runs past the end of the message, or FINGERPRINT is not last. */
  BAD_ATTRIBUTE,
  /**
   * A comprehension-required attribute this server does not implement (USERNAME,
   * MESSAGE-INTEGRITY, ICE's PRIORITY...): RFC 8489 wants a 420 error; we drop instead.
   */
  UNKNOWN_REQUIRED_ATTRIBUTE,
  /** FINGERPRINT present but wrong. */
  BAD_FINGERPRINT,
  /** Valid, but the source's answer budget is spent (rate limit). */
  RATE_LIMITED
}
