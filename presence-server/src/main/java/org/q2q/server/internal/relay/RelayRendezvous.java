package org.q2q.server.internal.relay;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.proto.RelayFrame;
import org.q2q.proto.RelayHello;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.RelayRole;
import org.q2q.server.internal.Futures;
import org.q2q.server.internal.metrics.ServerMetrics;
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
 * The same meeting serves the relay socket ({@link RelaySocketPort}): a connector that came by
 * socket is announced with its port, and its listener must join by socket too.
 *
 * <p>Hello and join timeouts run on one scheduler thread for all streams and are cancelled when
 * their stream ends, so ended streams hold no timer and a flood of streams creates no threads.
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
  private final ServerMetrics metrics;
  private final ScheduledExecutorService timers;
  /** Connectors waiting for their listener, by listener id. */
  private final Map<String, WaitingConnector> waiting = new ConcurrentHashMap<>();
  private final AtomicLong streamIds = new AtomicLong();
  /** Every open relay stream, to end them on close. */
  private final Set<RelayEndpoint> open = ConcurrentHashMap.newKeySet();

  public RelayRendezvous(ListenerTickets tickets, RelayLimits limits, RelayTap tap, int maxFrameBytes,
      int window, int readyThreshold, Duration joinTimeout, ServerMetrics metrics) {
    this.metrics = metrics;
    this.window = window;
    this.readyThreshold = readyThreshold;
    this.tickets = tickets;
    this.limits = limits;
    this.tap = tap;
    this.maxFrameBytes = maxFrameBytes;
    this.joinTimeout = joinTimeout;
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "q2q-relay-timers");
      th.setDaemon(true);
      return th;
    });
    t.setRemoveOnCancelPolicy(true); // a cancelled timer frees its stream at once, not when it would have fired
    t.setKeepAliveTime(5, TimeUnit.SECONDS);
    t.allowCoreThreadTimeOut(true); // no thread while no timer is pending (and none left behind on close)
    this.timers = t;
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
    try {
      limits.openAnonymous();
      ep.anonymous = true;
    } catch (io.grpc.StatusRuntimeException e) {
      log.warn("{}: relay stream refused: {}", ep.streamId, e.getStatus().getDescription());
      ep.dispatch(() -> ep.fail(e.getStatus()));
      return ep;
    }
    out.request(1); // the hello
    // an unauthenticated caller is refused at once; a silent one after the join timeout
    caller.whenComplete((c, e) -> {
      if (e != null) {
        ep.dispatch(() -> {
          if (ep.state == RelayEndpoint.State.HELLO) {
            ep.fail(Status.fromThrowable(Futures.unwrap(e)));
          }
        });
      }
    });
    ScheduledFuture<?> helloTimer = schedule(() -> ep.dispatch(() -> {
      if (ep.state == RelayEndpoint.State.HELLO && !ep.outClosed) {
        ep.fail(Status.INVALID_ARGUMENT.withDescription(
            "no relay hello within " + joinTimeout.toMillis() + " ms of opening the stream"));
      }
    }));
    ep.dispatch(() -> {
      if (ep.counted) { // ended meanwhile
        helloTimer.cancel(false);
      } else {
        ep.timer = helloTimer;
      }
    });
    return ep;
  }

  /** Runs {@code r} after the join timeout on the shared timer thread. */
  ScheduledFuture<?> schedule(Runnable r) {
    return timers.schedule(r, joinTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Timers scheduled and not yet run or cancelled (tests: ended streams leave none). */
  public int pendingTimers() {
    return ((ScheduledThreadPoolExecutor) timers).getQueue().size();
  }

  /** Handles {@code ep}'s hello; on ep.ctx. */
  void hello(RelayEndpoint ep, Caller caller, RelayHello hello) {
    if (ep.anonymous) {
      ep.anonymous = false;
      limits.closeAnonymous();
    }
    if (ep.timer != null) {
      ep.timer.cancel(false);
      ep.timer = null;
    }
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
    ListenerTicket t = claimAsConnector(caller, id, () -> ep.limited = true);
    RelaySplice splice = new RelaySplice(t, ep, limits, tap, maxFrameBytes, window, metrics);
    ep.splice = splice;
    ep.state = RelayEndpoint.State.WAITING;
    announce(t, splice, caller, 0);
    log.info("{} {}: {} waits for {} ({}) to join the relay", ep.listenerId, caller.address(), ep.streamId, t.to(),
        t.session());
    ep.timer = schedule(() -> ep.dispatch(() -> {
      if (ep.state == RelayEndpoint.State.WAITING) {
        waiting.remove(id, splice);
        log.info("{} {}: {} did not join within {} ms", ep.listenerId, caller.address(), t.to(),
            joinTimeout.toMillis());
        ep.close(Status.UNAVAILABLE.withDescription(notJoined(t)));
      }
    }));
  }

  /**
   * The connector's checks, on either path: the id is usable by {@code caller} (else NOT_FOUND or
   * PERMISSION_DENIED), the caller is under its stream limits ({@code counted} runs once it
   * counts), the id is used up, and its listener still listens.
   */
  private ListenerTicket claimAsConnector(Caller caller, String id, Runnable counted) {
    tickets.peek(id, caller.address()); // refuse before counting against the limit
    limits.openStream(caller.address());
    counted.run();
    ListenerTicket t = tickets.consume(id, caller.address());
    if (!t.session().isOpen()) {
      throw stoppedListening(t);
    }
    return t;
  }

  /** Waits for {@code t}'s listener and tells it on its Listen stream ({@code socketPort}: 0 for the RPC). */
  private void announce(ListenerTicket t, WaitingConnector w, Caller caller, int socketPort) {
    waiting.put(t.id(), w);
    boolean told = t.session().relayOpen(RelayOpen.newBuilder()
        .setListenerId(t.id())
        .setFrom(caller.address().toString())
        .setService(t.service())
        .setSocketPort(socketPort)
        .build());
    if (!told) {
      waiting.remove(t.id(), w);
      throw stoppedListening(t);
    }
  }

  private static io.grpc.StatusRuntimeException stoppedListening(ListenerTicket t) {
    return Status.UNAVAILABLE
        .withDescription(t.to() + " stopped listening for '" + t.service() + "'")
        .asRuntimeException();
  }

  private String notJoined(ListenerTicket t) {
    return "the listener " + t.to() + " did not join the relay within " + joinTimeout.toMillis() + " ms";
  }

  /**
   * The listener's checks, on either path: a connector waits on {@code id} by the same path, the
   * caller is the id's listening address, and it is under its stream limits ({@code counted} runs
   * once it counts); the waiting connector is taken.
   */
  private <W extends WaitingConnector> W claimAsListener(Caller caller, String id, Class<W> path, Runnable counted) {
    WaitingConnector w = waiting.get(id);
    if (w == null) {
      throw Status.NOT_FOUND
          .withDescription("no connector is waiting on listener id '" + ListenerTickets.shorten(id) + "'")
          .asRuntimeException();
    }
    if (!w.ticket().to().equals(caller.address())) {
      throw Status.PERMISSION_DENIED
          .withDescription("listener id '" + ListenerTickets.shorten(id) + "' belongs to a listener of "
              + w.ticket().to() + ", not " + caller.address())
          .asRuntimeException();
    }
    if (!path.isInstance(w)) {
      throw Status.FAILED_PRECONDITION
          .withDescription("the connector on listener id '" + ListenerTickets.shorten(id) + "' came "
              + (w instanceof SocketSplice ? "through the relay socket; join there" : "by the Relay RPC; join there"))
          .asRuntimeException();
    }
    limits.openStream(caller.address());
    counted.run();
    if (!waiting.remove(id, w)) {
      throw Status.NOT_FOUND
          .withDescription("no connector is waiting on listener id '" + ListenerTickets.shorten(id) + "'")
          .asRuntimeException();
    }
    return path.cast(w);
  }

  private void listener(RelayEndpoint ep, Caller caller, String id) {
    RelaySplice splice = claimAsListener(caller, id, RelaySplice.class, () -> ep.limited = true);
    ep.splice = splice;
    ep.state = RelayEndpoint.State.WAITING;
    ep.ctx = splice.ctx; // from now on this stream's events run with the connector's
    splice.ctx.execute(() -> {
      if (!splice.join(ep)) {
        ep.close(Status.UNAVAILABLE.withDescription("the connector " + splice.ticket.from() + " left the relay"));
      }
    });
  }

  /**
   * A relay socket's connector hello: claims {@code id} and waits for the listener, who is told to
   * join at {@code port}.
   *
   * @throws io.grpc.StatusRuntimeException why it is refused
   */
  SocketSplice connectSocket(RelaySocket s, Caller caller, String id, int port) {
    ListenerTicket t = claimAsConnector(caller, id, () -> s.limited = true);
    SocketSplice splice = new SocketSplice(t, s, limits, tap, metrics);
    announce(t, splice, caller, port);
    log.info("{} {}: {} waits for {} ({}) to join the relay socket", ListenerTickets.shorten(id), caller.address(),
        s.id, t.to(), t.session());
    return splice;
  }

  /** The waiting connector's message when its listener does not join in time. */
  String joinTimeoutMessage(ListenerTicket t) {
    return notJoined(t);
  }

  /** How long a connector waits for its listener, and a socket for its hello. */
  Duration joinTimeout() {
    return joinTimeout;
  }

  /**
   * A relay socket's listener hello: the connector's splice to join.
   *
   * @throws io.grpc.StatusRuntimeException why it is refused
   */
  SocketSplice joinSocket(RelaySocket s, Caller caller, String id) {
    return claimAsListener(caller, id, SocketSplice.class, () -> s.limited = true);
  }

  /** A socket connector left or timed out before its listener joined. */
  void abandon(SocketSplice splice) {
    waiting.remove(splice.ticket().id(), splice);
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
    if (ep.timer != null) {
      ep.timer.cancel(false);
      ep.timer = null;
    }
    if (ep.anonymous) {
      ep.anonymous = false;
      limits.closeAnonymous();
    }
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

  /** The limits both paths count against. */
  RelayLimits limits() {
    return limits;
  }

}
