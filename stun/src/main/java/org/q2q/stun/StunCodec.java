package org.q2q.stun;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32;

/**
 * STUN Binding (RFC 8489) as a sans-IO codec: checks and answers Binding requests (server), builds
 * requests and reads success responses (client). No sockets, no clocks, no state; safe for
 * concurrent use.
 *
 * <p>What the server answers, and with how many bytes (the amplification rule):
 * <ul>
 *   <li>only a well-formed Binding request (type 0x0001, magic cookie, length field equal to the
 *       datagram's, attributes within bounds, FINGERPRINT last and right if present, no
 *       comprehension-required attribute but PADDING) of at most {@link #MAX_REQUEST_BYTES};
 *   <li>the answer is a Binding success response with the same transaction id and
 *       XOR-MAPPED-ADDRESS; MAPPED-ADDRESS (RFC 3489 clients) and FINGERPRINT are added only
 *       while the answer stays within the request's size;
 *   <li>so the answer is at most {@code max(request size, minimal answer)}, the minimal answer
 *       being 32 bytes (IPv4) or 44 bytes (IPv6). A bare 20-byte request (what standard clients
 *       such as coturn's {@code turnutils_stunclient} send) therefore gets at most 2.2 times its
 *       size back; any request of 44 bytes or more gets no more bytes than it sent. The server
 *       bounds the remaining factor with a per-source rate limit.
 * </ul>
 */
public final class StunCodec {
  /** The STUN header's fixed size, bytes. */
  public static final int HEADER_BYTES = 20;
  /** RFC 5389/8489 magic cookie, bytes 4..8 of every message. */
  public static final int MAGIC_COOKIE = 0x2112A442;
  /** Transaction id length, bytes. */
  public static final int TRANSACTION_ID_BYTES = 12;
  /** Largest request answered; a Binding request needs a few dozen bytes at most. */
  public static final int MAX_REQUEST_BYTES = 548;
  /** Binding request message type. */
  public static final int BINDING_REQUEST = 0x0001;
  /** Binding success response message type. */
  public static final int BINDING_SUCCESS = 0x0101;
  /** MAPPED-ADDRESS attribute. */
  public static final int MAPPED_ADDRESS = 0x0001;
  /** XOR-MAPPED-ADDRESS attribute. */
  public static final int XOR_MAPPED_ADDRESS = 0x0020;
  /** PADDING attribute (RFC 5780): comprehension-required, harmless, so accepted. */
  public static final int PADDING = 0x0026;
  /** FINGERPRINT attribute. */
  public static final int FINGERPRINT = 0x8028;
  private static final int FINGERPRINT_XOR = 0x5354554E;
  /** The largest answer this codec writes (IPv6 with both addresses and FINGERPRINT), bytes. */
  public static final int MAX_ANSWER_BYTES = HEADER_BYTES + 24 + 24 + 8;

  private StunCodec() {}

  /**
   * The demultiplexing rule for a shared UDP socket: at least 20 bytes, the first two bits 00 and
   * the magic cookie at bytes 4..8 (RFC 8489 section 6; RFC 7983 for the first-byte ranges). Reads
   * {@code in} between position and limit without moving it.
   */
  public static boolean looksLikeStun(ByteBuffer in) {
    int p = in.position();
    return in.remaining() >= HEADER_BYTES && (in.get(p) & 0xC0) == 0 && in.getInt(p + 4) == MAGIC_COOKIE;
  }

  /**
   * Checks that the datagram between {@code in}'s position and limit is a Binding request this
   * codec answers (see the class comment); returns null if so, else why not. Does not move the
   * position. Cost: one pass over at most {@link #MAX_REQUEST_BYTES}.
   */
  public static StunDrop checkBindingRequest(ByteBuffer in) {
    int p = in.position();
    int n = in.remaining();
    if (n < HEADER_BYTES) {
      return StunDrop.TOO_SHORT;
    }
    if (!looksLikeStun(in)) {
      return StunDrop.NOT_STUN;
    }
    if (n > MAX_REQUEST_BYTES) {
      return StunDrop.TOO_LONG;
    }
    int length = in.getShort(p + 2) & 0xffff;
    if (length != n - HEADER_BYTES || (length & 3) != 0) {
      return StunDrop.BAD_LENGTH;
    }
    if ((in.getShort(p) & 0xffff) != BINDING_REQUEST) {
      return StunDrop.NOT_BINDING_REQUEST;
    }
    int at = p + HEADER_BYTES;
    int end = p + n;
    while (at < end) {
      if (end - at < 4) {
        return StunDrop.BAD_ATTRIBUTE;
      }
      int type = in.getShort(at) & 0xffff;
      int len = in.getShort(at + 2) & 0xffff;
      int next = at + 4 + ((len + 3) & ~3);
      if (next > end) {
        return StunDrop.BAD_ATTRIBUTE;
      }
      if (type == FINGERPRINT) {
        if (len != 4 || next != end) {
          return StunDrop.BAD_ATTRIBUTE;
        }
        if (in.getInt(at + 4) != fingerprint(in, p, at - p)) {
          return StunDrop.BAD_FINGERPRINT;
        }
      } else if (type < 0x8000 && type != PADDING) {
        return StunDrop.UNKNOWN_REQUIRED_ATTRIBUTE;
      }
      at = next;
    }
    return null;
  }

  /**
   * Size of the answer to a request of {@code requestBytes} for a source of that family: the
   * richest layout that fits in {@code max(requestBytes, minimal)}.
   */
  public static int answerSize(int requestBytes, boolean ipv6) {
    int addr = ipv6 ? 24 : 12;
    int minimal = HEADER_BYTES + addr;
    int room = Math.max(requestBytes, minimal);
    if (HEADER_BYTES + 2 * addr + 8 <= room) {
      return HEADER_BYTES + 2 * addr + 8;
    }
    if (HEADER_BYTES + 2 * addr <= room) {
      return HEADER_BYTES + 2 * addr;
    }
    return minimal;
  }

  /**
   * Writes the Binding success response to {@code request} (already passed by {@link
   * #checkBindingRequest}; read between its position and limit, not moved) telling the client it
   * was seen as {@code mapped}, at {@code out}'s position, which advances. The size follows {@link
   * #answerSize}; {@code out} needs at least {@link #MAX_ANSWER_BYTES} remaining.
   *
   * @return the number of bytes written
   */
  public static int writeBindingSuccess(ByteBuffer request, InetSocketAddress mapped, ByteBuffer out) {
    InetAddress a = Objects.requireNonNull(mapped.getAddress(), "mapped address is unresolved");
    byte[] tx = new byte[TRANSACTION_ID_BYTES];
    request.get(request.position() + 8, tx);
    boolean v6 = a instanceof Inet6Address;
    int size = answerSize(request.remaining(), v6);
    int addrLen = v6 ? 24 : 12;
    int start = out.position();
    out.putShort((short) BINDING_SUCCESS).putShort((short) (size - HEADER_BYTES)).putInt(MAGIC_COOKIE).put(tx);
    putAddress(out, XOR_MAPPED_ADDRESS, a, mapped.getPort(), tx, true);
    if (size >= HEADER_BYTES + 2 * addrLen) {
      putAddress(out, MAPPED_ADDRESS, a, mapped.getPort(), tx, false);
    }
    if (size == HEADER_BYTES + 2 * addrLen + 8) {
      int fpAt = out.position();
      out.putShort((short) FINGERPRINT).putShort((short) 4).putInt(fingerprint(out, start, fpAt - start));
    }
    return out.position() - start;
  }

  /**
   * A Binding request with {@code transactionId} (12 bytes) and a FINGERPRINT (28 bytes), so that
   * the answer is told apart from anything else arriving on the socket.
   */
  public static byte[] bindingRequest(byte[] transactionId) {
    if (transactionId.length != TRANSACTION_ID_BYTES) {
      throw new IllegalArgumentException("a transaction id is 12 bytes, got " + transactionId.length);
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + 8);
    b.putShort((short) BINDING_REQUEST).putShort((short) 8).putInt(MAGIC_COOKIE).put(transactionId);
    b.putShort((short) FINGERPRINT).putShort((short) 4).putInt(fingerprint(b, 0, HEADER_BYTES));
    return b.array();
  }

  /** A Binding success response read by {@link #readBindingSuccess}. */
  public record BindingSuccess(byte[] transactionId, InetSocketAddress mapped) {
    /** Whether this answers the request with {@code id}. */
    public boolean answers(byte[] id) {
      return Arrays.equals(transactionId, id);
    }
  }

  /**
   * Reads a Binding success response (between {@code in}'s position and limit, not moved): its
   * transaction id and the reflexive address (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS). Returns
   * null for anything else or anything malformed (bad length, bad FINGERPRINT, no address).
   */
  public static BindingSuccess readBindingSuccess(ByteBuffer in) {
    int p = in.position();
    int n = in.remaining();
    if (!looksLikeStun(in) || n > 1500 || (in.getShort(p) & 0xffff) != BINDING_SUCCESS) {
      return null;
    }
    int length = in.getShort(p + 2) & 0xffff;
    if (length != n - HEADER_BYTES || (length & 3) != 0) {
      return null;
    }
    byte[] tx = new byte[TRANSACTION_ID_BYTES];
    in.get(p + 8, tx);
    InetSocketAddress xor = null;
    InetSocketAddress plain = null;
    int at = p + HEADER_BYTES;
    int end = p + n;
    while (at < end) {
      if (end - at < 4) {
        return null;
      }
      int type = in.getShort(at) & 0xffff;
      int len = in.getShort(at + 2) & 0xffff;
      int next = at + 4 + ((len + 3) & ~3);
      if (next > end) {
        return null;
      }
      if (type == XOR_MAPPED_ADDRESS && xor == null) {
        xor = readAddress(in, at + 4, len, tx, true);
      } else if (type == MAPPED_ADDRESS && plain == null) {
        plain = readAddress(in, at + 4, len, tx, false);
      } else if (type == FINGERPRINT && (len != 4 || next != end || in.getInt(at + 4) != fingerprint(in, p, at - p))) {
        return null;
      }
      at = next;
    }
    InetSocketAddress mapped = xor != null ? xor : plain;
    return mapped == null ? null : new BindingSuccess(tx, mapped);
  }

  private static void putAddress(ByteBuffer out, int type, InetAddress a, int port, byte[] tx, boolean xor) {
    byte[] addr = a.getAddress();
    out.putShort((short) type).putShort((short) (4 + addr.length));
    out.put((byte) 0).put((byte) (addr.length == 4 ? 1 : 2));
    out.putShort((short) (xor ? port ^ (MAGIC_COOKIE >>> 16) : port));
    if (xor) {
      xorAddress(addr, tx);
    }
    out.put(addr);
  }

  private static InetSocketAddress readAddress(ByteBuffer in, int at, int len, byte[] tx, boolean xor) {
    int family = in.get(at + 1);
    int addrLen = family == 1 ? 4 : family == 2 ? 16 : -1;
    if (addrLen < 0 || len != 4 + addrLen) {
      return null;
    }
    int port = in.getShort(at + 2) & 0xffff;
    byte[] addr = new byte[addrLen];
    in.get(at + 4, addr);
    if (xor) {
      port ^= MAGIC_COOKIE >>> 16;
      xorAddress(addr, tx);
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(addr), port);
    } catch (UnknownHostException e) {
      return null; // unreachable: the length is right
    }
  }

  /** XORs an address with the cookie (IPv4) or cookie + transaction id (IPv6), in place. */
  private static void xorAddress(byte[] addr, byte[] tx) {
    for (int i = 0; i < addr.length; i++) {
      int key = i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : tx[i - 4] & 0xff;
      addr[i] ^= (byte) key;
    }
  }

  /**
   * FINGERPRINT value over {@code buf[from, from + len)}: CRC-32 XOR 0x5354554E, computed with the
   * header's length field as it is in the buffer (it must already count the FINGERPRINT).
   */
  private static int fingerprint(ByteBuffer buf, int from, int len) {
    CRC32 crc = new CRC32();
    crc.update(buf.duplicate().limit(from + len).position(from));
    return (int) crc.getValue() ^ FINGERPRINT_XOR;
  }
}
