package org.q2q.client.forward;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.q2q.client.ChannelResetException;
import org.q2q.client.VirtualChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins a TCP socket and a virtual channel byte for byte, without a thread of its own: a handler on
 * each channel writes what it reads to the other.
 *
 * <ul>
 *   <li><b>Backpressure</b>: when the other side stops being writable, this side's autoRead goes off
 *       until the other becomes writable again; so a slow end slows only its own connection
 *       (a virtual channel is unwritable while the peer chokes it).
 *   <li><b>Half-close</b>: the end of one side's input becomes a shutdown of the other's output,
 *       after every byte before it; the splice ends cleanly once both directions have ended.
 *   <li><b>Reset</b>: a reset or error on either side aborts the other (the virtual channel is
 *       reset with a reason; the socket is closed with an RST).
 * </ul>
 *
 * <p>Both channels normally share one event loop ({@link SocketLoops}); the lifecycle state is
 * guarded by this object's monitor so that it is also correct when they do not.
 */
final class Splice {
  private static final Logger log = LoggerFactory.getLogger(Splice.class);

  private final String id;
  private final Channel socket;
  private final VirtualChannel vc;
  private final Channel child;
  private final String from;
  private final long startNanos = System.nanoTime();
  private final CompletableFuture<ConnectionRecord> done = new CompletableFuture<>();

  /** Bytes socket -> peer; written only by the socket's loop. */
  private volatile long sent;
  /** Bytes peer -> socket; written only by the channel's loop. */
  private volatile long received;

  // Lifecycle, guarded by this.
  private boolean socketInputEnded;
  private boolean peerInputEnded;
  private boolean socketOutputShut;
  private boolean peerOutputShut;
  /** The channel's output end was asked for (it may complete, and the channel close, before the future's listener is added). */
  private boolean peerOutputRequested;
  private boolean finished;

  /**
   * @param socket a registered, connected TCP socket with autoRead off and half-closure allowed
   * @param vc an open virtual channel (autoRead off, as channels start)
   * @param from where the TCP side is, for the record
   */
  private Splice(String id, Channel socket, VirtualChannel vc, String from) {
    this.id = id;
    this.socket = socket;
    this.vc = vc;
    this.child = vc.channel();
    this.from = from;
  }

  /**
   * Starts splicing; {@code firstBytes} (may be null; released by this method) go to the socket
   * before anything the channel delivers.
   *
   * @return completes when the connection ended, never exceptionally
   */
  static Splice start(String id, Channel socket, VirtualChannel vc, String from, ByteBuf firstBytes) {
    Splice s = new Splice(id, socket, vc, from);
    if (firstBytes != null) {
      if (firstBytes.isReadable()) {
        s.received += firstBytes.readableBytes();
        socket.write(firstBytes, socket.voidPromise());
      } else {
        firstBytes.release();
      }
    }
    socket.pipeline().addLast("splice", s.new Pump(socket, s.child, true));
    s.child.pipeline().addLast("splice", s.new Pump(s.child, socket, false));
    socket.closeFuture().addListener(f -> s.socketClosed());
    vc.closeFuture().addListener(f -> s.channelClosed(f.cause()));
    socket.config().setAutoRead(true);
    s.child.config().setAutoRead(true);
    log.debug("{} splicing {} with {}", id, from, s.child);
    return s;
  }

  /** Completes when the connection ended. */
  CompletableFuture<ConnectionRecord> done() {
    return done;
  }

  /** Aborts the connection in both directions (closing a forwarder). */
  void abort(String reason) {
    abort(true, null, reason);
  }

  /** One direction's input ended: end the other side's output after the bytes already written. */
  private void inputEnded(boolean atSocket) {
    synchronized (this) {
      if (finished) {
        return;
      }
      if (atSocket) {
        socketInputEnded = true;
      } else {
        peerInputEnded = true;
      }
    }
    if (atSocket) {
      synchronized (this) {
        peerOutputRequested = true;
      }
      vc.shutdownOutput().addListener(f -> {
        if (f.isSuccess()) {
          outputShut(false);
        } else {
          abort(false, f.cause(), "ending the channel's output failed");
        }
      });
    } else {
      // A socket's shutdownOutput drops unwritten bytes, so wait for the last write first.
      socket.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          abort(true, f.cause(), "writing to the local connection failed");
          return;
        }
        ((DuplexChannel) socket).shutdownOutput().addListener(g -> {
          if (g.isSuccess()) {
            outputShut(true);
          } else {
            abort(true, g.cause(), "shutting down the local connection's output failed");
          }
        });
      });
    }
  }

  /**
   * The socket closed. Before both of its directions ended that cuts the connection short; after,
   * nothing of it is lost (the channel still delivers what it holds and finishes on its own), so a
   * close then, by the transport or after a reset the local peer sends once done, is no abort.
   */
  private void socketClosed() {
    synchronized (this) {
      if (finished || (socketInputEnded && socketOutputShut)) {
        return;
      }
    }
    abort(true, null, "the local connection closed");
  }

  /**
   * The channel closed. After both of its directions ended that is its normal end (the peer session
   * closes a channel as soon as both ends were exchanged); otherwise the connection is cut short.
   */
  private void channelClosed(Throwable cause) {
    boolean graceful;
    synchronized (this) {
      graceful = cause == null && peerInputEnded && peerOutputRequested;
    }
    if (graceful) {
      outputShut(false);
    } else {
      abort(false, cause, "the channel closed");
    }
  }

  private void outputShut(boolean atSocket) {
    synchronized (this) {
      if (finished) {
        return;
      }
      if (atSocket) {
        socketOutputShut = true;
      } else {
        peerOutputShut = true;
      }
      if (!(socketInputEnded && peerInputEnded && socketOutputShut && peerOutputShut)) {
        return;
      }
      finished = true;
    }
    // Both directions ended: closing is silent on both sides.
    socket.close();
    vc.close();
    complete("closed");
  }

  /**
   * Ends the connection abnormally: the other side learns of it (reset or RST).
   *
   * @param atSocket true if the socket side failed or closed, false if the channel did
   */
  private void abort(boolean atSocket, Throwable cause, String what) {
    synchronized (this) {
      if (finished) {
        return;
      }
      finished = true;
    }
    String reason = reason(atSocket, cause, what);
    if (atSocket) {
      vc.reset(reason);
      socket.close();
    } else {
      if (socket.isOpen()) {
        // SO_LINGER 0: the local peer sees a reset, not a clean end of a truncated stream.
        socket.config().setOption(ChannelOption.SO_LINGER, 0);
      }
      socket.close();
      vc.close();
    }
    log.debug("{} aborted: {}", id, reason);
    complete(reason);
  }

  private String reason(boolean atSocket, Throwable cause, String what) {
    if (cause instanceof ChannelResetException r) {
      return r.byPeer()
          ? "reset by " + vc.remoteAddress() + " (" + r.code() + (r.reason().isEmpty() ? "" : ": " + r.reason()) + ")"
          : "channel reset (" + r.code() + (r.reason().isEmpty() ? "" : ": " + r.reason()) + ")";
    }
    if (cause instanceof IOException && atSocket) {
      return "the local connection failed: " + cause.getMessage();
    }
    if (cause != null) {
      return what + ": " + cause.getMessage();
    }
    return what;
  }

  private void complete(String outcome) {
    done.complete(new ConnectionRecord(id, vc.remoteAddress().toString(), from, sent, received,
        Duration.ofNanos(System.nanoTime() - startNanos), outcome));
  }

  /** Reads one channel and writes the other. Not sharable. */
  private final class Pump extends ChannelInboundHandlerAdapter {
    private final Channel self;
    private final Channel other;
    private final boolean isSocket;

    Pump(Channel self, Channel other, boolean isSocket) {
      this.self = self;
      this.other = other;
      this.isSocket = isSocket;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf buf)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      int n = buf.readableBytes();
      if (isSocket) {
        sent += n;
      } else {
        received += n;
      }
      other.write(buf, other.voidPromise());
      if (!other.isWritable()) {
        other.flush();
        self.config().setAutoRead(false);
        if (other.isWritable()) {
          self.config().setAutoRead(true); // it drained meanwhile (other loop): no lost wake-up
        }
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      other.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (self.isWritable() && other.isOpen()) {
        other.config().setAutoRead(true);
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt == ChannelInputShutdownEvent.INSTANCE) {
        other.flush();
        inputEnded(isSocket);
      }
      ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      abort(isSocket, cause, isSocket ? "the local connection failed" : "the channel failed");
    }
  }
}
