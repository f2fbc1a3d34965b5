package org.q2q.client.internal.relay;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.grpc.Status;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import org.q2q.client.internal.net.SocketTransport;
import org.q2q.client.ServerAddress;
import org.q2q.proto.RelayHello;
import org.q2q.proto.RelayRole;
import org.q2q.proto.RelaySocketFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A relay through a presence server's relay socket (the server's {@code RelaySocketPort}): a TCP
 * connection with TLS to the server (ALPN {@code q2q-relay/1}, this client's certificate) that,
 * once the server has spliced it to the other side, leaves that TLS session and becomes a plain
 * byte pipe to the peer, with the server copying bytes unread in between. The peer session then
 * runs its own end-to-end TLS on it as on direct TCP, and the socket's own flow control is the
 * relay's.
 *
 * <ol>
 *   <li>TLS handshake; send one varint32-length-prefixed {@link RelayHello};
 *   <li>read one varint32-length-prefixed {@link RelaySocketFrame}: {@code refused} fails the
 *       attempt with the server's reason; {@code spliced} continues;
 *   <li>remove the TLS handler (no close_notify), send the byte 0x51 (the server starts the splice
 *       only once both sides sent it, so no raw byte can reach a client still decrypting), and
 *       hand over the channel with an empty pipeline, on its event loop.
 * </ol>
 */
public final class RelaySocket extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(RelaySocket.class);
  /** The byte that tells the server this side left TLS. */
  static final int ACK = 0x51;
  private static final int MAX_ANSWER_BYTES = 64 << 10;
  /** Short: a relay socket port that a firewall drops falls back to the Relay RPC after this. */
  private static final int CONNECT_TIMEOUT_MILLIS = 3_000;

  /** The relay socket could not be reached at all (nothing was said to the server). */
  public static final class UnreachableException extends IOException {
    private static final long serialVersionUID = 1L;

    UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final String listenerId;
  private final RelayRole role;
  private final String via;
  private final CompletableFuture<Channel> result = new CompletableFuture<>();
  private ByteBuf answer;
  /** Removing the TLS handler: what it still held comes raw. */
  private boolean leaving;

  private RelaySocket(String listenerId, RelayRole role, String via) {
    this.listenerId = listenerId;
    this.role = role;
    this.via = via;
  }

  /**
   * Connects to the relay socket at {@code server}'s host, port {@code port}.
   *
   * @return completes on {@code loop} with the spliced channel (empty pipeline, auto-read on), or
   *     fails with an IOException that says why ({@link UnreachableException} if the port could
   *     not be reached); cancelling it closes the connection
   */
  public static CompletableFuture<Channel> open(EventLoop loop, ServerAddress server, int port, SslContext tls,
      String listenerId, RelayRole role) {
    String via = server.host() + ":" + port;
    RelaySocket handler = new RelaySocket(listenerId, role, via);
    ChannelFuture cf = new Bootstrap().group(loop).channel(SocketTransport.of(loop).socketChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
        .handler(new ChannelInboundHandlerAdapter() {
          @Override
          public void handlerAdded(ChannelHandlerContext ctx) {
            SslHandler ssl = tls.newHandler(ctx.alloc(), server.host(), port);
            ctx.pipeline().addLast(ssl, handler);
            ctx.pipeline().remove(this);
          }
        })
        .connect(server.host(), port);
    cf.addListener(f -> {
      if (!f.isSuccess()) {
        Throwable c = f.cause();
        handler.result.completeExceptionally(new UnreachableException("cannot reach the relay socket at " + via + ": "
            + (c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage()), c));
      }
    });
    handler.result.whenComplete((ch, e) -> {
      if (e != null) {
        cf.channel().close(); // failed or cancelled: the server frees its side
      }
    });
    return handler.result;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof SslHandshakeCompletionEvent e) {
      if (!e.isSuccess()) {
        fail(ctx, new IOException("relay socket TLS to " + via + " failed: " + e.cause().getMessage(), e.cause()));
        return;
      }
      RelayHello hello = RelayHello.newBuilder().setListenerId(listenerId).setRole(role).build();
      byte[] out = new byte[CodedOutputStream.computeUInt32SizeNoTag(hello.getSerializedSize())
          + hello.getSerializedSize()];
      CodedOutputStream o = CodedOutputStream.newInstance(out);
      try {
        o.writeUInt32NoTag(hello.getSerializedSize());
        hello.writeTo(o);
      } catch (IOException x) {
        throw new IllegalStateException(x); // an array of the exact size
      }
      ctx.writeAndFlush(Unpooled.wrappedBuffer(out));
      log.debug("relay-{}/{} hello sent to {}", role, shortId(), via);
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf buf = (ByteBuf) msg;
    if (leaving) { // bytes forwarded while leaving TLS: kept for the session
      answer = answer == null ? buf : Unpooled.wrappedBuffer(answer, buf);
      return;
    }
    answer = answer == null ? buf : Unpooled.wrappedBuffer(answer, buf);
    int length;
    int lengthBytes;
    try {
      CodedInputStream in = CodedInputStream.newInstance(
          answer.nioBuffer(answer.readerIndex(), Math.min(answer.readableBytes(), 5)));
      length = in.readRawVarint32();
      lengthBytes = in.getTotalBytesRead();
    } catch (IOException e) {
      if (answer.readableBytes() >= 5) {
        fail(ctx, new IOException("relay socket at " + via + " sent a malformed answer"));
      }
      return;
    }
    if (length < 0 || length > MAX_ANSWER_BYTES) {
      fail(ctx, new IOException("relay socket at " + via + " sent an answer of " + length + " bytes"));
      return;
    }
    if (answer.readableBytes() < lengthBytes + length) {
      return;
    }
    RelaySocketFrame f;
    try {
      f = RelaySocketFrame.parseFrom(new ByteBufInputStream(answer.skipBytes(lengthBytes), length));
    } catch (IOException e) {
      fail(ctx, new IOException("relay socket at " + via + " sent a malformed answer: " + e.getMessage(), e));
      return;
    }
    ByteBuf rest = answer.isReadable() ? answer.retainedSlice() : null;
    answer.release();
    answer = rest;
    switch (f.getKindCase()) {
      case SPLICED -> spliced(ctx);
      case REFUSED -> {
        Status s = Status.fromCodeValue(f.getRefused().getCode());
        String d = f.getRefused().getDescription().isEmpty() ? "" : ": " + f.getRefused().getDescription();
        fail(ctx, new IOException("relay failed (" + s.getCode() + d + ")"));
      }
      default -> fail(ctx, new IOException("relay socket at " + via + " sent an unknown answer"));
    }
  }

  private void spliced(ChannelHandlerContext ctx) {
    Channel ch = ctx.channel();
    log.debug("relay-{}/{} spliced through {}", role, shortId(), via);
    // Leaving TLS: whatever the TLS handler still holds undecrypted comes to channelRead above.
    leaving = true;
    ch.pipeline().remove(SslHandler.class);
    ByteBuf early = answer;
    answer = null;
    ch.pipeline().remove(this);
    ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {(byte) ACK}));
    if (!result.complete(ch)) {
      ch.close();
      if (early != null) {
        early.release();
      }
      return;
    }
    // The session has installed its handlers by now if it started on this loop; if the server
    // sent raw bytes before our acknowledgement (it must not), they go to them.
    if (early != null) {
      ch.pipeline().fireChannelRead(early);
      ch.pipeline().fireChannelReadComplete();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    fail(ctx, new IOException("the relay server at " + via + " closed the connection before the splice"));
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    fail(ctx, new IOException("relay socket to " + via + " failed: " + cause.getMessage(), cause));
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (answer != null && !leaving) {
      answer.release();
      answer = null;
    }
  }

  private void fail(ChannelHandlerContext ctx, IOException e) {
    if (answer != null) {
      answer.release();
      answer = null;
    }
    if (result.completeExceptionally(e)) {
      log.debug("relay-{}/{}: {}", role, shortId(), e.getMessage());
    }
    ctx.close();
  }

  private String shortId() {
    return listenerId.length() > 8 ? listenerId.substring(0, 8) : listenerId;
  }
}
