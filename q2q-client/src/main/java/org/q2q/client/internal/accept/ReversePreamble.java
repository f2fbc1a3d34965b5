package org.q2q.client.internal.accept;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * The bytes a listener sends first on a reverse TCP connection, before TLS (peer.proto's wire
 * notes): "Q2QR", one length byte N (1..64), N ASCII bytes of the listener id. The connector's
 * acceptor tells it from a direct connection (which starts with a TLS record, 0x16) by the first
 * byte.
 */
public final class ReversePreamble {
  static final byte[] MAGIC = {'Q', '2', 'Q', 'R'};
  static final byte TLS_HANDSHAKE_RECORD = 0x16;
  static final int MAX_ID_LENGTH = 64;

  private ReversePreamble() {}

  /** The preamble for {@code listenerId}; the caller owns the buffer. */
  public static ByteBuf encode(ByteBufAllocator alloc, String listenerId) {
    byte[] id = listenerId.getBytes(StandardCharsets.US_ASCII);
    if (id.length < 1 || id.length > MAX_ID_LENGTH) {
      throw new IllegalArgumentException("listener id must be 1.." + MAX_ID_LENGTH + " bytes: " + id.length);
    }
    ByteBuf b = alloc.buffer(MAGIC.length + 1 + id.length);
    b.writeBytes(MAGIC).writeByte(id.length).writeBytes(id);
    return b;
  }

  /** What the first bytes of an accepted connection say. */
  sealed interface Decoded permits Direct, Reverse, NeedMore, Invalid {}

  /** A TLS handshake: a peer dialing us directly. Nothing consumed. */
  record Direct() implements Decoded {}

  /** A listener dialing back for {@code listenerId}; the preamble was consumed. */
  record Reverse(String listenerId) implements Decoded {}

  /** Not enough bytes yet. */
  record NeedMore() implements Decoded {}

  /** Neither; close the connection. */
  record Invalid(String why) implements Decoded {}

  /** Decodes from {@code in}'s reader index; consumes the preamble only when it is whole. */
  static Decoded decode(ByteBuf in) {
    if (!in.isReadable()) {
      return new NeedMore();
    }
    int start = in.readerIndex();
    byte first = in.getByte(start);
    if (first == TLS_HANDSHAKE_RECORD) {
      return new Direct();
    }
    if (first != MAGIC[0]) {
      return new Invalid("neither TLS nor a q2q reverse preamble (first byte 0x"
          + Integer.toHexString(first & 0xff) + ")");
    }
    int have = in.readableBytes();
    for (int i = 1; i < MAGIC.length; i++) {
      if (i >= have) {
        return new NeedMore();
      }
      if (in.getByte(start + i) != MAGIC[i]) {
        return new Invalid("bad reverse preamble");
      }
    }
    if (have <= MAGIC.length) {
      return new NeedMore();
    }
    int n = in.getUnsignedByte(start + MAGIC.length);
    if (n < 1 || n > MAX_ID_LENGTH) {
      return new Invalid("reverse preamble with a listener id of " + n + " bytes");
    }
    if (have < MAGIC.length + 1 + n) {
      return new NeedMore();
    }
    String id = in.toString(start + MAGIC.length + 1, n, StandardCharsets.US_ASCII);
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return new Invalid("reverse preamble with a non-printable listener id");
      }
    }
    in.skipBytes(MAGIC.length + 1 + n);
    return new Reverse(id);
  }
}
