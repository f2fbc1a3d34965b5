package org.q2q.server.internal.relay;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.proto.RelayFrame;
import org.q2q.proto.RelayHello;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.RelayRole;
import org.q2q.server.internal.presence.Caller;
import org.q2q.server.internal.presence.ListenerTicket;
import org.q2q.server.internal.presence.ListenerTickets;
import org.q2q.server.presence.RelayStats;
import org.q2q.server.presence.RelayTap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the two sides of a relay meet.
 *
 * <ol>
 *   <li>the connector opens a Relay stream and sends {@code hello{listener_id, CONNECTOR}}: the id
 *       must be usable by it (known, issued to its address, unexpired) and is used up;
 *   <li>the server sends RelayOpen down the Listen stream of the listener that accepted that id;
 *   <li>the listener opens its own Relay stream with {@code hello{listener_id, LISTENER}} (it must be
 *       the id's listening address), and the two are spliced ({@link RelaySplice}); both get
 *       RelaySpliced;
 *   <li>a listener that does not join within the join timeout: the connector gets UNAVAILABLE.
 * </ol>
 * Safe for concurrent use.
 */
public final class RelayRendezvous {
  private static final Logger log = LoggerFactory.getLogger(RelayRendezvous.class);

  private final ListenerTickets tickets;
  private final RelayLimits limits;
  private final RelayTap tap;
  private final int maxFrameBytes;
  private final int window;
  /** Bytes gRPC may buffer toward a relay client before {@code isReady()} turns false. */
  private final int readyThreshold;
  private final Duration joinTimeout;
  private final Executor timer;
  /** Connectors waiting for their listener, by listener id. */
  private final Map<String, RelaySplice> waiting = new ConcurrentHashMap<>();
  private final AtomicLong streamIds = new AtomicLong();
  /** Every open relay stream, to end them on close. */
  private final Set<RelayEndpoint> open = ConcurrentHashMap.newKeySet();

  public RelayRendezvous(ListenerTickets tickets, RelayLimits limits, RelayTap tap, int maxFrameBytes,
      int window, int readyThreshold, Duration joinTimeout) {
    this.window = window;
    this.readyThreshold = readyThreshold;
    this.tickets = tickets;
    this.limits = limits;
    this.tap = tap;
    this.maxFrameBytes = maxFrameBytes;
    this.joinTimeout = joinTimeout;
    this.timer = CompletableFuture.delayedExecutor(joinTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Starts a Relay stream (the service method's body): manual inbound flow control, then the hello.
   *
   * @param caller the caller, possibly still being verified (federation)
   */
  public StreamObserver<RelayFrame> open(StreamObserver<RelayFrame> responses, CompletableFuture<Caller> caller) {
    ServerCallStreamObserver<RelayFrame> out = (ServerCallStreamObserver<RelayFrame>) responses;
    out.disableAutoRequest();
    // let the transport take a couple of frames before reporting not-ready (default 32 KiB)
    out.setOnReadyThreshold(readyThreshold);
    RelayEndpoint ep = new RelayEndpoint("relay-" + streamIds.incrementAndGet(), out, caller, this);
    out.setOnCancelHandler(ep::onCancel);
    out.setOnReadyHandler(ep::onReady);
    limits.streamStarted();
    open.add(ep);
    out.request(1); // the hello
    // an unauthenticated caller is refused at once; a silent one after the join timeout
    caller.whenComplete((c, e) -> {
      if (e != null) {
        ep.dispatch(() -> {
          if (ep.state == RelayEndpoint.State.HELLO) {
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
            ep.fail(Status.fromThrowable(cause));
          }
        });
      }
    });
    timer.execute(() -> ep.dispatch(() -> {
      if (ep.state == RelayEndpoint.State.HELLO && !ep.outClosed) {
        ep.fail(Status.INVALID_ARGUMENT.withDescription(
            "no relay hello within " + joinTimeout.toMillis() + " ms of opening the stream"));
      }
    }));
    return ep;
  }

  /** Handles {@code ep}'s hello; on ep.ctx. */
  void hello(RelayEndpoint ep, Caller caller, RelayHello hello) {
    ep.address = caller.address();
    ep.role = hello.getRole();
    ep.listenerId = ListenerTickets.shorten(hello.getListenerId());
    if (hello.getListenerId().isEmpty()) {
      throw Status.INVALID_ARGUMENT.withDescription("the relay hello names no listener id").asRuntimeException();
    }
    switch (hello.getRole()) {
      case RELAY_ROLE_CONNECTOR -> connector(ep, caller, hello.getListenerId());
      case RELAY_ROLE_LISTENER -> listener(ep, caller, hello.getListenerId());
      default -> throw Status.INVALID_ARGUMENT
          .withDescription("the relay hello's role must be CONNECTOR or LISTENER, not " + hello.getRole())
          .asRuntimeException();
    }
  }

  private void connector(RelayEndpoint ep, Caller caller, String id) {
    tickets.peek(id, caller.address()); // refuse before counting against the limit
    limits.openStream(caller.address());
    ep.limited = true;
    ListenerTicket t = tickets.consume(id, caller.address());
    if (!t.session().isOpen()) {
      throw Status.UNAVAILABLE
          .withDescription(t.to() + " stopped listening for '" + t.service() + "'")
          .asRuntimeException();
    }
    RelaySplice splice = new RelaySplice(t, ep, limits, tap, maxFrameBytes, window);
    ep.splice = splice;
    ep.state = RelayEndpoint.State.WAITING;
    waiting.put(id, splice);
    boolean told = t.session().relayOpen(RelayOpen.newBuilder()
        .setListenerId(id)
        .setFrom(caller.address().toString())
        .setService(t.service())
        .build());
    if (!told) {
      waiting.remove(id, splice);
      throw Status.UNAVAILABLE
          .withDescription(t.to() + " stopped listening for '" + t.service() + "'")
          .asRuntimeException();
    }
    log.info("{} {}: {} waits for {} ({}) to join the relay", ep.listenerId, caller.address(), ep.streamId, t.to(),
        t.session());
    timer.execute(() -> ep.dispatch(() -> {
      if (ep.state == RelayEndpoint.State.WAITING) {
        waiting.remove(id, splice);
        log.info("{} {}: {} did not join within {} ms", ep.listenerId, caller.address(), t.to(),
            joinTimeout.toMillis());
        ep.close(Status.UNAVAILABLE.withDescription(
            "the listener " + t.to() + " did not join the relay within " + joinTimeout.toMillis() + " ms"));
      }
    }));
  }

  private void listener(RelayEndpoint ep, Caller caller, String id) {
    RelaySplice splice = waiting.get(id);
    if (splice == null) {
      throw Status.NOT_FOUND
          .withDescription("no connector is waiting on listener id '" + ListenerTickets.shorten(id) + "'")
          .asRuntimeException();
    }
    if (!splice.ticket.to().equals(caller.address())) {
      throw Status.PERMISSION_DENIED
          .withDescription("listener id '" + ListenerTickets.shorten(id) + "' belongs to a listener of "
              + splice.ticket.to() + ", not " + caller.address())
          .asRuntimeException();
    }
    limits.openStream(caller.address());
    ep.limited = true;
    if (!waiting.remove(id, splice)) {
      throw Status.NOT_FOUND
          .withDescription("no connector is waiting on listener id '" + ListenerTickets.shorten(id) + "'")
          .asRuntimeException();
    }
    ep.splice = splice;
    ep.state = RelayEndpoint.State.WAITING;
    ep.ctx = splice.ctx; // from now on this stream's events run with the connector's
    splice.ctx.execute(() -> {
      if (!splice.join(ep)) {
        ep.close(Status.UNAVAILABLE.withDescription("the connector " + splice.ticket.from() + " left the relay"));
      }
    });
  }

  /** A waiting connector left before its listener joined; on ep.ctx. */
  void abandon(RelayEndpoint ep) {
    if (ep.splice != null && ep.role == RelayRole.RELAY_ROLE_CONNECTOR) {
      waiting.remove(ep.splice.id(), ep.splice);
    }
  }

  /** {@code ep}'s call is over; releases what it counted. */
  void ended(RelayEndpoint ep) {
    open.remove(ep);
    limits.streamEnded();
    if (ep.limited) {
      ep.limited = false;
      limits.closeStream(ep.address);
    }
  }

  /** Ends every relay stream with {@code status} (server shutdown). */
  public void close(Status status) {
    for (RelayEndpoint ep : open) {
      ep.dispatch(() -> {
        if (ep.state == RelayEndpoint.State.SPLICED) {
          ep.splice.shutdown(status);
        } else {
          ep.fail(status);
        }
      });
    }
  }

  /** Connectors waiting for their listener now. */
  public int waiting() {
    return waiting.size();
  }

  /** The relay counters. */
  public RelayStats stats() {
    return limits.stats();
  }

}
