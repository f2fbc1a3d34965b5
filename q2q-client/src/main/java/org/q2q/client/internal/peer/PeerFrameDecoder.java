package org.q2q.client.internal.peer;

import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.q2q.client.Q2qErrorCode;
import org.q2q.proto.PeerFrame;

/**
 * Splits the decrypted byte stream into {@link PeerFrame}s: varint32 length prefix, then the
 * protobuf. Unlike Netty's {@code ProtobufVarint32FrameDecoder} it bounds the frame size, so a
 * peer cannot make us buffer without limit.
 *
 * <p>Errors are raised as {@link FrameException} ({@code PROTOCOL_ERROR} for a malformed length or
 * protobuf, {@code FRAME_TOO_LARGE} for an oversize length). After a length error the stream
 * cannot be resynchronised, so every later byte is discarded; the session closes anyway.
 *
 * <p>The emitted frames own no {@code ByteBuf} (protobuf copies the bytes). Not thread-safe;
 * event-loop only.
 */
final class PeerFrameDecoder extends ByteToMessageDecoder {
  private final int maxFrameSize;
  private boolean broken;

  PeerFrameDecoder(int maxFrameSize) {
    this.maxFrameSize = maxFrameSize;
  }

  /** @param in the cumulation, owned by the base class; only read here */
  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (broken) {
      in.skipBytes(in.readableBytes());
      return;
    }
    int start = in.readerIndex();
    long length = readVarint32(in);
    if (length == -1) {
      in.readerIndex(start);
      return; // need more bytes for the prefix
    }
    if (length == -2) {
      broken = true;
      in.skipBytes(in.readableBytes());
      throw new FrameException(Q2qErrorCode.PROTOCOL_ERROR, "malformed frame length prefix (varint longer than 5 bytes)");
    }
    if (length > maxFrameSize) {
      broken = true;
      in.skipBytes(in.readableBytes());
      throw new FrameException(
          Q2qErrorCode.FRAME_TOO_LARGE, "frame of " + length + " bytes exceeds the limit of " + maxFrameSize + " bytes");
    }
    if (in.readableBytes() < length) {
      in.readerIndex(start);
      return;
    }
    ByteBuf body = in.readSlice((int) length);
    try {
      out.add(PeerFrame.parseFrom(body.nioBuffer()));
    } catch (InvalidProtocolBufferException e) {
      throw new FrameException(Q2qErrorCode.PROTOCOL_ERROR, "malformed frame (" + length + " bytes): " + e.getMessage());
    }
  }

  /** @return the value (unsigned 32 bit), -1 if incomplete, -2 if malformed */
  private static long readVarint32(ByteBuf in) {
    long value = 0;
    for (int i = 0; i < 5; i++) {
      if (!in.isReadable()) {
        return -1;
      }
      byte b = in.readByte();
      value |= (long) (b & 0x7f) << (7 * i);
      if (b >= 0) {
        return value;
      }
    }
    return -2;
  }
}
