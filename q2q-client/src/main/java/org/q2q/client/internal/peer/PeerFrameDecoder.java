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
 * <p>Data frames in their canonical encoding (as {@link PeerFrameEncoder} writes them: channel id,
 * then payload) take a fast path and are emitted as {@link InboundData} whose payload is one copy
 * in a pooled buffer (the reader must release it); every other frame, and data frames encoded any
 * other valid way, are parsed by protobuf into a {@link PeerFrame}, which owns no {@code ByteBuf}.
 * Not thread-safe; event-loop only.
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
    InboundData data = fastData(ctx, body);
    if (data != null) {
      out.add(data);
      return;
    }
    try {
      out.add(PeerFrame.parseFrom(body.nioBuffer()));
    } catch (InvalidProtocolBufferException e) {
      throw new FrameException(Q2qErrorCode.PROTOCOL_ERROR, "malformed frame (" + length + " bytes): " + e.getMessage());
    }
  }

  // Protobuf tags: PeerFrame.data = field 3, ChannelData.channel_id = 1, ChannelData.payload = 2.
  private static final int TAG_FRAME_DATA = (3 << 3) | 2;
  private static final int TAG_CHANNEL_ID = 1 << 3;
  private static final int TAG_PAYLOAD = (2 << 3) | 2;

  /**
   * Decodes {@code body} if it is exactly {data {channel_id, payload}} in that order.
   *
   * @param body the frame; not retained; its reader index is left unchanged
   * @return the data with a payload the caller owns, or null to fall back to protobuf
   */
  private static InboundData fastData(ChannelHandlerContext ctx, ByteBuf body) {
    ByteBuf b = body.duplicate();
    if (!b.isReadable() || b.readUnsignedByte() != TAG_FRAME_DATA) {
      return null;
    }
    long inner = readVarint32(b);
    if (inner != b.readableBytes() || !b.isReadable() || b.readUnsignedByte() != TAG_CHANNEL_ID) {
      return null;
    }
    long id = readVarint32(b);
    // A five-byte id above 2^32-1 is left to protobuf, which keeps its low 32 bits, so both paths
    // agree on which channel a frame is for.
    if (id < 0 || id > 0xFFFF_FFFFL || !b.isReadable() || b.readUnsignedByte() != TAG_PAYLOAD) {
      return null;
    }
    long n = readVarint32(b);
    if (n < 0 || n != b.readableBytes()) {
      return null;
    }
    ByteBuf payload = ctx.alloc().buffer((int) n);
    payload.writeBytes(b, (int) n);
    return new InboundData(id, payload);
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
