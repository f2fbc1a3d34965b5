package org.q2q.ptcp.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.AbstractChannel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.Promise;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import org.q2q.ptcp.PtcpConnection;
import org.q2q.ptcp.PtcpEvent;
import org.q2q.ptcp.PtcpException;
import org.q2q.ptcp.PtcpState;

/**
 * One PTCP connection as a Netty channel: a byte stream of {@link ByteBuf}s, like a TCP socket channel,
 * so {@code SslHandler} and frame codecs run over it unchanged. Its parent is the socket's
 * {@code DatagramChannel}, and it shares that channel's event loop.
 *
 * <ul>
 *   <li>Writes copy into the connection's send buffer; a full buffer leaves bytes in the outbound
 *       buffer (channel writability follows Netty's water marks) until the peer acknowledges data.
 *   <li>Reads deliver up to 64 KiB per {@code ByteBuf} (released by the pipeline's consumer).
 *   <li>{@link #close()} is graceful (FIN after pending data); {@link #reset()} sends an RST.
 *   <li>Half-close: {@link #shutdownOutput()}; the peer's FIN fires {@link ChannelInputShutdownEvent}
 *       and then closes the channel unless {@code ALLOW_HALF_CLOSURE} is set.
 *   <li>A connection failure fires {@code exceptionCaught} with a {@link PtcpException}, then closes.
 * </ul>
 *
 * <p>Thread-safety as for any Netty channel: operations from other threads are run on the event loop.
 */
public final class PtcpChannel extends AbstractChannel implements DuplexChannel {
  private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);
  private static final int READ_CHUNK = 64 * 1024;

  private final PtcpSocket socket;
  private final PtcpConnection conn;
  private final PtcpChannelConfig config;
  /** Outbound connect promise, null for accepted channels or once completed. Event-loop only. */
  private Promise<io.netty.channel.Channel> connectPromise;
  private volatile boolean open = true;
  private volatile boolean active;
  private volatile boolean inputShutdown;
  private boolean readPending;
  private boolean inputShutdownFired;
  private boolean coreClosed;
  /** A shutdownOutput waiting for the outbound buffer to drain into the core. Event-loop only. */
  private ChannelPromise pendingShutdown;

  PtcpChannel(PtcpSocket socket, PtcpConnection conn, Promise<io.netty.channel.Channel> connectPromise) {
    super(socket.datagramChannel());
    this.socket = socket;
    this.conn = conn;
    this.connectPromise = connectPromise;
    this.config = new PtcpChannelConfig(this);
    this.active = connectPromise == null;
  }

  /** The datagram size the connection uses now (path MTU discovery's current size), bytes. */
  public int datagramSize() {
    return conn.datagramSize();
  }

  /** The PTCP connection's local connection id. */
  public int connectionId() {
    return conn.localConnectionId();
  }

  /** The socket this channel belongs to. */
  public PtcpSocket socket() {
    return socket;
  }

  /** Smoothed round-trip time, ns (read on the event loop for an exact value). */
  public long smoothedRttNanos() {
    return conn.smoothedRttNanos();
  }

  /** A one-line summary of the connection's transport statistics (for logs and benchmarks). */
  public String stats() {
    return "state=" + conn.state() + " srtt=" + conn.smoothedRttNanos() / 1000 + "us rto="
        + conn.rtoNanos() / 1000 + "us cwnd=" + conn.congestionWindow() + " dgram=" + conn.datagramSize()
        + " sent=" + conn.segmentsSent() + " retx=" + conn.segmentsRetransmitted() + " rtos="
        + conn.retransmissionTimeouts() + " inflight=" + conn.bytesInFlight() + " " + conn.congestionState();
  }

  /** Aborts the connection: the peer gets an RST and sees a reset error. */
  public ChannelFuture reset() {
    ChannelPromise p = newPromise();
    eventLoop().execute(() -> {
      if (conn.state() != PtcpState.CLOSED) {
        conn.abort();
        socket.pump();
      }
      unsafe().close(p);
    });
    return p;
  }

  @Override
  public PtcpChannelConfig config() {
    return config;
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  @Override
  public boolean isActive() {
    return open && active;
  }

  @Override
  public ChannelMetadata metadata() {
    return METADATA;
  }

  @Override
  protected AbstractUnsafe newUnsafe() {
    return new PtcpUnsafe();
  }

  @Override
  protected boolean isCompatible(EventLoop loop) {
    return loop == socket.eventLoop();
  }

  @Override
  protected SocketAddress localAddress0() {
    return socket.localAddress();
  }

  @Override
  protected SocketAddress remoteAddress0() {
    return conn.remoteAddress();
  }

  @Override
  protected void doBind(SocketAddress localAddress) {
    throw new UnsupportedOperationException("PTCP channels are bound through their PtcpSocket");
  }

  @Override
  protected void doDisconnect() {
    doClose();
  }

  @Override
  protected void doClose() {
    boolean wasOpen = open;
    open = false;
    active = false;
    if (connectPromise != null) {
      connectPromise.tryFailure(new ClosedChannelException());
      connectPromise = null;
    }
    if (wasOpen && conn.state() != PtcpState.CLOSED && conn.state() != PtcpState.TIME_WAIT) {
      conn.close();
      socket.pumpSoon();
    }
  }

  @Override
  protected void doShutdownOutput() {
    conn.shutdownOutput();
    socket.pumpSoon();
  }

  @Override
  protected void doBeginRead() {
    readPending = true;
    readNow();
  }

  @Override
  protected Object filterOutboundMessage(Object msg) {
    if (msg instanceof ByteBuf) {
      return msg;
    }
    throw new UnsupportedOperationException("unsupported message type: " + msg.getClass().getName()
        + " (expected ByteBuf)");
  }

  @Override
  protected void doWrite(ChannelOutboundBuffer in) throws Exception {
    if (conn.state() == PtcpState.CLOSED) {
      throw new ClosedChannelException();
    }
    boolean wrote = false;
    while (true) {
      Object msg = in.current();
      if (msg == null) {
        break;
      }
      ByteBuf buf = (ByteBuf) msg;
      int readable = buf.readableBytes();
      if (readable == 0) {
        in.remove();
        continue;
      }
      int written = 0;
      if (buf.nioBufferCount() == 1) {
        ByteBuffer nio = buf.internalNioBuffer(buf.readerIndex(), readable);
        written = conn.write(nio);
      } else {
        for (ByteBuffer nio : buf.nioBuffers(buf.readerIndex(), readable)) {
          int want = nio.remaining();
          int n = conn.write(nio);
          written += n;
          if (n < want) {
            break;
          }
        }
      }
      if (written > 0) {
        wrote = true;
        in.removeBytes(written);
      }
      if (written < readable) {
        break; // the send buffer is full: WRITABLE resumes us
      }
    }
    if (wrote) {
      socket.pumpSoon();
    }
    if (pendingShutdown != null && in.isEmpty()) {
      ChannelPromise p = pendingShutdown;
      pendingShutdown = null;
      eventLoop().execute(() -> ((AbstractUnsafe) unsafe()).shutdownOutput(p));
    }
  }

  // ---- reading ----

  private void readNow() {
    if (!isActive() && !(coreClosed && open)) {
      return;
    }
    boolean any = false;
    while (readPending || config.isAutoRead()) {
      int avail = conn.readableBytes();
      if (avail == 0 || inputShutdown) {
        break;
      }
      ByteBuf b = config.getAllocator().buffer(Math.min(avail, READ_CHUNK));
      ByteBuffer nio = b.internalNioBuffer(b.writerIndex(), b.writableBytes());
      int n = conn.read(nio);
      if (n <= 0) {
        b.release();
        break;
      }
      b.writerIndex(b.writerIndex() + n);
      readPending = false;
      any = true;
      pipeline().fireChannelRead(b);
      if (!isOpen()) {
        break;
      }
    }
    if (any) {
      pipeline().fireChannelReadComplete();
      socket.pumpSoon(); // reading may open the receive window
    }
    if (isOpen() && conn.isEndOfStream() && conn.readableBytes() == 0) {
      onEndOfStream();
    }
  }

  private void onEndOfStream() {
    if (inputShutdownFired) {
      return;
    }
    inputShutdownFired = true;
    inputShutdown = true;
    if (config.isAllowHalfClosure()) {
      pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      pipeline().fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
      if (coreClosed) {
        unsafe().close(voidPromise());
      }
    } else {
      unsafe().close(voidPromise());
    }
  }

  /** Handles a core event for this connection. Event-loop only. */
  void onEvent(PtcpEvent e) {
    switch (e.type()) {
      case CONNECTED -> {
        active = true;
        if (isRegistered()) {
          pipeline().fireChannelActive();
        }
        Promise<io.netty.channel.Channel> p = connectPromise;
        connectPromise = null;
        if (p != null && !p.trySuccess(this)) {
          unsafe().close(voidPromise()); // the caller cancelled
        }
      }
      case READABLE, INPUT_SHUTDOWN -> readNow();
      case WRITABLE -> ((PtcpUnsafe) unsafe()).flushNow();
      case CLOSED -> onCoreClosed(e.error());
      default -> { }
    }
  }

  private void onCoreClosed(PtcpException error) {
    coreClosed = true;
    if (error != null) {
      Promise<io.netty.channel.Channel> p = connectPromise;
      connectPromise = null;
      if (p != null) {
        p.tryFailure(error);
      } else if (open) {
        pipeline().fireExceptionCaught(error);
      }
      if (open) {
        unsafe().close(voidPromise());
      }
      return;
    }
    // Clean: both directions are done. Deliver what is left, then close.
    if (open) {
      readNow();
      if (open && conn.readableBytes() == 0) {
        unsafe().close(voidPromise());
      }
    }
  }

  // ---- DuplexChannel ----

  @Override
  public boolean isInputShutdown() {
    return inputShutdown;
  }

  @Override
  public ChannelFuture shutdownInput() {
    return shutdownInput(newPromise());
  }

  @Override
  public ChannelFuture shutdownInput(ChannelPromise promise) {
    eventLoop().execute(() -> {
      inputShutdown = true;
      promise.trySuccess();
    });
    return promise;
  }

  @Override
  public boolean isOutputShutdown() {
    return conn.isOutputShutdown() || !open;
  }

  @Override
  public ChannelFuture shutdownOutput() {
    return shutdownOutput(newPromise());
  }

  /**
   * Half-closes: the FIN follows every byte already written (unlike a plain Netty shutdown, bytes still
   * waiting in the outbound buffer are sent first, not failed).
   */
  @Override
  public ChannelFuture shutdownOutput(ChannelPromise promise) {
    eventLoop().execute(() -> {
      ChannelOutboundBuffer out = unsafe().outboundBuffer();
      if (out != null && !out.isEmpty()) {
        pendingShutdown = promise;
      } else {
        ((AbstractUnsafe) unsafe()).shutdownOutput(promise);
      }
    });
    return promise;
  }

  @Override
  public boolean isShutdown() {
    return isInputShutdown() && isOutputShutdown();
  }

  @Override
  public ChannelFuture shutdown() {
    return shutdown(newPromise());
  }

  @Override
  public ChannelFuture shutdown(ChannelPromise promise) {
    shutdownOutput().addListener(f -> shutdownInput(promise));
    return promise;
  }

  @Override
  public String toString() {
    return "PtcpChannel[" + Integer.toHexString(conn.localConnectionId()) + " " + conn.remoteAddress()
        + (isActive() ? " active" : open ? " open" : " closed") + "]";
  }

  private final class PtcpUnsafe extends AbstractUnsafe {
    @Override
    public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
      promise.setFailure(new UnsupportedOperationException("use PtcpSocket.connect"));
    }

    void flushNow() {
      flush0();
    }
  }
}
