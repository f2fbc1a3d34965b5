package org.q2q.ptcp.internal;

/**
 * 32-bit sequence-number arithmetic with wraparound (RFC 1982 style), and the mapping between
 * 32-bit wire sequence numbers and the 64-bit stream offsets the core tracks internally.
 *
 * <p>Offset 0 is the first data byte, i.e. wire sequence {@code ISN + 1}; the SYN occupies offset -1.
 * Stateless; safe for concurrent use.
 */
public final class SeqNum {
  private SeqNum() {}

  /** Returns {@code a < b} in sequence space. */
  public static boolean lt(int a, int b) {
    return a - b < 0;
  }

  /** Returns {@code a <= b} in sequence space. */
  public static boolean le(int a, int b) {
    return a - b <= 0;
  }

  /** Returns {@code a > b} in sequence space. */
  public static boolean gt(int a, int b) {
    return a - b > 0;
  }

  /** Returns the wire sequence number of stream offset {@code offset} for initial sequence {@code isn}. */
  public static int toWire(int isn, long offset) {
    return (int) (isn + 1L + offset);
  }

  /**
   * Returns the 64-bit stream offset of wire sequence {@code seq}, choosing the value nearest to
   * {@code expectedOffset} (within ±2^31).
   */
  public static long toOffset(int isn, int seq, long expectedOffset) {
    int expectedWire = toWire(isn, expectedOffset);
    return expectedOffset + (seq - expectedWire);
  }
}
