package org.q2q.server.internal.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.SynchronizationContext;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.q2q.certstore.Address;
import org.q2q.proto.BindUdpAnswer;
import org.q2q.proto.BindUdpQuery;
import org.q2q.proto.Heartbeat;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.Registered;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.ServiceOffer;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's Listen session stream: the services it offers for its certificate address, and the
 * queries the server pushes down to it (InboundQuery, BindUdpQuery, RelayOpen) with their answers.
 *
 * <ul>
 *   <li>every Offer/Withdraw is answered with Registered (all services now registered);
 *   <li>heartbeats are echoed;
 *   <li>pushes respect flow control: while the client does not take more ({@code isReady()} false)
 *       a Registered and a heartbeat echo are coalesced (at most one of each waits, the Registered
 *       built when it is written), and queries wait within an {@link OutboundBudget}; a client
 *       that passes the budget, or takes nothing for the stall timeout, loses its stream with
 *       RESOURCE_EXHAUSTED. A client that stops reading thus costs a bounded amount (C1);
 *   <li>a client silent for the idle timeout loses its stream with UNAVAILABLE;
 *   <li>when the stream ends (complete, error, cancel) its registrations are removed and every
 *       unanswered query fails.
 * </ul>
 *
 * Thread-safety: safe for concurrent use; all state changes and writes to the stream run on one
 * {@link SynchronizationContext}, so re-entrant calls (in-process transports) are queued, not nested.
 */
public final class ListenSession implements StreamObserver<ListenUp> {
  private static final Logger log = LoggerFactory.getLogger(ListenSession.class);

  private final String id;
  private final Caller caller;
  private final ServerCallStreamObserver<ListenDown> out;
  private final ListenerRegistry registry;
  private final int maxServices;
  private final int maxPending;
  private final SynchronizationContext ctx;
  private final Consumer<ListenSession> onEnd;
  private final OutboundBudget budget;
  private final Clock clock;
  private final ServerMetrics metrics;
  /** Offered services and their descriptions; changed on ctx only, read anywhere. */
  private final Map<String, String> services = new ConcurrentSkipListMap<>();
  /** An unanswered query: the answer type it expects, and who waits for it. */
  private record Pending(Class<?> answerType, CompletableFuture<?> future) {}

  /** Unanswered queries by query id. */
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private final AtomicLong nextQuery = new AtomicLong(1);
  /** Set once on ctx; read anywhere. */
  private volatile boolean closed;
  /** When the client last sent anything (clock millis). */
  private volatile long lastHeardMillis;
  /** Pushes waiting for the client to take more, oldest first; on ctx only. */
  private final ArrayDeque<ListenDown> waiting = new ArrayDeque<>();
  /** Serialized bytes in {@link #waiting}, taken from {@link #budget}; on ctx only. */
  private long waitingBytes;
  /** A Registered is due (built from the services when written); on ctx only. */
  private boolean registeredDue;
  /** The latest heartbeat still to echo, or null; on ctx only. */
  private Heartbeat echoDue;
  /** Since when (clock millis) something waits for the client, or -1; written on ctx, read anywhere. */
  private volatile long stalledSinceMillis = -1;
  /** Whether the "too many unanswered queries" warning was logged. */
  private volatile boolean warnedPending;

  /**
   * @param budget bounds what waits for a client that does not read
   * @param clock for the idle and stall timeouts
   * @param metrics counts the sessions ended for not reading
   */
  public ListenSession(
      String id, Caller caller, ServerCallStreamObserver<ListenDown> out, ListenerRegistry registry,
      int maxServices, int maxPending, OutboundBudget budget, Clock clock, ServerMetrics metrics,
      Consumer<ListenSession> onEnd) {
    this.metrics = metrics;
    this.onEnd = onEnd;
    this.budget = budget;
    this.clock = clock;
    this.lastHeardMillis = clock.millis();
    this.id = id;
    this.caller = caller;
    this.out = out;
    this.registry = registry;
    this.maxServices = maxServices;
    this.maxPending = maxPending;
    this.ctx = new SynchronizationContext(
        (t, e) -> log.error("{} {}: unexpected error in the Listen session", id, caller.address(), e));
    out.setOnCancelHandler(() -> ctx.execute(() -> end("cancelled by the client", null)));
    out.setOnReadyHandler(() -> ctx.execute(this::drain));
  }

  /** The session id used in logs. */
  public String id() {
    return id;
  }

  /** The listening address (from its certificate). */
  public Address address() {
    return caller.address();
  }

  /** The listener: its address and its certificate chain from its TLS session (leaf first). */
  public Caller caller() {
    return caller;
  }

  /** Whether the stream is still open. */
  public boolean isOpen() {
    return !closed;
  }

  /** The description the listener gave {@code service}, or "" if it no longer offers it. */
  public String description(String service) {
    return services.getOrDefault(service, "");
  }

  @Override
  public void onNext(ListenUp up) {
    lastHeardMillis = clock.millis();
    ctx.execute(() -> handle(up));
  }

  /**
   * True if {@link #check} would end this session now: silent for {@code idleMillis}, or nothing
   * of what waits for it taken for {@code stallMillis}. Any thread: it only reads two volatile
   * longs, so the service can look at every session often without a timer or a task each.
   */
  public boolean due(long nowMillis, long idleMillis, long stallMillis) {
    long stalledSince = stalledSinceMillis;
    return !closed && (nowMillis - lastHeardMillis >= idleMillis || (stalledSince >= 0 && nowMillis - stalledSince >= stallMillis));
  }

  /**
   * Checks, on the session's own executor, whether the client has been silent for {@code idle}
   * (its stream ends with UNAVAILABLE: a vanished client would otherwise keep its registrations
   * until TCP notices, and every Inbound would wait for its answer in vain) or has taken nothing of
   * what waits for it for {@code stall} (RESOURCE_EXHAUSTED).
   */
  public void check(Duration idle, Duration stall) {
    ctx.execute(() -> checkNow(idle, stall));
  }

  private void checkNow(Duration idle, Duration stall) {
    if (closed) {
      return;
    }
    long now = clock.millis();
    long silentMillis = now - lastHeardMillis;
    if (silentMillis >= idle.toMillis()) {
      log.info("{} {}: silent for {} ms; ending the session", id, caller.address(), silentMillis);
      end("silent", Status.UNAVAILABLE.withDescription(
          "nothing heard from the client for " + silentMillis + " ms (send heartbeats more often than every "
              + idle.toMillis() + " ms)"));
    } else if (stalledSinceMillis >= 0 && now - stalledSinceMillis >= stall.toMillis()) {
      log.info("{} {}: the client took nothing for {} ms; ending the session", id, caller.address(),
          now - stalledSinceMillis);
      metrics.refused(ServerMetrics.Refusal.LISTEN_NOT_READING);
      end("not reading", Status.RESOURCE_EXHAUSTED.withDescription(
          "the client did not read its Listen stream for " + (now - stalledSinceMillis) + " ms (the limit is "
              + stall.toMillis() + " ms)"));
    }
  }

  @Override
  public void onError(Throwable t) {
    ctx.execute(() -> end("stream failed: " + Status.fromThrowable(t), null));
  }

  @Override
  public void onCompleted() {
    ctx.execute(() -> end("closed by the client", Status.OK));
  }

  private void handle(ListenUp up) {
    if (closed) {
      return;
    }
    try {
      switch (up.getKindCase()) {
        case OFFER -> offer(up.getOffer().getServicesList());
        case WITHDRAW -> withdraw(up.getWithdraw().getServicesList());
        case HEARTBEAT -> {
          echoDue = up.getHeartbeat(); // coalesced: only the latest waits
          drain();
        }
        case INBOUND_ANSWER -> answer(up.getInboundAnswer().getQueryId(), up.getInboundAnswer());
        case BIND_UDP_ANSWER -> answer(up.getBindUdpAnswer().getQueryId(), up.getBindUdpAnswer());
        case KIND_NOT_SET -> log.debug("{} {}: ignoring a ListenUp of an unknown kind", id, caller.address());
      }
    } catch (StatusRuntimeException e) {
      log.info("{} {}: ending the session: {}", id, caller.address(), e.getStatus());
      end(e.getStatus().getDescription(), e.getStatus());
    }
  }

  private void offer(List<ServiceOffer> offers) {
    for (ServiceOffer o : offers) {
      ServiceNames.check(o.getService());
      if (o.getDescription().length() > 1024) {
        throw Status.INVALID_ARGUMENT
            .withDescription("the description of service '" + o.getService() + "' is longer than 1024 characters")
            .asRuntimeException();
      }
    }
    Set<String> after = new HashSet<>(services.keySet());
    offers.forEach(o -> after.add(o.getService()));
    if (after.size() > maxServices) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("a Listen stream may offer at most " + maxServices + " services")
          .asRuntimeException();
    }
    for (ServiceOffer o : offers) {
      services.put(o.getService(), o.getDescription());
      registry.add(caller.address(), o.getService(), this);
    }
    log.info("{} {}: offering {}", id, caller.address(), services.keySet());
    registered();
  }

  private void withdraw(List<String> names) {
    for (String s : names) {
      if (services.remove(s) != null) {
        registry.remove(caller.address(), s, this);
      }
    }
    log.info("{} {}: withdrew {}, offering {}", id, caller.address(), names, services.keySet());
    registered();
  }

  private void registered() {
    registeredDue = true; // coalesced: built from the services when it is written
    drain();
  }

  @SuppressWarnings("unchecked")
  private void answer(long queryId, Object answer) {
    Pending p = pending.get(queryId);
    if (p == null) {
      log.debug("{} {}: answer to unknown or timed-out query {}", id, caller.address(), queryId);
      return;
    }
    if (!p.answerType().isInstance(answer)) { // e.g. a BindUdpAnswer to an InboundQuery: ignore it
      log.debug("{} {}: ignoring a {} to query {} (expects a {})", id, caller.address(),
          answer.getClass().getSimpleName(), queryId, p.answerType().getSimpleName());
      return;
    }
    if (pending.remove(queryId, p)) {
      ((CompletableFuture<Object>) p.future()).complete(answer);
    }
  }

  /**
   * Pushes an InboundQuery (its query id is set here).
   *
   * @return the answer; fails with UNAVAILABLE if the session ends or has too many pending queries
   */
  public CompletableFuture<InboundAnswer> ask(InboundQuery.Builder query) {
    CompletableFuture<InboundAnswer> f = new CompletableFuture<>();
    long q = register(InboundAnswer.class, f);
    if (q != 0) {
      ctx.execute(() -> send(ListenDown.newBuilder().setInboundQuery(query.setQueryId(q)).build()));
    }
    return f;
  }

  /** Pushes a BindUdpQuery (its query id is set here); the answer as {@link #ask}. */
  public CompletableFuture<BindUdpAnswer> ask(BindUdpQuery.Builder query) {
    CompletableFuture<BindUdpAnswer> f = new CompletableFuture<>();
    long q = register(BindUdpAnswer.class, f);
    if (q != 0) {
      ctx.execute(() -> send(ListenDown.newBuilder().setBindUdpQuery(query.setQueryId(q)).build()));
    }
    return f;
  }

  /** Forgets a query whose answer is no longer awaited (timed out). */
  public void forget(CompletableFuture<?> query) {
    pending.values().removeIf(p -> p.future() == query);
  }

  private long register(Class<?> answerType, CompletableFuture<?> f) {
    if (closed) {
      f.completeExceptionally(gone());
      return 0;
    }
    if (pending.size() >= maxPending) {
      if (!warnedPending) { // once per session: callers can repeat this as often as they like (L6)
        warnedPending = true;
        log.warn("{} {}: {} queries unanswered; not asking more", id, caller.address(), pending.size());
      }
      f.completeExceptionally(Status.UNAVAILABLE
          .withDescription(caller.address() + " has too many unanswered queries").asRuntimeException());
      return 0;
    }
    long q = nextQuery.getAndIncrement();
    pending.put(q, new Pending(answerType, f));
    if (closed && pending.remove(q) != null) { // raced with end()
      f.completeExceptionally(gone());
      return 0;
    }
    return q;
  }

  /** Tells the listener a connector opened a relay stream for one of its ids; false if gone. */
  public boolean relayOpen(RelayOpen open) {
    if (closed) {
      return false;
    }
    ctx.execute(() -> send(ListenDown.newBuilder().setRelayOpen(open).build()));
    return true;
  }

  /** Ends the session from the server side (e.g. shutdown), with {@code status}. */
  public void close(Status status) {
    ctx.execute(() -> end(status.getDescription(), status));
  }

  /** Runs on ctx: pushes {@code down} now if the client takes it, else queues it within the budget. */
  private void send(ListenDown down) {
    if (closed) {
      return;
    }
    if (nothingWaiting() && out.isReady()) {
      write(down);
      return;
    }
    int n = down.getSerializedSize();
    if (!budget.tryTake(waitingBytes, n)) {
      log.info("{} {}: the client does not read; {} bytes wait for it, {} more would pass the budget", id,
          caller.address(), waitingBytes, n);
      metrics.refused(ServerMetrics.Refusal.LISTEN_NOT_READING);
      end("not reading", Status.RESOURCE_EXHAUSTED.withDescription("the client does not read its Listen stream ("
          + waitingBytes + " bytes wait for it; the limit is " + budget.perSession() + ")"));
      return;
    }
    waiting.add(down);
    waitingBytes += n;
    drain();
  }

  /** Runs on ctx: writes what waits while the client takes it, due Registered and echo first. */
  private void drain() {
    while (!closed && !nothingWaiting() && out.isReady()) {
      if (registeredDue) {
        registeredDue = false;
        write(ListenDown.newBuilder()
            .setRegistered(Registered.newBuilder()
                .addAllServices(services.keySet())
                .setAddress(caller.address().toString()))
            .build());
      } else if (echoDue != null) {
        Heartbeat h = echoDue;
        echoDue = null;
        write(ListenDown.newBuilder().setHeartbeat(h).build());
      } else {
        ListenDown d = waiting.poll();
        int n = d.getSerializedSize();
        waitingBytes -= n;
        budget.give(n);
        write(d);
      }
    }
    if (nothingWaiting() || closed) {
      if (stalledSinceMillis != -1) { // a volatile write only when it changes: this runs per message
        stalledSinceMillis = -1;
      }
    } else if (stalledSinceMillis < 0) {
      stalledSinceMillis = clock.millis();
    }
  }

  private boolean nothingWaiting() {
    return !registeredDue && echoDue == null && waiting.isEmpty();
  }

  private void write(ListenDown down) {
    try {
      out.onNext(down);
    } catch (RuntimeException e) { // cancelled underneath us
      log.debug("{} {}: write failed: {}", id, caller.address(), e.toString());
      end("write failed", null);
    }
  }

  /** Runs on ctx. {@code status} null: the stream is already over, just clean up. */
  private void end(String why, Status status) {
    if (closed) {
      return;
    }
    closed = true;
    budget.give(waitingBytes);
    waitingBytes = 0;
    waiting.clear();
    registeredDue = false;
    echoDue = null;
    onEnd.accept(this);
    List<String> names = new ArrayList<>(services.keySet());
    for (String s : names) {
      registry.remove(caller.address(), s, this);
    }
    services.clear();
    List<Pending> waiting = new ArrayList<>(pending.values());
    pending.clear();
    waiting.forEach(p -> p.future().completeExceptionally(gone()));
    log.info("{} {}: Listen session ended ({}); withdrew {}", id, caller.address(), why, names);
    if (status != null) {
      try {
        if (status.isOk()) {
          out.onCompleted();
        } else {
          out.onError(status.asRuntimeException());
        }
      } catch (RuntimeException e) {
        log.debug("{} {}: closing: {}", id, caller.address(), e.toString());
      }
    }
  }

  private StatusRuntimeException gone() {
    return Status.UNAVAILABLE
        .withDescription(caller.address() + " stopped listening")
        .asRuntimeException();
  }

  /** The services offered now, sorted (for tests and logs). */
  public List<String> services() {
    return List.copyOf(services.keySet());
  }

  @Override
  public String toString() {
    return id + " " + caller.address();
  }
}
