package org.q2q.client.internal.peer;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.q2q.client.VirtualChannel;

/**
 * The acceptor side's services for the tests:
 *
 * <ul>
 *   <li>{@code echo}: a Netty handler echoing bytes with backpressure, ending its output when the
 *       input ends;
 *   <li>{@code sha}: blocking streams, reads to the end and answers the SHA-256 hex of it;
 *   <li>{@code sink}: accepted but never read (a stalled reader);
 *   <li>{@code discard}: a Netty handler releasing everything it reads;
 *   <li>{@code explode}: a Netty handler that throws on the first bytes;
 *   <li>{@code broken}: the acceptor throws (REFUSED); anything else: NO_SUCH_SERVICE.
 * </ul>
 */
final class TestServices implements ChannelAcceptor, AutoCloseable {
  final ExecutorService pool = Executors.newCachedThreadPool();
  /** Every channel accepted, in order. */
  final List<VirtualChannel> accepted = new CopyOnWriteArrayList<>();
  /** Failures inside blocking services. */
  final List<Throwable> errors = new CopyOnWriteArrayList<>();
  /** Bytes the {@code discard} channels received (on the event loop of their session). */
  final java.util.concurrent.atomic.AtomicLong discarded = new java.util.concurrent.atomic.AtomicLong();
  /** {@link #discarded} when an {@code echo} channel received its first bytes, or -1. */
  final java.util.concurrent.atomic.AtomicLong discardedAtFirstEcho = new java.util.concurrent.atomic.AtomicLong(-1);

  @Override
  public boolean accept(VirtualChannel ch) throws Exception {
    switch (ch.service()) {
      case "echo" -> ch.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          discardedAtFirstEcho.compareAndSet(-1, discarded.get());
          ctx.fireChannelRead(msg);
        }
      }, new EchoHandler());
      case "sha" -> pool.execute(() -> {
        try (InputStream in = ch.inputStream(); OutputStream out = ch.outputStream()) {
          out.write(sha256Hex(in).getBytes(StandardCharsets.US_ASCII));
        } catch (Throwable t) {
          errors.add(t);
        }
      });
      case "sink" -> {}
      case "discard" -> ch.channel().pipeline().addLast(new Discard() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          discarded.addAndGet(((io.netty.buffer.ByteBuf) msg).readableBytes());
          super.channelRead(ctx, msg);
        }
      });
      case "explode" -> ch.channel().pipeline().addLast(new Discard() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          super.channelRead(ctx, msg);
          throw new IllegalStateException("handler bug with a secret inside");
        }
      });
      case "broken" -> throw new IllegalStateException("listener exploded");
      default -> {
        return false;
      }
    }
    accepted.add(ch);
    return true;
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }

  /** Reads everything and releases it. */
  static class Discard extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.channel().config().setAutoRead(true);
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      io.netty.util.ReferenceCountUtil.release(msg);
    }
  }

  /** Echo with Netty-style backpressure: stop reading while the channel is not writable. */
  static final class EchoHandler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.channel().config().setAutoRead(true);
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.write(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
      if (!ctx.channel().isWritable()) {
        ctx.channel().config().setAutoRead(false);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        ctx.channel().config().setAutoRead(true);
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        ((DuplexChannel) ctx.channel()).shutdownOutput();
      }
      ctx.fireUserEventTriggered(evt);
    }
  }

  static String sha256Hex(InputStream in) throws IOException {
    MessageDigest md = sha256();
    byte[] buf = new byte[32 * 1024];
    int n;
    while ((n = in.read(buf)) >= 0) {
      md.update(buf, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Writes {@code size} pseudo-random bytes (seeded) in uneven pieces; returns their SHA-256 hex. */
  static String writeRandom(OutputStream out, long seed, long size) throws IOException {
    MessageDigest md = sha256();
    Random r = new Random(seed);
    byte[] buf = new byte[100_003];
    long left = size;
    while (left > 0) {
      int n = (int) Math.min(left, 1 + r.nextInt(buf.length));
      r.nextBytes(buf);
      out.write(buf, 0, n);
      md.update(buf, 0, n);
      left -= n;
    }
    return HexFormat.of().formatHex(md.digest());
  }

  static String readAll(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
