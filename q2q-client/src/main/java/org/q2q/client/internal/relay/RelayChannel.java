package org.q2q.client.internal.relay;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AbstractChannel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayFrame;
import org.q2q.proto.RelayHello;
import org.q2q.proto.RelayRole;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Netty {@code Channel} carried by one gRPC {@code Presence.Relay} stream: bytes written to it
 * travel as {@code RelayFrame.data} to the presence server, which splices them to the other peer's
 * relay stream; frames from the server come back out as {@code ByteBuf} reads. The peer session
 * installs TLS on it like on a TCP socket, so the server only ever sees ciphertext.
 *
 * <ul>
 *   <li>Opening: {@link #open} registers the channel, starts the call, sends {@code RelayHello}
 *       and completes once the server reports {@code RelaySpliced} (the channel is active from
 *       then on).
 *   <li>Backpressure out: frames are handed to gRPC only while the call {@code isReady()};
 *       otherwise they stay in the outbound buffer, so the channel's writability follows the
 *       relay's flow control.
 *   <li>Backpressure in: messages are requested from gRPC ({@code request(n)}) only while a Netty
 *       {@code read()} is pending, at most {@link #MAX_REQUESTED} ahead, so an unread channel
 *       leaves the bytes in the HTTP/2 flow-control window (bounded) instead of the heap.
 *   <li>Ending: {@code shutdownOutput} half-closes the gRPC call; close cancels it, which ends
 *       the splice for both sides at once; the server ending the call, or an error, closes the
 *       channel.
 * </ul>
 *
 * <p>All gRPC callbacks run on this channel's event loop (the call's executor), so the state below
 * is touched by that thread only.
 */
public final class RelayChannel extends AbstractChannel {
  private static final Logger log = LoggerFactory.getLogger(RelayChannel.class);
  private static final ChannelMetadata METADATA = new ChannelMetadata(false);
  private static final io.netty.buffer.ByteBufAllocator HEAP = new io.netty.buffer.PooledByteBufAllocator(false);

  /** Largest data frame sent, in bytes (well under gRPC's default 4 MiB message limit). */
  static final int MAX_FRAME = Integer.getInteger("q2q.relay.maxFrame", 64 * 1024);
  /** Messages requested from gRPC ahead of the application's reads. */
  static final int MAX_REQUESTED = Integer.getInteger("q2q.relay.maxRequested", 4);
  /** How many bytes gRPC may buffer for us before it says "not ready". */
  static final int ON_READY_THRESHOLD = 256 * 1024;

  private enum State { NEW, WAITING, SPLICED, CLOSED }

  private final DefaultChannelConfig config;
  private final String listenerId;
  private final RelayRole role;
  private final RelayAddress local;
  private final RelayAddress remote;
  private final CompletableFuture<RelayChannel> splicedFuture = new CompletableFuture<>();

  // Event loop only.
  private State state = State.NEW;
  private ClientCallStreamObserver<RelayFrame> call;
  private final ArrayDeque<ByteString> inbound = new ArrayDeque<>();
  private int requested;
  private boolean readPending;
  private boolean writePending;
  private boolean halfClosed;
  private boolean callEnded;

  private RelayChannel(String listenerId, RelayRole role, String via) {
    super(null);
    this.listenerId = listenerId;
    this.role = role;
    this.config = new DefaultChannelConfig(this);
    // Writability turns false once this much waits for the relay: the session above stops.
    config.setWriteBufferWaterMark(new WriteBufferWaterMark(128 * 1024, 512 * 1024));
    // Heap buffers: the bytes are copied to and from protobuf byte arrays anyway, and the JDK's
    // AES-GCM (the peer session's TLS on this channel) is several times slower on direct buffers.
    config.setAllocator(HEAP);
    String shortId = listenerId.length() > 8 ? listenerId.substring(0, 8) : listenerId;
    this.local = new RelayAddress("relay-" + role.name().toLowerCase().replace("relay_role_", "") + "/" + shortId);
    this.remote = new RelayAddress("relay:" + via);
  }

  /**
   * Opens a relay stream for {@code listenerId} in {@code role} on {@code stub}'s server.
   *
   * @param via a description of the server, for logs and addresses ("host:port")
   * @return completes with the active channel once the server has spliced it to the other side,
   *     or fails with an {@link IOException} describing the gRPC failure
   */
  public static CompletableFuture<RelayChannel> open(
      PresenceGrpc.PresenceStub stub, EventLoop loop, String listenerId, RelayRole role, String via) {
    RelayChannel ch = new RelayChannel(listenerId, role, via);
    ch.splicedFuture.whenComplete((c, e) -> {
      if (ch.splicedFuture.isCancelled()) {
        ch.close(); // the attempt was abandoned: end the stream, the server frees its side
      }
    });
    loop.register(ch).addListener(f -> {
      if (!f.isSuccess()) {
        ch.splicedFuture.completeExceptionally(f.cause());
        return;
      }
      ch.start(stub);
    });
    return ch.splicedFuture;
  }

  /** The listener id this relay stream belongs to. */
  public String listenerId() {
    return listenerId;
  }

  private void start(PresenceGrpc.PresenceStub stub) {
    if (state != State.NEW) {
      return;
    }
    state = State.WAITING;
    stub.withExecutor(eventLoop())
        .withOnReadyThreshold(ON_READY_THRESHOLD)
        .relay(new Observer());
    call.onNext(RelayFrame.newBuilder()
        .setHello(RelayHello.newBuilder().setListenerId(listenerId).setRole(role))
        .build());
    log.debug("{} relay stream opened, waiting for the other side", local);
  }

  private final class Observer implements ClientResponseObserver<RelayFrame, RelayFrame> {
    @Override
    public void beforeStart(ClientCallStreamObserver<RelayFrame> requestStream) {
      call = requestStream;
      requestStream.disableAutoRequestWithInitial(1);
      requestStream.setOnReadyHandler(RelayChannel.this::onReady);
    }

    @Override
    public void onNext(RelayFrame frame) {
      requested--;
      switch (frame.getKindCase()) {
        case SPLICED -> spliced();
        case DATA -> {
          spliced(); // tolerate a server that sends data without a splice notice first
          if (state == State.SPLICED && !frame.getData().isEmpty()) {
            inbound.add(frame.getData());
            deliver();
          } else {
            maybeRequest();
          }
        }
        default -> maybeRequest(); // hello echoes and unknown kinds carry nothing for us
      }
    }

    @Override
    public void onError(Throwable t) {
      callEnded = true;
      IOException e = describe(t);
      if (!splicedFuture.isDone()) {
        splicedFuture.completeExceptionally(e);
        unsafe().close(unsafe().voidPromise());
        return;
      }
      if (state != State.CLOSED) {
        if (Status.fromThrowable(t).getCode() == Status.Code.CANCELLED) {
          // The other side left (closed its client or its session): the end of the byte stream,
          // as a TCP FIN would be; the session above decides whether that was orderly.
          log.debug("{} relay ended: {}", local, e.getMessage());
        } else {
          log.debug("{} relay stream failed: {}", local, e.getMessage());
          pipeline().fireExceptionCaught(e);
        }
        unsafe().close(unsafe().voidPromise());
      }
    }

    @Override
    public void onCompleted() {
      callEnded = true;
      if (!splicedFuture.isDone()) {
        splicedFuture.completeExceptionally(
            new IOException("the relay server ended the stream before the other side joined"));
      }
      log.debug("{} relay stream ended by the server", local);
      unsafe().close(unsafe().voidPromise());
    }
  }

  /** Maps a gRPC failure to an IOException whose message is fit for users. */
  static IOException describe(Throwable t) {
    if (t instanceof StatusRuntimeException sre) {
      Status s = sre.getStatus();
      String d = s.getDescription() == null ? "" : ": " + s.getDescription();
      return new IOException("relay failed (" + s.getCode() + d + ")", t);
    }
    return t instanceof IOException io ? io : new IOException("relay failed: " + t, t);
  }

  private void spliced() {
    if (state != State.WAITING) {
      return;
    }
    state = State.SPLICED;
    log.debug("{} relay spliced", local);
    pipeline().fireChannelActive();
    splicedFuture.complete(this);
    if (config.isAutoRead()) {
      read();
    }
    maybeRequest();
  }

  private void onReady() {
    if (writePending && state == State.SPLICED) {
      writePending = false;
      ((RelayUnsafe) unsafe()).flushNow();
    }
  }

  /** Hands buffered frames to the pipeline if the application asked for a read. */
  private void deliver() {
    if (!readPending || state != State.SPLICED) {
      return;
    }
    if (inbound.isEmpty()) {
      maybeRequest();
      return;
    }
    readPending = false;
    ByteString bs;
    while ((bs = inbound.poll()) != null) {
      ByteBuf buf = alloc().buffer(bs.size());
      for (ByteBuffer part : bs.asReadOnlyByteBufferList()) {
        buf.writeBytes(part);
      }
      pipeline().fireChannelRead(buf);
    }
    pipeline().fireChannelReadComplete();
    maybeRequest();
  }

  private void maybeRequest() {
    if (call == null || callEnded || state == State.CLOSED) {
      return;
    }
    // Before the splice we only need the notice; afterwards only while a read is wanted.
    int want = state == State.WAITING ? 1 : (readPending ? MAX_REQUESTED : 0);
    int n = want - requested - inbound.size();
    if (n > 0) {
      requested += n;
      call.request(n);
    }
  }

  @Override
  protected void doBeginRead() {
    readPending = true;
    deliver();
  }

  @Override
  protected void doWrite(ChannelOutboundBuffer in) throws Exception {
    if (state != State.SPLICED || halfClosed) {
      throw new ClosedChannelException();
    }
    while (!in.isEmpty()) {
      if (!call.isReady()) {
        writePending = true; // resumed by onReady
        return;
      }
      ByteBuffer[] parts = in.nioBuffers(1024, MAX_FRAME);
      int count = in.nioBufferCount();
      long size = in.nioBufferSize();
      if (size == 0) {
        in.remove(); // an empty buffer
        continue;
      }
      byte[] bytes = new byte[(int) size];
      int at = 0;
      for (int i = 0; i < count; i++) {
        ByteBuffer p = parts[i].duplicate();
        int n = p.remaining();
        p.get(bytes, at, n);
        at += n;
      }
      in.removeBytes(size);
      call.onNext(RelayFrame.newBuilder().setData(UnsafeByteOperations.unsafeWrap(bytes)).build());
    }
  }

  @Override
  protected Object filterOutboundMessage(Object msg) {
    if (msg instanceof ByteBuf) {
      return msg;
    }
    throw new UnsupportedOperationException("a relay channel carries ByteBufs only, not " + msg.getClass().getName());
  }

  @Override
  protected void doShutdownOutput() {
    if (call != null && !halfClosed && !callEnded) {
      halfClosed = true;
      call.onCompleted();
    }
  }

  @Override
  protected void doClose() {
    State was = state;
    state = State.CLOSED;
    inbound.clear();
    if (!splicedFuture.isDone()) {
      splicedFuture.completeExceptionally(new ClosedChannelException());
    }
    if (call != null && !callEnded) {
      // Cancel rather than half-close: the peer session above has already said goodbye in its
      // own frames, and a cancel ends the splice at once on the server and for the other side
      // (a half-close leaves the other direction, and so the server's call, open).
      callEnded = true;
      call.cancel("relay channel closed", null);
    }
  }

  @Override
  protected void doDisconnect() {
    doClose();
  }

  @Override
  protected void doBind(SocketAddress localAddress) {
    throw new UnsupportedOperationException("a relay channel cannot be bound");
  }

  @Override
  protected boolean isCompatible(EventLoop loop) {
    return true; // no I/O registration of its own: gRPC does the I/O
  }

  @Override
  protected SocketAddress localAddress0() {
    return local;
  }

  @Override
  protected SocketAddress remoteAddress0() {
    return remote;
  }

  @Override
  protected AbstractUnsafe newUnsafe() {
    return new RelayUnsafe();
  }

  @Override
  public ChannelConfig config() {
    return config;
  }

  @Override
  public boolean isOpen() {
    return state != State.CLOSED;
  }

  @Override
  public boolean isActive() {
    return state == State.SPLICED;
  }

  @Override
  public ChannelMetadata metadata() {
    return METADATA;
  }

  @Override
  public String toString() {
    return local + "->" + remote;
  }

  private final class RelayUnsafe extends AbstractUnsafe {
    @Override
    public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
      promise.setFailure(new UnsupportedOperationException("a relay channel is connected by the relay server"));
    }

    void flushNow() {
      flush0();
    }
  }

  /** The pseudo socket address of a relay end, for logs. */
  static final class RelayAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;
    private final String text;

    RelayAddress(String text) {
      this.text = text;
    }

    @Override
    public String toString() {
      return text;
    }
  }
}
