package org.q2q.ptcp.internal;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The PTCP header codec (see {@code WIRE.md}): a 28-byte fixed header, TLV options, then the payload,
 * all covered by a CRC32C.
 *
 * <p>An instance is a mutable, reusable record of one header. Not thread-safe; event-loop only.
 */
public final class Header {
  /** First byte of every PTCP datagram. */
  public static final int MAGIC = 0xD7;
  /** Wire-format version carried in byte 1. */
  public static final int VERSION = 1;
  /** Size of the fixed part of the header, bytes. */
  public static final int FIXED_LENGTH = 28;

  public static final int SYN = 0x01;
  public static final int ACK = 0x02;
  public static final int FIN = 0x04;
  public static final int RST = 0x08;
  public static final int STB = 0x10;
  public static final int PSH = 0x20;
  public static final int PROBE = 0x40;
  public static final int PING = 0x80;

  static final int OPT_END = 0;
  static final int OPT_NOP = 1;
  static final int OPT_HANDSHAKE = 2;
  static final int OPT_SACK = 3;
  static final int OPT_PROBE_ACK = 4;
  static final int OPT_STB = 5;
  static final int OPT_ERROR = 6;

  /** Maximum SACK blocks carried in one header. */
  public static final int MAX_SACK_BLOCKS = 4;

  /** Decode result: a valid PTCP datagram. */
  public static final int OK = 0;
  /** Decode result: not a PTCP datagram at all (wrong magic, too short): hand to the raw hook. */
  public static final int NOT_PTCP = 1;
  /** Decode result: the header is intact but the datagram is shorter than it says (truncated path). */
  public static final int TRUNCATED = 2;
  /** Decode result: corrupt (bad checksum, bad lengths, unknown version): drop. */
  public static final int CORRUPT = 3;

  public int flags;
  public int dstCid;
  public int srcCid;
  public int seq;
  public int ack;
  /** Window field as sent (scaled, except on SYN segments). */
  public int window;
  public int payloadLength;
  /** Header length in bytes including options (set by decode and encode). */
  public int headerLength;
  /** Total datagram length seen by decode, bytes. */
  public int datagramLength;

  public boolean hasHandshake;
  public int hsIsn;
  public int hsMaxDatagram;
  public int hsWindowScale;

  public int sackCount;
  public final int[] sackLeft = new int[MAX_SACK_BLOCKS];
  public final int[] sackRight = new int[MAX_SACK_BLOCKS];

  /** Size acknowledged by a PROBE_ACK option, or 0 when absent. */
  public int probeAck;
  /** Datagram size reported by an STB option, or -1 when absent. */
  public int stbSize = -1;
  public int stbSeq;
  /** Error code carried by an ERROR option (with RST), or -1 when absent. */
  public int errorCode = -1;

  /** Resets every field to its default. */
  public void clear() {
    flags = dstCid = srcCid = seq = ack = window = payloadLength = headerLength = datagramLength = 0;
    hasHandshake = false;
    hsIsn = hsMaxDatagram = hsWindowScale = 0;
    sackCount = 0;
    probeAck = 0;
    stbSize = -1;
    stbSeq = 0;
    errorCode = -1;
  }

  /** Returns true if {@code f} is set. */
  public boolean has(int f) {
    return (flags & f) != 0;
  }

  /** Length of the encoded header including options, padded to 4 bytes. */
  public int encodedLength() {
    int opts = 0;
    if (hasHandshake) {
      opts += 10;
    }
    if (sackCount > 0) {
      opts += 2 + 8 * sackCount;
    }
    if (probeAck > 0) {
      opts += 4;
    }
    if (stbSize >= 0) {
      opts += 8;
    }
    if (errorCode >= 0) {
      opts += 4;
    }
    return FIXED_LENGTH + ((opts + 3) & ~3);
  }

  /**
   * Writes the header and options at {@code out}'s position with a zero checksum; the caller then
   * writes exactly {@link #payloadLength} payload bytes and calls {@link #seal}.
   */
  public void encode(ByteBuffer out) {
    int hl = encodedLength();
    headerLength = hl;
    int p = out.position();
    if (out.limit() - p < hl) {
      throw new java.nio.BufferOverflowException();
    }
    // The fixed part as seven absolute 32-bit stores (no per-byte bounds and position updates).
    out.putInt(p, MAGIC << 24 | VERSION << 16 | (flags & 0xff) << 8 | hl / 4);
    out.putInt(p + 4, dstCid);
    out.putInt(p + 8, srcCid);
    out.putInt(p + 12, seq);
    out.putInt(p + 16, ack);
    out.putInt(p + 20, window << 16 | (payloadLength & 0xffff));
    out.putInt(p + 24, 0);
    out.position(p + FIXED_LENGTH);
    if (hl == FIXED_LENGTH) {
      return;
    }
    int optStart = out.position();
    if (hasHandshake) {
      out.put((byte) OPT_HANDSHAKE).put((byte) 10).putInt(hsIsn).putShort((short) hsMaxDatagram)
          .put((byte) hsWindowScale).put((byte) 0);
    }
    if (sackCount > 0) {
      out.put((byte) OPT_SACK).put((byte) (2 + 8 * sackCount));
      for (int i = 0; i < sackCount; i++) {
        out.putInt(sackLeft[i]).putInt(sackRight[i]);
      }
    }
    if (probeAck > 0) {
      out.put((byte) OPT_PROBE_ACK).put((byte) 4).putShort((short) probeAck);
    }
    if (stbSize >= 0) {
      out.put((byte) OPT_STB).put((byte) 8).putShort((short) stbSize).putInt(stbSeq);
    }
    if (errorCode >= 0) {
      out.put((byte) OPT_ERROR).put((byte) 4).putShort((short) errorCode);
    }
    while (out.position() - optStart < hl - FIXED_LENGTH) {
      out.put((byte) OPT_END);
    }
  }

  /** Computes the CRC32C over the datagram written from {@code start} to the position and stores it. */
  public static void seal(ByteBuffer out, int start, CRC32C crc) {
    int end = out.position();
    int lim = out.limit();
    crc.reset();
    out.position(start).limit(end);
    crc.update(out);
    out.limit(lim).position(end);
    out.putInt(start + 24, (int) crc.getValue());
  }

  /**
   * Decodes the datagram between {@code in}'s position and limit. On {@link #OK} the position is left
   * at the payload start. Never throws on malformed input.
   */
  public int decode(ByteBuffer in, CRC32C crc) {
    clear();
    int start = in.position();
    int len = in.remaining();
    datagramLength = len;
    if (len < FIXED_LENGTH || (in.get(start) & 0xff) != MAGIC) {
      return NOT_PTCP;
    }
    if ((in.get(start + 1) & 0xff) != VERSION) {
      return CORRUPT;
    }
    flags = in.get(start + 2) & 0xff;
    int hl = (in.get(start + 3) & 0xff) * 4;
    dstCid = in.getInt(start + 4);
    srcCid = in.getInt(start + 8);
    seq = in.getInt(start + 12);
    ack = in.getInt(start + 16);
    window = in.getShort(start + 20) & 0xffff;
    payloadLength = in.getShort(start + 22) & 0xffff;
    headerLength = hl;
    if (hl < FIXED_LENGTH) {
      return CORRUPT;
    }
    if (len < hl + payloadLength) {
      return TRUNCATED;
    }
    if (len > hl + payloadLength) {
      return CORRUPT;
    }
    int stored = in.getInt(start + 24);
    int lim = in.limit();
    crc.reset();
    in.limit(start + 24);
    crc.update(in);
    crc.update(0);
    crc.update(0);
    crc.update(0);
    crc.update(0);
    in.limit(lim).position(start + 28);
    crc.update(in);
    in.position(start);
    if ((int) crc.getValue() != stored) {
      return CORRUPT;
    }
    int p = start + FIXED_LENGTH;
    int optEnd = start + hl;
    while (p < optEnd) {
      int kind = in.get(p) & 0xff;
      if (kind == OPT_END) {
        break;
      }
      if (kind == OPT_NOP) {
        p++;
        continue;
      }
      if (p + 2 > optEnd) {
        return CORRUPT;
      }
      int olen = in.get(p + 1) & 0xff;
      if (olen < 2 || p + olen > optEnd) {
        return CORRUPT;
      }
      switch (kind) {
        case OPT_HANDSHAKE:
          if (olen != 10) {
            return CORRUPT;
          }
          hasHandshake = true;
          hsIsn = in.getInt(p + 2);
          hsMaxDatagram = in.getShort(p + 6) & 0xffff;
          hsWindowScale = in.get(p + 8) & 0xff;
          break;
        case OPT_SACK:
          int n = (olen - 2) / 8;
          if ((olen - 2) % 8 != 0 || n > MAX_SACK_BLOCKS) {
            return CORRUPT;
          }
          sackCount = n;
          for (int i = 0; i < n; i++) {
            sackLeft[i] = in.getInt(p + 2 + 8 * i);
            sackRight[i] = in.getInt(p + 6 + 8 * i);
          }
          break;
        case OPT_PROBE_ACK:
          if (olen != 4) {
            return CORRUPT; // found by PtcpFuzzTest: a 2-byte option was read past the datagram
          }
          probeAck = in.getShort(p + 2) & 0xffff;
          break;
        case OPT_STB:
          if (olen != 8) {
            return CORRUPT;
          }
          stbSize = in.getShort(p + 2) & 0xffff;
          stbSeq = in.getInt(p + 4);
          break;
        case OPT_ERROR:
          if (olen != 4) {
            return CORRUPT;
          }
          errorCode = in.getShort(p + 2) & 0xffff;
          break;
        default:
          break; // unknown options are skipped: room for extension
      }
      p += olen;
    }
    in.position(start + hl);
    return OK;
  }
}
