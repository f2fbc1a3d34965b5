package org.q2q.client.internal.presence;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import org.q2q.client.PresenceListener;
import org.q2q.client.PresenceState;
import org.q2q.proto.BindUdpAnswer;
import org.q2q.proto.BindUdpQuery;
import org.q2q.proto.Heartbeat;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.Offer;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.Registered;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.ServiceOffer;
import org.q2q.proto.Withdraw;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's presence session: one long-lived {@code Presence.Listen} stream to its own domain's
 * server, kept alive for as long as the client offers services.
 *
 * <ul>
 *   <li>Offers every registered service on each new stream; a service's ready future completes
 *       when a {@code Registered} message lists it.
 *   <li>Sends a heartbeat every interval; a server silent for the heartbeat timeout is declared
 *       dead and the stream is cancelled (a half-open TCP connection is noticed).
 *   <li>After any loss it reconnects with jittered exponential {@link Backoff} and re-offers;
 *       the stub's channel may then reach another node of the domain (a node that went away is
 *       passed over; a silent one is left through {@link BeforeReconnect}), where the services
 *       are registered again with the same certificate.
 *   <li>Answers the server's queries through {@link Handler}: Inbound, relay-open notices and
 *       BindUdp (the default handler refuses it).
 * </ul>
 *
 * <p>All state is confined to one event executor (also the gRPC call's executor).
 */
public final class PresenceSession implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PresenceSession.class);

  /** Callbacks into the client for what the server pushes. */
  public interface Handler {
    /** Answer an Inbound query (accept with methods, or decline with a reason). */
    CompletableFuture<InboundAnswer> inboundQuery(InboundQuery query);

    /** A connector opened a relay stream for one of our listener ids: open ours. */
    void relayOpen(RelayOpen notice);

    /**
     * The connector of one of our Inbound answers asks us to send UDP toward it (the server has
     * checked that the destination is one of the candidates it announced): start our half of the
     * hole punch ({@code PunchSocket.punch} as LISTENER toward the InboundQuery's udp_candidates)
     * and complete with "" once started, or with why not. Called on the session's event loop; must
     * not block. Default: not supported.
     */
    default CompletableFuture<String> bindUdp(BindUdpQuery query) {
      return CompletableFuture.completedFuture("UDP hole punching is not supported by this client yet");
    }
  }

  /**
   * A heartbeat every 30 s (it was 15): each one, echoed, is most of what an idle listener costs its
   * server, and at 50,000 listeners on 2 cores their garbage-collection pauses were the Inbound
   * tail (bench/capacity.sh, open loop at 250/s: p99 75.7 ms at 15 s, 39.8 ms at 30 s). A dead
   * server is still noticed within about a minute: the channel's keepalive pings once nothing has
   * been read for {@code PresenceChannels}' 45 s. The server drops a silent listener after 120 s.
   */
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(30);
  /** A server silent for three heartbeats is dead. */
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = DEFAULT_HEARTBEAT_INTERVAL.multipliedBy(3);
  /** First reconnection delay's ceiling: a lost stream is retried almost at once. */
  public static final Duration DEFAULT_BACKOFF_INITIAL = Duration.ofMillis(250);
  /**
   * Largest reconnection delay: however long the outage, a listener retries at least this often,
   * so it is reachable again within about this long after its server is back.
   */
  public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(5);
  /**
   * How long one attempt may take to hear from the server before it counts as failed (a server
   * whose packets vanish would otherwise hold the attempt for the whole heartbeat timeout).
   */
  public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofSeconds(10);
  /**
   * Delay after the server refused the stream itself (revoked or unknown certificate, bad
   * request): retrying quickly cannot help, so retry rarely.
   */
  public static final Duration REFUSED_RETRY = Duration.ofSeconds(60);

  /** Timing of the session. */
  public record Timing(Duration heartbeatInterval, Duration heartbeatTimeout, Duration backoffInitial, Duration backoffMax,
      Duration attemptTimeout) {
    /** With {@link #DEFAULT_ATTEMPT_TIMEOUT}. */
    public Timing(Duration heartbeatInterval, Duration heartbeatTimeout, Duration backoffInitial, Duration backoffMax) {
      this(heartbeatInterval, heartbeatTimeout, backoffInitial, backoffMax, DEFAULT_ATTEMPT_TIMEOUT);
    }
  }

  private final String name;
  private final PresenceGrpc.PresenceStub stub;
  private final EventExecutor loop;
  private final Clock clock;
  private final Timing timing;
  private final Handler handler;
  private final BeforeReconnect beforeReconnect;
  private final Backoff backoff;
  private final List<PresenceListener> listeners = new CopyOnWriteArrayList<>();

  // Event loop only.
  private final Map<String, Service> services = new LinkedHashMap<>();
  private volatile PresenceState state = PresenceState.IDLE;
  private int generation;
  private ClientCallStreamObserver<ListenUp> call;
  private long lastHeardMillis;
  private long nonce;
  private ScheduledFuture<?> heartbeatTask;
  private ScheduledFuture<?> reconnectTask;
  private ScheduledFuture<?> attemptTask;
  /** When the stream was lost (clock millis), for "listening again after N s"; -1 while online. */
  private long lostAtMillis = -1;
  private boolean closed;

  private static final class Service {
    final String description;
    final CompletableFuture<Void> ready = new CompletableFuture<>();

    Service(String description) {
      this.description = description;
    }
  }

  /** Prepares the server connection for a new attempt. */
  @FunctionalInterface
  public interface BeforeReconnect {
    /**
     * @param serverSilent the last stream was dropped because the server stopped answering (its
     *     connection may look open but lead nowhere: move to another node), not because the
     *     server or the transport reported an error
     */
    void prepare(boolean serverSilent);
  }

  /** With a hook that does the same whatever ended the last stream. */
  public PresenceSession(String name, PresenceGrpc.PresenceStub stub, EventExecutor loop, Clock clock,
      Timing timing, Handler handler, Runnable beforeReconnect) {
    this(name, stub, loop, clock, timing, handler, silent -> beforeReconnect.run());
  }

  /**
   * @param name who this session is for, at the start of every log line (the client's address)
   * @param stub the Presence stub to the own domain's server (with the client's identity)
   * @param beforeReconnect run before each reconnection attempt (e.g. reset the gRPC channel's
   *     own connect backoff, so our backoff decides the timing; leave a silent node)
   */
  public PresenceSession(String name, PresenceGrpc.PresenceStub stub, EventExecutor loop, Clock clock,
      Timing timing, Handler handler, BeforeReconnect beforeReconnect) {
    this.name = name;
    this.stub = stub.withExecutor(loop);
    this.loop = loop;
    this.clock = clock;
    this.timing = timing;
    this.handler = handler;
    this.beforeReconnect = beforeReconnect;
    this.backoff = new Backoff(timing.backoffInitial(), timing.backoffMax(), ThreadLocalRandom.current());
  }

  /** The current state. */
  public PresenceState state() {
    return state;
  }

  /** Adds an observer of state changes. */
  public void addListener(PresenceListener l) {
    listeners.add(l);
  }

  /**
   * Offers {@code service} (starting the session if needed).
   *
   * @return completes when the server confirms the registration
   */
  public CompletableFuture<Void> offer(String service, String description) {
    CompletableFuture<Void> result = new CompletableFuture<>();
    loop.execute(() -> {
      if (closed) {
        result.completeExceptionally(new IllegalStateException("the client is closed"));
        return;
      }
      Service s = services.computeIfAbsent(service, k -> new Service(description));
      s.ready.whenComplete((v, e) -> {
        if (e != null) {
          result.completeExceptionally(e);
        } else {
          result.complete(null);
        }
      });
      if (state == PresenceState.IDLE) {
        connect();
      } else if (call != null) {
        call.onNext(ListenUp.newBuilder().setOffer(Offer.newBuilder()
            .addServices(ServiceOffer.newBuilder().setService(service).setDescription(description))).build());
      }
    });
    return result;
  }

  /** Stops offering {@code service}. */
  public void withdraw(String service) {
    if (loop.isShuttingDown()) {
      return; // the client is closed: every registration is gone with it
    }
    loop.execute(() -> {
      Service s = services.remove(service);
      if (s == null) {
        return;
      }
      s.ready.completeExceptionally(new IllegalStateException("withdrawn"));
      if (call != null) {
        call.onNext(ListenUp.newBuilder().setWithdraw(Withdraw.newBuilder().addServices(service)).build());
      }
    });
  }

  private void connect() {
    if (closed) {
      return;
    }
    reconnectTask = null;
    int gen = ++generation;
    setState(state == PresenceState.IDLE || state == PresenceState.CONNECTING
        ? PresenceState.CONNECTING : PresenceState.RECONNECTING, "");
    log.debug("{} opening the Listen stream (attempt {})", name, backoff.attempts() + 1);
    lastHeardMillis = clock.millis();
    stub.listen(new Observer(gen));
    if (!services.isEmpty()) {
      Offer.Builder offer = Offer.newBuilder();
      services.forEach((svc, s) -> offer.addServices(
          ServiceOffer.newBuilder().setService(svc).setDescription(s.description)));
      call.onNext(ListenUp.newBuilder().setOffer(offer).build());
    }
    sendHeartbeat();
    long every = timing.heartbeatInterval().toMillis();
    heartbeatTask = loop.scheduleAtFixedRate(() -> checkAlive(gen), every, every, TimeUnit.MILLISECONDS);
    attemptTask = loop.schedule(() -> checkAttempt(gen), timing.attemptTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  private void checkAttempt(int gen) {
    if (gen != generation || call == null || state == PresenceState.ONLINE) {
      return;
    }
    ClientCallStreamObserver<ListenUp> c = call;
    lost(gen, "the server did not answer within " + timing.attemptTimeout().toMillis() + " ms", false, true);
    c.cancel("attempt timeout", null);
  }

  private void sendHeartbeat() {
    call.onNext(ListenUp.newBuilder().setHeartbeat(Heartbeat.newBuilder().setNonce(++nonce)).build());
  }

  private void checkAlive(int gen) {
    if (gen != generation || call == null) {
      return;
    }
    long silent = clock.millis() - lastHeardMillis;
    if (silent > timing.heartbeatTimeout().toMillis()) {
      log.info("{} presence server silent for {} ms: dropping the Listen stream", name, silent);
      ClientCallStreamObserver<ListenUp> c = call;
      lost(gen, "the server did not answer heartbeats for " + silent + " ms", false, true);
      c.cancel("heartbeat timeout", null);
      return;
    }
    sendHeartbeat();
  }

  private final class Observer implements ClientResponseObserver<ListenUp, ListenDown> {
    private final int gen;

    Observer(int gen) {
      this.gen = gen;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ListenUp> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(ListenDown down) {
      if (gen != generation || closed) {
        return;
      }
      lastHeardMillis = clock.millis();
      if (state != PresenceState.ONLINE) {
        int attempts = backoff.attempts();
        backoff.reset();
        if (lostAtMillis >= 0) {
          log.info("{} presence session online again after {} ms and {} attempt(s): listening again", name,
              clock.millis() - lostAtMillis, attempts + 1);
          lostAtMillis = -1;
        } else {
          log.info("{} presence session online", name);
        }
        setState(PresenceState.ONLINE, "");
      }
      switch (down.getKindCase()) {
        case REGISTERED -> registered(down.getRegistered());
        case INBOUND_QUERY -> inbound(gen, down.getInboundQuery());
        case RELAY_OPEN -> handler.relayOpen(down.getRelayOpen());
        case BIND_UDP_QUERY -> bindUdp(down.getBindUdpQuery());
        default -> { } // heartbeat echo (already counted as liveness) or a kind we do not know
      }
    }

    @Override
    public void onError(Throwable t) {
      Status s = Status.fromThrowable(t);
      boolean fatal = switch (s.getCode()) {
        case PERMISSION_DENIED, INVALID_ARGUMENT, UNAUTHENTICATED -> true;
        default -> false;
      };
      lost(gen, describe(s), fatal, false);
    }

    @Override
    public void onCompleted() {
      lost(gen, "the server ended the Listen stream", false, false);
    }
  }

  static String describe(Status s) {
    return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
  }

  private void registered(Registered r) {
    Set<String> confirmed = Set.copyOf(r.getServicesList());
    services.forEach((svc, s) -> {
      if (confirmed.contains(svc) && s.ready.complete(null)) {
        log.info("{} service '{}' registered", name, svc);
      }
    });
  }

  private void inbound(int gen, InboundQuery q) {
    CompletableFuture<InboundAnswer> answer;
    try {
      answer = handler.inboundQuery(q);
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    answer.whenComplete((a, e) -> loop.execute(() -> {
      if (gen != generation || call == null) {
        return; // the stream this query came on is gone; the server gave up on it too
      }
      InboundAnswer out = a;
      if (e != null) {
        log.warn("{} answering inbound query {} failed", name, q.getQueryId(), e);
        out = InboundAnswer.newBuilder().setQueryId(q.getQueryId()).setAccept(false)
            .setDeclineReason("the listener failed to answer").build();
      }
      call.onNext(ListenUp.newBuilder().setInboundAnswer(out).build());
    }));
  }

  private void bindUdp(BindUdpQuery q) {
    int gen = generation;
    CompletableFuture<String> started;
    try {
      started = handler.bindUdp(q);
    } catch (RuntimeException e) {
      started = CompletableFuture.failedFuture(e);
    }
    started.whenComplete((error, e) -> loop.execute(() -> {
      if (gen != generation || call == null) {
        return; // the stream this query came on is gone; the server gave up on it too
      }
      String why = e != null ? "the listener failed to start punching" : error == null ? "" : error;
      if (e != null) {
        log.warn("{} answering BindUdp query {} failed", name, q.getQueryId(), e);
      }
      call.onNext(ListenUp.newBuilder().setBindUdpAnswer(BindUdpAnswer.newBuilder()
          .setQueryId(q.getQueryId()).setError(why)).build());
    }));
  }

  private void lost(int gen, String why, boolean fatal, boolean serverSilent) {
    if (gen != generation) {
      return;
    }
    generation++; // callbacks of the lost stream are ignored from now on
    call = null;
    if (heartbeatTask != null) {
      heartbeatTask.cancel(false);
      heartbeatTask = null;
    }
    if (attemptTask != null) {
      attemptTask.cancel(false);
      attemptTask = null;
    }
    if (closed) {
      return;
    }
    if (lostAtMillis < 0) {
      lostAtMillis = clock.millis();
    }
    if (fatal) {
      // The server refused what we asked for; tell whoever waits, then keep trying slowly.
      services.values().forEach(s -> s.ready.completeExceptionally(
          new IllegalStateException("the presence server refused the registration: " + why)));
    }
    long delay = Math.max(backoff.nextDelayMillis(), fatal ? REFUSED_RETRY.toMillis() : 0);
    log.info("{} Listen stream lost ({}); reconnecting in {} ms (attempt {})", name, why, delay, backoff.attempts());
    setState(PresenceState.RECONNECTING, why);
    reconnectTask = loop.schedule(() -> {
      try {
        beforeReconnect.prepare(serverSilent);
      } catch (RuntimeException e) {
        log.debug("{} before-reconnect hook failed", name, e);
      }
      connect();
    }, delay, TimeUnit.MILLISECONDS);
  }

  private void setState(PresenceState s, String detail) {
    if (state == s) {
      return;
    }
    state = s;
    for (PresenceListener l : listeners) {
      try {
        l.presenceChanged(s, detail);
      } catch (RuntimeException e) {
        log.warn("{} presence listener threw", name, e);
      }
    }
  }

  /** Ends the session and fails every pending registration. */
  @Override
  public void close() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Runnable shutdown = () -> {
      closed = true;
      generation++;
      if (heartbeatTask != null) {
        heartbeatTask.cancel(false);
      }
      if (attemptTask != null) {
        attemptTask.cancel(false);
      }
      if (reconnectTask != null) {
        reconnectTask.cancel(false);
      }
      if (call != null) {
        call.cancel("the client is closing", null);
        call = null;
      }
      services.values().forEach(s -> s.ready.completeExceptionally(new IllegalStateException("the client is closed")));
      services.clear();
      setState(PresenceState.CLOSED, "closed");
      done.complete(null);
    };
    try {
      loop.execute(shutdown);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      shutdown.run(); // the event loop is gone already (a shared group shut down first)
    }
    try {
      done.get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.debug("{} closing the presence session did not finish in time", name);
    }
  }
}
