package org.q2q.server.internal.relay;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.SocketChannel;
import java.util.concurrent.TimeUnit;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.metrics.ServerMetrics.RelayTransport;
import org.q2q.server.internal.presence.ListenerTicket;
import org.q2q.server.presence.RelayTap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two relay sockets joined byte for byte on one event loop: what is read from one is written to
 * the other unread, without framing or copies. Backpressure is the sockets' own: a side is read
 * only while the other side's socket is writable (its queue under the high-water mark) and its
 * address is under its in-flight caps ({@link RelayLimits#mayHold}), so a stalled receiver stops
 * the relay reading from the sender, whose TCP window then closes; the relay holds at most the
 * high-water mark plus one read per direction.
 *
 * <ul>
 *   <li>the splice starts once both clients have said (byte 0x51) that they left TLS, so no raw
 *       byte reaches a client still decrypting;
 *   <li>a side that shuts its output: the other side's output is shut once the bytes before it are
 *       written; both shut: both closed;
 *   <li>a side that closes or fails: the other is closed once the bytes before it are written.
 * </ul>
 * Thread-safety: everything runs on the relay's event loop.
 */
final class SocketSplice implements WaitingConnector {
  private static final Logger log = LoggerFactory.getLogger(SocketSplice.class);
  /** While a cap (not the other socket) holds a side back, how often to look again. */
  private static final long CAP_RETRY_MILLIS = 50;

  /** One direction: bytes read from {@code src} written to {@code dst}. */
  private final class Direction {
    final RelaySocket src;
    final RelaySocket dst;
    /** Bytes read from src before both sides acknowledged the splice. */
    ByteBuf early;
    boolean acked;
    boolean inputShut;
    boolean retryScheduled;
    /** Bytes relayed in this direction, server-wide. */
    final CounterDataPoint bytes;

    Direction(RelaySocket src, RelaySocket dst, boolean toListener) {
      this.src = src;
      this.dst = dst;
      this.bytes = metrics.relayBytes(RelayTransport.SOCKET, toListener);
    }

    /** Reads from src while dst can take it and src's address is under its caps. */
    void resume() {
      if (over || !running || !src.channel.isActive()) {
        return;
      }
      boolean ok = dst.channel.isWritable() && limits.mayHold(src.address);
      src.channel.config().setAutoRead(ok);
      if (!ok && dst.channel.isWritable() && !retryScheduled) {
        retryScheduled = true; // held back by a cap that another relay's progress will lift
        src.channel.eventLoop().schedule(() -> {
          retryScheduled = false;
          resume();
        }, CAP_RETRY_MILLIS, TimeUnit.MILLISECONDS);
      }
    }

    void forward(ByteBuf buf) {
      int n = buf.readableBytes();
      if (n == 0) {
        buf.release();
        return;
      }
      limits.holdOver(src.address, n);
      limits.relayed(n);
      bytes.inc(n); // a LongAdder add per read (up to 64 KiB), like limits.relayed
      if (tap != null) {
        tap.onData(ticket.id(), src.role, ByteString.copyFrom(buf.nioBuffer()));
      }
      dst.channel.write(buf).addListener(f -> {
        limits.release(src.address, n);
        if (!f.isSuccess()) {
          src.channel.close();
        } else if (!src.channel.config().isAutoRead()) {
          resume();
        }
      });
      if (!dst.channel.isWritable() || !limits.mayHold(src.address)) {
        src.channel.config().setAutoRead(false); // the read loop stops after this buffer
        resume(); // arms the cap retry if a cap, not the socket, is the reason
      }
    }
  }

  final ListenerTicket ticket;
  private final RelaySocket connector;
  private final RelayLimits limits;
  private final RelayTap tap;
  private final ServerMetrics metrics;
  private RelaySocket listener;
  private Direction up; // connector -> listener
  private Direction down; // listener -> connector
  private boolean running;
  private boolean over;

  SocketSplice(ListenerTicket ticket, RelaySocket connector, RelayLimits limits, RelayTap tap,
      ServerMetrics metrics) {
    this.metrics = metrics;
    this.ticket = ticket;
    this.connector = connector;
    this.limits = limits;
    this.tap = tap;
  }

  @Override
  public ListenerTicket ticket() {
    return ticket;
  }

  /** Joins {@code l} as the listener side: both get the splice notice and leave TLS. */
  void join(RelaySocket l) {
    if (connector.state != RelaySocket.State.WAITING || !connector.channel.isActive()) {
      l.refuse(Status.UNAVAILABLE.withDescription("the connector " + ticket.from() + " left the relay"));
      return;
    }
    if (connector.channel.eventLoop() != l.channel.eventLoop()) { // the port runs one loop; this is a bug
      throw new IllegalStateException("relay sockets on two event loops");
    }
    listener = l;
    up = new Direction(connector, listener, true);
    down = new Direction(listener, connector, false);
    limits.spliced();
    metrics.relayStarted(RelayTransport.SOCKET);
    connector.spliced();
    listener.spliced();
    connector.channel.config().setAutoRead(true); // for the ACK
    listener.channel.config().setAutoRead(true);
    log.info("{} {}: spliced {} -> {}/{} ({} <-> {})", shortId(), connector.address, ticket.from(), ticket.to(),
        ticket.service(), connector.id, listener.id);
  }

  /** Bytes from {@code from} (raw: TLS is gone). Released or passed on by this method. */
  void read(RelaySocket from, ByteBuf buf) {
    Direction d = from == connector ? up : down;
    if (over) {
      buf.release();
      return;
    }
    if (!d.acked) {
      if (buf.readableBytes() == 0) {
        buf.release();
        return;
      }
      int first = buf.readUnsignedByte();
      if (first != RelaySocket.ACK) {
        buf.release();
        log.warn("{} {}: {} sent 0x{} instead of the splice acknowledgement", shortId(), from.address, from.id,
            Integer.toHexString(first));
        closeBoth();
        return;
      }
      d.acked = true;
      from.state = RelaySocket.State.SPLICED;
      if (!up.acked || !down.acked) {
        from.channel.config().setAutoRead(false); // until the other side has left TLS too
      }
    }
    if (!running) {
      if (buf.isReadable()) {
        d.early = d.early == null ? buf : Unpooled.wrappedBuffer(d.early, buf);
      } else {
        buf.release();
      }
      if (up.acked && down.acked) {
        start();
      }
      return;
    }
    d.forward(buf);
  }

  private void start() {
    running = true;
    for (Direction d : new Direction[] {up, down}) {
      if (d.early != null) {
        ByteBuf b = d.early;
        d.early = null;
        d.forward(b);
        d.dst.channel.flush();
      }
    }
    up.resume();
    down.resume();
    // a side that shut its output before the start
    for (Direction d : new Direction[] {up, down}) {
      if (d.inputShut) {
        shutDst(d);
      }
    }
  }

  void readComplete(RelaySocket from) {
    if (running) {
      (from == connector ? up : down).dst.channel.flush();
    }
  }

  void writabilityChanged(RelaySocket of) {
    if (running && listener != null) {
      // of's writability decides whether the other side may be read
      (of == connector ? down : up).resume();
    }
  }

  /** {@code from} shut its output (half-close). */
  void inputShutdown(RelaySocket from) {
    if (listener == null) {
      return;
    }
    Direction d = from == connector ? up : down;
    d.inputShut = true;
    if (running) {
      shutDst(d);
    }
  }

  private void shutDst(Direction d) {
    log.debug("{} {}: {} half-closed", shortId(), d.src.address, d.src.role);
    d.dst.channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
      if (d.dst.channel instanceof SocketChannel s && s.isActive()) {
        s.shutdownOutput();
      }
      if (up.inputShut && down.inputShut) {
        closeBoth();
      }
    });
  }

  /** {@code from}'s connection is closed. */
  void gone(RelaySocket from, RelaySocket.State was) {
    if (listener == null) { // a connector still waiting
      if (was == RelaySocket.State.WAITING) {
        log.info("{} {}: {} left before its listener joined", shortId(), from.address, from.id);
      }
      return;
    }
    if (!over) {
      log.info("{} {}: {} {} left the relay", shortId(), from.address, from.role, from.id);
    }
    RelaySocket other = from == connector ? listener : connector;
    for (Direction d : new Direction[] {up, down}) {
      if (d.early != null) {
        d.early.release();
        d.early = null;
      }
    }
    if (!over) {
      over = true;
      metrics.relayEnded(RelayTransport.SOCKET);
      // what was read from the leaver before it left still goes out, then the other side ends
      other.channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      log.info("{} {}: relay over", shortId(), connector.address);
    }
  }

  private void closeBoth() {
    connector.channel.close();
    if (listener != null) {
      listener.channel.close();
    }
  }

  private String shortId() {
    return ticket.id().length() > 8 ? ticket.id().substring(0, 8) : ticket.id();
  }
}
