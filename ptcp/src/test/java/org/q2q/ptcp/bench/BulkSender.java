package org.q2q.ptcp.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The benchmark client's stream handler, shared by PTCP and QUIC: writes slices of {@code chunk}
 * while the channel is writable until {@code bytes} are sent or the deadline passes, then half-closes
 * and completes {@code answer} with the sink's 8-byte count. Not {@code @Sharable}: one per stream.
 * {@code chunk} stays owned by the caller (only retained slices are written).
 */
final class BulkSender extends ChannelInboundHandlerAdapter {
  private final ByteBuf chunk;
  private final long bytes;
  private final long deadline;
  private final CompletableFuture<Long> answer;
  private final Consumer<Channel> shutdownOutput;
  private long sent;
  private boolean done;
  private boolean started;
  private ScheduledFuture<?> check;

  BulkSender(ByteBuf chunk, long bytes, long deadline, CompletableFuture<Long> answer,
      Consumer<Channel> shutdownOutput) {
    this.chunk = chunk;
    this.bytes = bytes;
    this.deadline = deadline;
    this.answer = answer;
    this.shutdownOutput = shutdownOutput;
  }

  /** A direct buffer of {@code size} seeded random bytes (same content in every run), for the caller to release. */
  static ByteBuf randomChunk(int size) {
    byte[] r = new byte[size];
    new java.util.Random(1).nextBytes(r);
    return io.netty.buffer.Unpooled.directBuffer(size).writeBytes(r);
  }

  private void pump(ChannelHandlerContext ctx) {
    while (!done && ctx.channel().isWritable()) {
      if (sent >= bytes || System.nanoTime() >= deadline) {
        done = true;
        ctx.flush();
        shutdownOutput.accept(ctx.channel());
        if (check != null) {
          check.cancel(false);
        }
        return;
      }
      int n = (int) Math.min(chunk.readableBytes(), bytes - sent);
      ctx.write(chunk.retainedSlice(0, n));
      sent += n;
    }
    ctx.flush();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      channelActive(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (started) {
      return;
    }
    started = true;
    pump(ctx);
    // One periodic deadline check (not one per writability change: those piled up thousands of
    // timers in the sender's event loop and skewed the figures).
    if (!done) {
      check = ctx.executor().scheduleAtFixedRate(() -> pump(ctx), 50, 50, TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    pump(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf b = (ByteBuf) msg;
    if (b.readableBytes() >= 8) {
      answer.complete(b.readLong());
    }
    b.release();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    answer.completeExceptionally(cause);
  }
}
