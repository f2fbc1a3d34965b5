package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import org.q2q.proto.PeerFrame;

/**
 * Writes {@link PeerFrame}s and {@link OutboundData} as varint32 length + protobuf. Data frames are
 * written as a small hand-encoded header followed by the payload buffer itself, so payload bytes
 * are never copied into a protobuf message; the wire bytes are exactly what {@code
 * PeerFrame{data: ChannelData{channel_id, payload}}} would serialize to.
 *
 * <p>Writes but does not flush. Stateless and sharable.
 */
@Sharable
final class PeerFrameEncoder extends ChannelOutboundHandlerAdapter {
  static final PeerFrameEncoder INSTANCE = new PeerFrameEncoder();

  // Protobuf tags: PeerFrame.data = field 3, ChannelData.channel_id = 1, ChannelData.payload = 2.
  private static final int TAG_FRAME_DATA = (3 << 3) | 2;
  private static final int TAG_CHANNEL_ID = (1 << 3);
  private static final int TAG_PAYLOAD = (2 << 3) | 2;

  private PeerFrameEncoder() {}

  /** @param msg a PeerFrame, an OutboundData (its payload is released by this method) or a ByteBuf */
  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof PeerFrame frame) {
      int size = frame.getSerializedSize();
      ByteBuf out = ctx.alloc().buffer(varintSize(size) + size);
      writeVarint(out, size);
      out.writeBytes(frame.toByteArray());
      ctx.write(out, promise);
    } else if (msg instanceof OutboundData data) {
      ByteBuf payload = data.payload();
      ByteBuf header;
      try {
        int n = payload.readableBytes();
        int inner = 1 + varintSize(data.channelId()) + 1 + varintSize(n) + n;
        int frame = 1 + varintSize(inner) + inner;
        header = ctx.alloc().buffer(16);
        writeVarint(header, frame);
        header.writeByte(TAG_FRAME_DATA);
        writeVarint(header, inner);
        header.writeByte(TAG_CHANNEL_ID);
        writeVarint(header, data.channelId());
        header.writeByte(TAG_PAYLOAD);
        writeVarint(header, n);
      } catch (RuntimeException e) {
        ReferenceCountUtil.release(payload);
        promise.setFailure(e);
        return;
      }
      ctx.write(header, ctx.voidPromise());
      ctx.write(payload, promise);
    } else {
      ctx.write(msg, promise);
    }
  }

  static int varintSize(long v) {
    int n = 1;
    while ((v & ~0x7fL) != 0) {
      v >>>= 7;
      n++;
    }
    return n;
  }

  static void writeVarint(ByteBuf out, long v) {
    while ((v & ~0x7fL) != 0) {
      out.writeByte((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.writeByte((int) v);
  }
}
