package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

/**
 * Sits just above the TLS handler and decides what becomes one TLS record: small writes (frame
 * headers, control frames, the small data frames of forwarded requests) are copied together into
 * one buffer of at most one record's plaintext, and large buffers (bulk data payloads) pass
 * through untouched, so the TLS engine encrypts them where they lie.
 *
 * <p>Why not the TLS handler's own coalescing ({@code SslHandler.setWrapDataSize}): it copies every
 * buffer it joins with another, which for a data frame (a small header followed by up to 64 KiB of
 * payload) meant copying every payload byte once more before encryption. The TLS handler here runs
 * with coalescing off and gets either one gathered buffer or one large buffer per write.
 *
 * <p>Buffer ownership: every buffer written here is released by this handler (copied ones) or
 * passed on (large ones). Writes with a real promise are passed on after what was gathered, so
 * their promise completes with their own write. Not sharable: one per session, on its event loop.
 */
final class RecordBatcher extends ChannelOutboundHandlerAdapter {
  /** Writes of at most this many bytes are copied into the batch; larger ones pass through. */
  static final int SMALL_WRITE = 2048;
  /** The plaintext of one full TLS record. */
  static final int BATCH_BYTES = 16 * 1024;

  private ByteBuf batch;

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof ByteBuf buf && promise.isVoid() && buf.readableBytes() <= SMALL_WRITE) {
      int n = buf.readableBytes();
      if (batch != null && batch.writableBytes() < n) {
        emit(ctx);
      }
      if (batch == null) {
        batch = ctx.alloc().directBuffer(BATCH_BYTES, BATCH_BYTES);
      }
      batch.writeBytes(buf);
      buf.release();
      return;
    }
    emit(ctx); // what was gathered goes first: order is the stream's
    ctx.write(msg, promise);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    emit(ctx);
    ctx.flush();
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    emit(ctx); // the TLS handler flushes pending writes before its close_notify
    ctx.close(promise);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (batch != null) {
      batch.release();
      batch = null;
    }
  }

  private void emit(ChannelHandlerContext ctx) {
    if (batch != null) {
      ByteBuf b = batch;
      batch = null;
      ctx.write(b, ctx.voidPromise());
    }
  }
}
