package org.q2q.server.internal.relay;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.q2q.certstore.Address;
import org.q2q.proto.RelayHello;
import org.q2q.proto.RelayRefused;
import org.q2q.proto.RelayRole;
import org.q2q.proto.RelaySocketFrame;
import org.q2q.proto.RelaySpliced;
import org.q2q.server.internal.Futures;
import org.q2q.server.internal.presence.Caller;
import org.q2q.server.internal.presence.ListenerTickets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to the relay socket ({@link RelaySocketPort}), either side, and the handler at the
 * end of its pipeline. Inside the TLS session (ALPN {@value RelaySocketPort#ALPN}, client
 * certificate required): one length-prefixed {@link RelayHello} in, one {@link RelaySocketFrame}
 * out. Once spliced ({@link SocketSplice}) the TLS handler is gone and this handler passes raw
 * bytes to the splice.
 *
 * <p>States: HELLO (TLS handshake and hello; counted as anonymous) → WAITING (a connector whose
 * listener has not joined) → ACK (spliced; waiting for the client's 0x51 that says it left TLS) →
 * SPLICED → DONE. Everything runs on the channel's event loop, which is the relay's only loop.
 */
final class RelaySocket extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(RelaySocket.class);
  /** The byte a client sends first after leaving TLS. */
  static final int ACK = 0x51;
  /** Largest hello accepted (a listener id and a role need far less). */
  static final int MAX_HELLO_BYTES = 1024;

  enum State { HELLO, WAITING, ACK, SPLICED, DONE }

  final String id;
  final Channel channel;
  private final RelayRendezvous rendezvous;
  private final Function<List<X509Certificate>, CompletableFuture<Caller>> callers;
  private final int port;

  // On the event loop only.
  State state = State.HELLO;
  RelayRole role = RelayRole.RELAY_ROLE_UNSPECIFIED;
  Address address;
  String listenerId = "-";
  SocketSplice splice;
  /** This socket counts against its address's stream limit. */
  boolean limited;
  private boolean anonymous;
  private boolean counted;
  private ByteBuf hello;
  private ScheduledFuture<?> timer;

  RelaySocket(String id, Channel channel, RelayRendezvous rendezvous,
      Function<List<X509Certificate>, CompletableFuture<Caller>> callers, int port) {
    this.id = id;
    this.channel = channel;
    this.rendezvous = rendezvous;
    this.callers = callers;
    this.port = port;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    RelayLimits limits = rendezvous.limits();
    limits.streamStarted();
    counted = true;
    try {
      limits.openAnonymous();
      anonymous = true;
    } catch (StatusRuntimeException e) {
      log.warn("{}: relay socket refused: {}", id, e.getStatus().getDescription());
      channel.close(); // before TLS: nothing can be said to it
      return;
    }
    long ms = rendezvous.joinTimeout().toMillis();
    timer = channel.eventLoop().schedule(() -> {
      if (state == State.HELLO) {
        refuse(Status.INVALID_ARGUMENT.withDescription("no relay hello within " + ms + " ms of connecting"));
      }
    }, ms, TimeUnit.MILLISECONDS);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof SslHandshakeCompletionEvent e) {
      if (!e.isSuccess()) {
        log.debug("{}: TLS handshake failed: {}", id, e.cause().toString());
        channel.close();
        return;
      }
      String alpn = channel.pipeline().get(SslHandler.class).applicationProtocol();
      if (!RelaySocketPort.ALPN.equals(alpn)) {
        refuse(Status.INVALID_ARGUMENT.withDescription("the relay socket speaks ALPN '" + RelaySocketPort.ALPN
            + "' only, not '" + alpn + "'"));
      }
    } else if (evt instanceof ChannelInputShutdownEvent) {
      if (state == State.ACK || state == State.SPLICED) {
        splice.inputShutdown(this);
      } else {
        channel.close(); // it gave up before the splice
      }
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf buf = (ByteBuf) msg;
    switch (state) {
      case HELLO -> helloBytes(buf);
      case ACK, SPLICED -> splice.read(this, buf);
      case WAITING, DONE -> {
        buf.release();
        if (state == State.WAITING) {
          refuse(Status.INVALID_ARGUMENT.withDescription("data before the relay was spliced"));
        }
      }
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (splice != null && (state == State.ACK || state == State.SPLICED)) {
      splice.readComplete(this);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (splice != null) {
      splice.writabilityChanged(this);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("{} {} {}: {}", id, listenerId, address, cause.toString());
    channel.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    State was = state;
    state = State.DONE;
    if (hello != null) {
      hello.release();
      hello = null;
    }
    if (splice != null) {
      if (was == State.WAITING) {
        rendezvous.abandon(splice); // the id stays used up; a late listener finds no one waiting
      }
      splice.gone(this, was);
    }
    release();
  }

  private void helloBytes(ByteBuf buf) {
    if (hello == null) {
      hello = buf;
    } else {
      hello = Unpooled.wrappedBuffer(hello, buf);
    }
    int length;
    int lengthBytes;
    try {
      int at = hello.readerIndex();
      CodedInputStream in = CodedInputStream.newInstance(hello.nioBuffer(at, Math.min(hello.readableBytes(), 5)));
      length = in.readRawVarint32();
      lengthBytes = in.getTotalBytesRead();
    } catch (IOException e) { // not enough bytes for the length yet (or a malformed one)
      if (hello.readableBytes() >= 5) {
        refuse(Status.INVALID_ARGUMENT.withDescription("malformed relay hello length"));
      }
      return;
    }
    if (length < 0 || length > MAX_HELLO_BYTES) {
      refuse(Status.INVALID_ARGUMENT.withDescription("relay hello of " + length + " bytes (at most "
          + MAX_HELLO_BYTES + ")"));
      return;
    }
    if (hello.readableBytes() < lengthBytes + length) {
      return;
    }
    if (hello.readableBytes() > lengthBytes + length) {
      refuse(Status.INVALID_ARGUMENT.withDescription("data after the relay hello, before the splice"));
      return;
    }
    RelayHello h;
    try {
      h = RelayHello.parseFrom(new ByteBufInputStream(hello.skipBytes(lengthBytes), length));
    } catch (IOException e) {
      refuse(Status.INVALID_ARGUMENT.withDescription("malformed relay hello: " + e.getMessage()));
      return;
    } finally {
      hello.release();
      hello = null;
    }
    channel.config().setAutoRead(false); // nothing more until the splice
    role = h.getRole();
    listenerId = ListenerTickets.shorten(h.getListenerId());
    List<X509Certificate> chain = peerChain();
    callers.apply(chain).whenComplete((c, e) -> channel.eventLoop().execute(() -> resolved(h, c, e)));
  }

  private List<X509Certificate> peerChain() {
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : channel.pipeline().get(SslHandler.class).engine().getSession().getPeerCertificates()) {
        if (c instanceof X509Certificate x) {
          out.add(x);
        }
      }
      return out;
    } catch (SSLPeerUnverifiedException e) {
      return List.of();
    }
  }

  private void resolved(RelayHello h, Caller caller, Throwable failure) {
    if (state != State.HELLO) {
      return;
    }
    if (anonymous) {
      anonymous = false;
      rendezvous.limits().closeAnonymous();
    }
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    try {
      if (failure != null) {
        throw Status.fromThrowable(Futures.unwrap(failure)).asRuntimeException();
      }
      address = caller.address();
      if (h.getListenerId().isEmpty()) {
        throw Status.INVALID_ARGUMENT.withDescription("the relay hello names no listener id").asRuntimeException();
      }
      switch (h.getRole()) {
        case RELAY_ROLE_CONNECTOR -> {
          splice = rendezvous.connectSocket(this, caller, h.getListenerId(), port);
          state = State.WAITING;
          channel.config().setAutoRead(true); // to notice at once if it leaves (data now is refused)
          long ms = rendezvous.joinTimeout().toMillis();
          SocketSplice waiting = splice;
          timer = channel.eventLoop().schedule(() -> {
            if (state == State.WAITING) {
              rendezvous.abandon(waiting);
              log.info("{} {}: {} did not join within {} ms", listenerId, address, waiting.ticket().to(), ms);
              refuse(Status.UNAVAILABLE.withDescription(rendezvous.joinTimeoutMessage(waiting.ticket())));
            }
          }, ms, TimeUnit.MILLISECONDS);
        }
        case RELAY_ROLE_LISTENER -> {
          SocketSplice s = rendezvous.joinSocket(this, caller, h.getListenerId());
          splice = s;
          s.join(this);
        }
        default -> throw Status.INVALID_ARGUMENT
            .withDescription("the relay hello's role must be CONNECTOR or LISTENER, not " + h.getRole())
            .asRuntimeException();
      }
    } catch (StatusRuntimeException e) {
      log.info("{} {} {}: relay refused: {}", id, listenerId, address == null ? "-" : address, e.getStatus());
      refuse(e.getStatus());
    }
  }

  /** Sends the splice notice inside TLS and leaves TLS; the client's ACK comes raw. */
  void spliced() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    state = State.ACK;
    channel.writeAndFlush(frame(RelaySocketFrame.newBuilder().setSpliced(RelaySpliced.getDefaultInstance()).build()));
    // The notice is encrypted and handed to the socket by the flush above; from here on the
    // client sends raw bytes only (it waits for this notice before leaving TLS).
    channel.pipeline().remove(SslHandler.class);
  }

  /** Refuses this socket with {@code status} (inside TLS, before the splice) and closes it. */
  void refuse(Status status) {
    if (state == State.DONE) {
      return;
    }
    if (state == State.WAITING && splice != null) {
      rendezvous.abandon(splice);
    }
    state = State.DONE;
    SslHandler ssl = channel.pipeline().get(SslHandler.class);
    if (ssl != null && channel.isActive() && ssl.handshakeFuture().isSuccess()) { // a reason needs TLS up
      RelayRefused r = RelayRefused.newBuilder()
          .setCode(status.getCode().value())
          .setDescription(status.getDescription() == null ? "" : status.getDescription())
          .build();
      channel.writeAndFlush(frame(RelaySocketFrame.newBuilder().setRefused(r).build()))
          .addListener(ChannelFutureListener.CLOSE);
    } else {
      channel.close();
    }
  }

  private ByteBuf frame(RelaySocketFrame f) {
    int n = f.getSerializedSize();
    byte[] out = new byte[CodedOutputStream.computeUInt32SizeNoTag(n) + n];
    CodedOutputStream o = CodedOutputStream.newInstance(out);
    try {
      o.writeUInt32NoTag(n);
      f.writeTo(o);
    } catch (IOException e) {
      throw new IllegalStateException(e); // a byte array of the exact size
    }
    return Unpooled.wrappedBuffer(out);
  }

  private void release() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (anonymous) {
      anonymous = false;
      rendezvous.limits().closeAnonymous();
    }
    if (limited) {
      limited = false;
      rendezvous.limits().closeStream(address);
    }
    if (counted) {
      counted = false;
      rendezvous.limits().streamEnded();
    }
  }

  @Override
  public String toString() {
    return id + " " + role + " " + address;
  }
}
