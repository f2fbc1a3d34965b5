package org.q2q.client.forward;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The framing of the gateway protocol ({@code q2q/v1/forward.proto}): a varint32 length, then one
 * message of at most {@value #MAX_MESSAGE} bytes. Stateless.
 */
final class GatewayWire {
  /** Largest message accepted; real ones are a few dozen bytes. */
  static final int MAX_MESSAGE = 4096;

  private GatewayWire() {}

  /** {@code m} framed; the caller owns the buffer (normally by writing it). */
  static ByteBuf encode(ByteBufAllocator alloc, MessageLite m) {
    ByteBuf b = alloc.buffer(m.getSerializedSize() + 5);
    try (ByteBufOutputStream out = new ByteBufOutputStream(b)) {
      m.writeDelimitedTo(out);
    } catch (IOException e) {
      b.release();
      throw new UncheckedIOException(e);
    }
    return b;
  }

  /**
   * Takes one framed message off the front of {@code in} if it is complete.
   *
   * @return the message, or null if more bytes are needed ({@code in} is left as it was)
   * @throws InvalidProtocolBufferException if the frame is too long or does not parse
   */
  static <T> T tryDecode(ByteBuf in, Parser<T> parser) throws InvalidProtocolBufferException {
    int start = in.readerIndex();
    int length = 0;
    int shift = 0;
    int i = start;
    for (; ; ) {
      if (i >= in.writerIndex()) {
        return null;
      }
      byte b = in.getByte(i++);
      length |= (b & 0x7f) << shift;
      if (b >= 0) {
        break;
      }
      shift += 7;
      if (shift > 28) {
        throw new InvalidProtocolBufferException("malformed length prefix");
      }
    }
    if (length < 0 || length > MAX_MESSAGE) {
      throw new InvalidProtocolBufferException("message of " + length + " bytes is longer than " + MAX_MESSAGE);
    }
    if (in.writerIndex() - i < length) {
      return null;
    }
    T msg = parser.parseFrom(CodedInputStream.newInstance(in.nioBuffer(i, length)));
    in.readerIndex(i + length);
    return msg;
  }
}
