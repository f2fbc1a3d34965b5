package org.q2q.server.internal.relay;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.SynchronizationContext;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.util.ArrayDeque;
import org.q2q.proto.RelayFrame;
import org.q2q.proto.RelayRole;
import org.q2q.proto.RelaySpliced;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.metrics.ServerMetrics.RelayTransport;
import org.q2q.server.internal.presence.ListenerTicket;
import org.q2q.server.presence.RelayTap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two relay streams joined: data frames from one are written to the other unread, only while the
 * receiver's transport is ready ({@code isReady()}), and frames are requested from the sender
 * (a window of a few frames ahead) only while the receiver is ready and nothing is queued. So a
 * stalled receiver stops the sender through gRPC flow control on both hops, and the relay itself
 * queues at most that window of frames per direction.
 *
 * <ul>
 *   <li>half-close of one side (its onCompleted): once the frames already received are delivered,
 *       the other side's call completes; the other direction is then over too (a gRPC server call
 *       cannot outlive its response stream), so the first side completes after its pending frame;
 *   <li>cancel or error of one side: the other side fails with CANCELLED naming who left;
 *   <li>a frame over the size limit or over the address's in-flight budget: RESOURCE_EXHAUSTED to
 *       the sender, CANCELLED to the other side.
 * </ul>
 * Thread-safety: everything runs on {@link #ctx}, shared by both endpoints.
 */
final class RelaySplice implements WaitingConnector {
  private static final Logger log = LoggerFactory.getLogger(RelaySplice.class);

  /** One direction: frames from {@code src} to {@code dst}. Fields on ctx only. */
  private final class Direction {
    final RelayEndpoint src;
    final RelayEndpoint dst;
    /** Frames received from src, waiting for dst to be ready. */
    final ArrayDeque<RelayFrame> queue = new ArrayDeque<>();
    /** Bytes in {@link #queue} (counted against src's in-flight budget). */
    long held;
    /** Frames requested from src and not yet received. */
    int outstanding;
    /** src will send no more (half-closed, or the call is over). */
    boolean srcEnded;
    /** Bytes relayed in this direction, server-wide. */
    final CounterDataPoint bytes;

    Direction(RelayEndpoint src, RelayEndpoint dst, boolean toListener) {
      this.src = src;
      this.dst = dst;
      this.bytes = metrics.relayBytes(RelayTransport.RPC, toListener);
    }

    void pump() {
      if (src.outClosed) {
        srcEnded = true; // its call is over: nothing more will come
      }
      while (!queue.isEmpty() && !dst.outClosed && dst.out.isReady()) {
        RelayFrame f = queue.poll();
        release(f.getData().size());
        dst.send(f);
      }
      if (dst.outClosed) { // nobody to deliver to
        queue.clear();
        release(held);
      }
      if (!queue.isEmpty()) {
        return; // dst's onReady will pump again
      }
      if (srcEnded) {
        if (!dst.outClosed) {
          dst.close(Status.OK);
          other(this).srcEnded = true; // dst's call is over: nothing more will come from it
          other(this).pump();
        }
        return;
      }
      if (!dst.outClosed && dst.out.isReady() && outstanding < window) {
        int more = window - outstanding;
        outstanding += more;
        src.out.request(more);
      }
    }

    void release(long n) {
      if (n > 0) {
        limits.release(src.address, n);
        held -= n;
      }
    }

    void releaseAll() {
      queue.clear();
      release(held);
    }
  }

  final ListenerTicket ticket;
  final SynchronizationContext ctx;
  private final RelayLimits limits;
  private final RelayTap tap;
  private final ServerMetrics metrics;
  private final int maxFrameBytes;
  /**
   * Frames requested ahead from a sender while its receiver is ready: enough to keep both hops
   * busy, and the most the relay ever queues per direction.
   */
  private final int window;
  final RelayEndpoint connector;
  private RelayEndpoint listener;
  private Direction up; // connector -> listener
  private Direction down; // listener -> connector
  private boolean joined;
  private boolean over;

  RelaySplice(ListenerTicket ticket, RelayEndpoint connector, RelayLimits limits, RelayTap tap, int maxFrameBytes,
      int window, ServerMetrics metrics) {
    this.metrics = metrics;
    this.window = window;
    this.ticket = ticket;
    this.connector = connector;
    this.ctx = connector.ctx;
    this.limits = limits;
    this.tap = tap;
    this.maxFrameBytes = maxFrameBytes;
  }

  String id() {
    return ticket.id();
  }

  @Override
  public ListenerTicket ticket() {
    return ticket;
  }

  boolean isJoined() {
    return joined;
  }

  /** Joins {@code l} as the listener side; runs on ctx. False if the connector is gone. */
  boolean join(RelayEndpoint l) {
    if (over || connector.state != RelayEndpoint.State.WAITING) {
      return false;
    }
    if (l.state == RelayEndpoint.State.DONE) { // it left between claiming the id and joining
      over = true;
      connector.close(Status.UNAVAILABLE.withDescription(
          "the listener " + ticket.to() + " left before the relay was spliced"));
      return true;
    }
    listener = l;
    joined = true;
    up = new Direction(connector, listener, true);
    down = new Direction(listener, connector, false);
    connector.state = RelayEndpoint.State.SPLICED;
    listener.state = RelayEndpoint.State.SPLICED;
    RelayFrame spliced = RelayFrame.newBuilder().setSpliced(RelaySpliced.getDefaultInstance()).build();
    connector.send(spliced);
    listener.send(spliced);
    limits.spliced();
    metrics.relayStarted(RelayTransport.RPC);
    log.info("{} {}: spliced {} -> {}/{} ({} <-> {})", ticket.id(), connector.address, ticket.from(), ticket.to(),
        ticket.service(), connector.streamId, listener.streamId);
    pump();
    return true;
  }

  /** Moves whatever can move in both directions. */
  void pump() {
    if (!joined || over) {
      return;
    }
    up.pump();
    down.pump();
    finishIfDone();
  }

  void onData(RelayEndpoint from, RelayFrame frame) {
    Direction d = from == connector ? up : down;
    d.outstanding--;
    if (over || d.srcEnded) {
      return;
    }
    int n = frame.getData().size();
    try {
      if (n > maxFrameBytes) {
        throw Status.RESOURCE_EXHAUSTED
            .withDescription("relay frame of " + n + " bytes is over the limit of " + maxFrameBytes)
            .asRuntimeException();
      }
      limits.hold(from.address, n);
    } catch (StatusRuntimeException e) {
      metrics.refused(ServerMetrics.Refusal.RELAY_BYTES);
      log.warn("{} {}: {}", ticket.id(), from.address, e.getStatus().getDescription());
      fail(from, e.getStatus());
      return;
    }
    d.held += n;
    limits.relayed(n);
    d.bytes.inc(n);
    if (tap != null) {
      tap.onData(ticket.id(), from.role, frame.getData());
    }
    d.queue.add(frame);
    pump();
  }

  void onHalfClose(RelayEndpoint from) {
    Direction d = from == connector ? up : down;
    log.debug("{} {}: {} half-closed", ticket.id(), from.address, from.role);
    d.srcEnded = true;
    pump();
  }

  /** {@code from}'s call is over without our closing it (cancel, transport error). */
  void onGone(RelayEndpoint from, Status why) {
    from.outClosed = true;
    RelayEndpoint other = from == connector ? listener : connector;
    if (!over) {
      log.info("{} {}: {} left the relay: {}", ticket.id(), from.address, from.role, why);
    }
    endAll(other, Status.CANCELLED.withDescription(
        "relay " + shortId() + ": the " + side(from.role) + " " + from.address + " left (" + why.getCode()
            + (why.getDescription() != null ? ": " + why.getDescription() : "") + ")"));
  }

  /** Fails {@code culprit} with {@code status}, and the other side with CANCELLED. */
  void fail(RelayEndpoint culprit, Status status) {
    RelayEndpoint other = culprit == connector ? listener : connector;
    culprit.close(status);
    endAll(other, Status.CANCELLED.withDescription(
        "relay " + shortId() + ": the " + side(culprit.role) + " " + culprit.address + " was refused: "
            + status.getDescription()));
  }

  /** Ends both sides with {@code status} (server shutdown). */
  void shutdown(Status status) {
    connector.close(status);
    if (listener != null) {
      listener.close(status);
    }
    finishIfDone();
  }

  private void endAll(RelayEndpoint other, Status otherStatus) {
    if (other != null) {
      other.close(otherStatus);
    }
    finishIfDone();
  }

  private void finishIfDone() {
    if (over) {
      return;
    }
    boolean connectorDone = connector.outClosed;
    boolean listenerDone = listener == null || listener.outClosed;
    if (connectorDone && listenerDone) {
      over = true;
      if (up != null) {
        up.releaseAll();
        down.releaseAll();
        metrics.relayEnded(RelayTransport.RPC); // up is set once spliced: counted by join
      }
      connector.state = RelayEndpoint.State.DONE;
      if (listener != null) {
        listener.state = RelayEndpoint.State.DONE;
      }
      log.info("{} {}: relay over", ticket.id(), connector.address);
    }
  }

  private static String side(RelayRole role) {
    return role == RelayRole.RELAY_ROLE_CONNECTOR ? "connector" : "listener";
  }

  private String shortId() {
    return ticket.id().length() > 8 ? ticket.id().substring(0, 8) + "…" : ticket.id();
  }

  private Direction other(Direction d) {
    return d == up ? down : up;
  }
}
