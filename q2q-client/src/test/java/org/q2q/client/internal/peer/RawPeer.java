package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import java.time.Clock;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.certstore.Identity;
import org.q2q.proto.PeerFrame;

/**
 * A scripted peer for wire-level tests: real TLS as the session initiator, then raw frames written
 * and read by the test (script, play, verify), with none of the multiplexer's rules applied.
 */
final class RawPeer implements AutoCloseable {
  /** Marker queued when the connection closed. */
  static final Object CLOSED = new Object();

  final Channel channel;
  /** Frames received (PeerFrame; data frames become PeerFrames too, payload copied), then CLOSED. */
  final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
  private final CompletableFuture<Void> tls = new CompletableFuture<>();

  private RawPeer(Loopback net, Identity me) throws Exception {
    this(net, me, 0);
  }

  /** @param receiveBuffer SO_RCVBUF in bytes, or 0 for the default (small: a peer that reads little) */
  private RawPeer(Loopback net, Identity me, int receiveBuffer) throws Exception {
    SslContext ssl = SslContextBuilder.forClient()
        .sslProvider(SslProvider.JDK)
        .protocols("TLSv1.3")
        .keyManager(me.privateKey(), me.chainArray())
        .trustManager(new AddressTrustManager(TestPki.TRUST_BOTH, AddressTrustManager.AddressCheck.any(), Clock.systemUTC()))
        .build();
    channel = net.connect(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        if (receiveBuffer > 0) {
          ch.config().setReceiveBufferSize(receiveBuffer); // before connect, so the window stays small
        }
        SslHandler h = ssl.newHandler(ch.alloc());
        ch.pipeline().addLast(h, new PeerFrameDecoder(8 << 20), PeerFrameEncoder.INSTANCE, new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof InboundData d) {
              byte[] bytes = new byte[d.payload().readableBytes()];
              d.payload().readBytes(bytes);
              d.payload().release();
              received.add(PeerFrame.newBuilder().setData(org.q2q.proto.ChannelData.newBuilder()
                  .setChannelId((int) d.channelId()).setPayload(com.google.protobuf.ByteString.copyFrom(bytes))).build());
            } else {
              received.add(msg);
            }
          }

          @Override
          public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent e) {
              if (e.isSuccess()) {
                tls.complete(null);
              } else {
                tls.completeExceptionally(e.cause());
              }
            }
          }

          @Override
          public void channelInactive(ChannelHandlerContext ctx) {
            received.add(CLOSED);
          }

          @Override
          public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            received.add(cause);
          }
        });
      }
    });
    tls.get(10, TimeUnit.SECONDS);
  }

  /** Connects as {@code me}, completes TLS, and (if {@code hello}) exchanges Hello. */
  static RawPeer connect(Loopback net, Identity me, boolean hello) throws Exception {
    RawPeer p = new RawPeer(net, me);
    if (hello) {
      p.send(Frames.hello("raw"));
      assertThat(p.next().hasHello()).isTrue();
    }
    return p;
  }

  /** Like {@link #connect(Loopback, Identity, boolean)} with a small socket receive buffer. */
  static RawPeer connect(Loopback net, Identity me, boolean hello, int receiveBuffer) throws Exception {
    RawPeer p = new RawPeer(net, me, receiveBuffer);
    if (hello) {
      p.send(Frames.hello("raw"));
      assertThat(p.next().hasHello()).isTrue();
    }
    return p;
  }

  /** Stops (false) or resumes (true) reading the socket: a peer that does not read. */
  void reading(boolean on) {
    channel.eventLoop().submit(() -> {
      channel.config().setAutoRead(on);
      if (on) {
        channel.read();
      }
    }).syncUninterruptibly();
  }

  /**
   * Writes {@code count} frames made by {@code frame} (given 0, 1, ...), flushing every 1000 and
   * waiting while the socket is not writable, so the sender itself stays bounded.
   */
  void flood(int count, java.util.function.IntFunction<PeerFrame> frame) {
    for (int i = 0; i < count; i++) {
      io.netty.channel.ChannelFuture f = channel.write(frame.apply(i));
      if (i % 1000 == 999 || i == count - 1) {
        channel.flush();
        if (!channel.isWritable()) {
          f.syncUninterruptibly();
        }
      }
    }
  }

  void send(PeerFrame frame) {
    channel.writeAndFlush(frame).syncUninterruptibly();
  }

  /** @param bytes raw bytes after TLS, released by this method */
  void sendRaw(ByteBuf bytes) {
    channel.writeAndFlush(bytes).syncUninterruptibly();
  }

  /** The next frame other than Ping/Pong; fails if the connection closed or nothing came. */
  PeerFrame next() throws InterruptedException {
    for (; ; ) {
      Object o = received.poll(10, TimeUnit.SECONDS);
      assertThat(o).as("a frame within 10 s").isNotNull().isInstanceOf(PeerFrame.class);
      PeerFrame f = (PeerFrame) o;
      if (!f.hasPing() && !f.hasPong()) {
        return f;
      }
    }
  }

  /** The next frame of {@code kind}, skipping others (e.g. chokes before a reset). */
  PeerFrame next(PeerFrame.KindCase kind) throws InterruptedException {
    for (; ; ) {
      PeerFrame f = next();
      if (f.getKindCase() == kind) {
        return f;
      }
    }
  }

  /** Waits for the connection to close, skipping frames; true if it did. */
  boolean awaitClosed() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (; ; ) {
      long left = deadline - System.nanoTime();
      Object o = received.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
      if (o == CLOSED) {
        return true;
      }
      if (o == null) {
        return false;
      }
    }
  }

  /** Sends a ping and expects its pong: the session is alive and in sync. */
  void assertAlive(long nonce) throws InterruptedException {
    send(Frames.ping(nonce));
    for (; ; ) {
      Object o = received.poll(10, TimeUnit.SECONDS);
      assertThat(o).as("pong " + nonce).isNotNull().isInstanceOf(PeerFrame.class);
      PeerFrame f = (PeerFrame) o;
      if (f.hasPong() && f.getPong().getNonce() == nonce) {
        return;
      }
    }
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
  }
}
