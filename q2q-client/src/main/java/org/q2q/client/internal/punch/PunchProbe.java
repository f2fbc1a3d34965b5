package org.q2q.client.internal.punch;

import java.nio.ByteBuffer;

/**
 * The hole-punching probe datagram (48 bytes, big-endian), sent from the client's one UDP socket:
 *
 * <pre>
 *  0        4     5     6     8            16           24           32                 48
 * +--------+-----+-----+-----+------------+------------+------------+------------------+
 * | "q2qP" | ver | kind| 0 0 | tag        | nonce      | echo       | MAC (16)         |
 * +--------+-----+-----+-----+------------+------------+------------+------------------+
 * </pre>
 *
 * <ul>
 *   <li>magic {@code q2qP} (0x71 0x32 0x71 0x50): the first byte 0x71 is neither PTCP's 0xD7 nor
 *       a STUN first byte (0x00-0x03, first two bits 00), and lies in the range RFC 7983 leaves
 *       unassigned, so one socket tells the three apart by the first byte (see package docs);
 *   <li>ver 1; kind: {@link #PROBE} or {@link #ACK}, with the sender's role in bit 7 ({@link
 *       #LISTENER_BIT}) so that a side never accepts its own probes reflected back;
 *   <li>tag: {@link PunchKey#tag()}, names the punch (several may share the socket);
 *   <li>nonce: fresh random per datagram; echo: the nonce of the probe an ACK answers (0 in a
 *       PROBE);
 *   <li>MAC: {@link PunchKey#mac} over bytes 0..32.
 * </ul>
 * Stateless; safe for concurrent use.
 */
public final class PunchProbe {
  /** Size of every probe, bytes. */
  public static final int SIZE = 48;
  /** The magic, bytes 0..4 ("q2qP"). */
  public static final int MAGIC = 0x71327150;
  /** Wire version. */
  public static final int VERSION = 1;
  /** Kind: a probe ("can you hear me?"). */
  public static final int PROBE = 1;
  /** Kind: the answer to a probe, echoing its nonce. */
  public static final int ACK = 2;
  /** Bit of the kind byte set when the sender is the listener. */
  public static final int LISTENER_BIT = 0x80;
  private static final int MAC_AT = 32;

  /** A decoded, authenticated probe. */
  public record Decoded(int kind, boolean fromListener, long nonce, long echo) {}

  private PunchProbe() {}

  /** Whether the datagram (between position and limit, not moved) has the probe's magic and size. */
  public static boolean looksLikeProbe(ByteBuffer in) {
    return in.remaining() == SIZE && in.getInt(in.position()) == MAGIC;
  }

  /** The tag of a datagram that {@link #looksLikeProbe}. */
  public static long tag(ByteBuffer in) {
    return in.getLong(in.position() + 8);
  }

  /** Encodes a probe or ACK authenticated with {@code key}. */
  static byte[] encode(PunchKey key, int kind, boolean fromListener, long nonce, long echo) {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    b.putInt(MAGIC).put((byte) VERSION).put((byte) (kind | (fromListener ? LISTENER_BIT : 0))).putShort((short) 0)
        .putLong(key.tag()).putLong(nonce).putLong(echo);
    byte[] out = b.array();
    System.arraycopy(key.mac(out, 0, MAC_AT), 0, out, MAC_AT, PunchKey.MAC_BYTES);
    return out;
  }

  /**
   * Decodes and authenticates a datagram (between position and limit, not moved); null if it is
   * not a probe of this key (wrong size, magic, version, kind or tag, or a bad MAC).
   */
  static Decoded decode(PunchKey key, ByteBuffer in) {
    if (!looksLikeProbe(in) || tag(in) != key.tag()) {
      return null;
    }
    byte[] b = new byte[SIZE];
    in.get(in.position(), b);
    int kind = b[5] & ~LISTENER_BIT & 0xff;
    if (b[4] != VERSION || (kind != PROBE && kind != ACK) || b[6] != 0 || b[7] != 0 || !key.verify(b, MAC_AT)) {
      return null;
    }
    ByteBuffer w = ByteBuffer.wrap(b);
    return new Decoded(kind, (b[5] & LISTENER_BIT) != 0, w.getLong(16), w.getLong(24));
  }
}
